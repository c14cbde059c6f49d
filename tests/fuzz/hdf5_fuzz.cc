// libFuzzer target: the HDF5 layer under the demonstration reader (src/il/hdf5_file.cc over
// Debian's libhdf5, not instrumented): open, the datasets and attributes load_demos reads, each
// dataset's info (with the declared-size plausibility check) and, where info accepts it, a read
// into a buffer of the declared size. Any byte string must give data or a clearsight::Error; any
// other exception, a sanitizer report in our code or a crash inside libhdf5 is a finding.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "fuzz_input.h"
#include "il/hdf5_file.h"

namespace {

namespace h5 = clearsight::il::h5;

// The input as a named file: libhdf5 resolves the real path of what it opens, which the memfd
// behind fuzz::InputFile ("/memfd:... (deleted)") does not have. In /dev/shm where it exists.
class NamedInput {
 public:
  NamedInput() {
    const std::filesystem::path dir =
        std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : "/tmp";
    path_ = (dir / ("hdf5_fuzz." + std::to_string(getpid()) + ".h5")).string();
  }
  ~NamedInput() { std::remove(path_.c_str()); }
  const std::string& write(const std::uint8_t* data, std::size_t size) {
    std::FILE* out = std::fopen(path_.c_str(), "wb");
    if (out == nullptr || std::fwrite(data, 1, size, out) != size || std::fclose(out) != 0) {
      std::abort();
    }
    return path_;
  }

 private:
  std::string path_;
};

// Reads a dataset in the type a demonstration reader would ask for, when its declared size is
// small enough for one fuzz input to hold (the plausibility check bounds it by the file's bytes).
void read_dataset(const h5::File& file, const std::string& name) {
  if (!file.exists(name)) return;
  const auto info = file.info(name);
  std::size_t count = 1;
  for (const auto d : info.dims) {
    if (d < 0) std::abort();  // info() must never report a negative extent.
    count *= static_cast<std::size_t>(d);
    if (count > (std::size_t{1} << 20)) return;  // Keeps one unit fast under ASan.
  }
  switch (info.stored) {
    case h5::StoredClass::kFloat: {
      std::vector<float> out(count);
      file.read(name, h5::Dtype::kFloat32, out.data());
      break;
    }
    case h5::StoredClass::kInteger: {
      std::vector<std::int64_t> out(count);
      file.read(name, h5::Dtype::kInt64, out.data());
      break;
    }
    case h5::StoredClass::kBool: {
      std::vector<std::uint8_t> out(count);
      file.read(name, h5::Dtype::kBool, out.data());
      break;
    }
    default:
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static NamedInput input;
  const auto& path = input.write(data, size);
  clearsight::fuzz::expect_clearsight_errors([&] {
    const auto file = h5::File::open(path);
    for (const char* attribute : {"env", "expert", "noise", "clearsight_version"}) {
      clearsight::fuzz::expect_clearsight_errors([&] {
        if (file.has_attribute("/", attribute)) (void)file.string_attribute("/", attribute);
      });
    }
    for (const char* attribute : {"format_version", "expert_return", "deterministic"}) {
      clearsight::fuzz::expect_clearsight_errors([&] {
        if (file.has_attribute("/", attribute)) (void)file.double_attribute("/", attribute);
      });
    }
    clearsight::fuzz::expect_clearsight_errors([&] {
      if (file.has_attribute("/", "seed")) (void)file.uint64_attribute("/", "seed");
      if (file.exists("views") && file.has_attribute("views", "count")) {
        (void)file.uint64_attribute("views", "count");
      }
    });
    for (const char* name :
         {"observations", "actions", "rewards", "next_observations", "terminals", "timeouts",
          "images", "camera_poses", "episodes/lengths", "episodes/returns", "episodes/expert",
          "views/1/images", "views/1/camera_poses"}) {
      clearsight::fuzz::expect_clearsight_errors([&] { read_dataset(file, name); });
    }
  });
  return 0;
}
