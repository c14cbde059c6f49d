#include "il/hdf5_file.h"

#include <hdf5.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <type_traits>

#include "clearsight/core/error.h"
#include "clearsight/core/utf8.h"

namespace clearsight::il::h5 {
namespace {

static_assert(std::is_same_v<hid_t, std::int64_t>, "HDF5 >= 1.10 uses 64-bit identifiers");

/// Owns an HDF5 identifier and closes it with the matching function.
class Handle {
 public:
  Handle(hid_t id, herr_t (*closer)(hid_t)) : id_(id), closer_(closer) {}
  ~Handle() {
    if (id_ >= 0) closer_(id_);
  }
  Handle(Handle&& other) noexcept : id_(other.id_), closer_(other.closer_) { other.id_ = -1; }
  Handle& operator=(Handle&& other) noexcept {
    if (this != &other) {
      if (id_ >= 0) closer_(id_);
      id_ = other.id_;
      closer_ = other.closer_;
      other.id_ = -1;
    }
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  hid_t get() const { return id_; }
  bool ok() const { return id_ >= 0; }

 private:
  hid_t id_;
  herr_t (*closer_)(hid_t);
};

herr_t collect_innermost(unsigned n, const H5E_error2_t* entry, void* client) {
  auto* out = static_cast<std::string*>(client);
  if (n == 0 && entry->desc != nullptr) *out = entry->desc;
  return 0;
}

/// The innermost message of HDF5's current error stack (then cleared), e.g. "truncated file".
std::string hdf5_detail() {
  std::string detail;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, collect_innermost, &detail);
  H5Eclear2(H5E_DEFAULT);
  return detail.empty() ? std::string("HDF5 reported an error") : detail;
}

hid_t memory_type(Dtype dtype) {
  switch (dtype) {
    case Dtype::kFloat32:
      return H5T_NATIVE_FLOAT;
    case Dtype::kFloat64:
      return H5T_NATIVE_DOUBLE;
    case Dtype::kUint8:
      return H5T_NATIVE_UINT8;
    case Dtype::kInt64:
      return H5T_NATIVE_INT64;
    case Dtype::kUint64:
      return H5T_NATIVE_UINT64;
    case Dtype::kBool:
      break;
  }
  return -1;
}

hid_t file_type(Dtype dtype) {
  switch (dtype) {
    case Dtype::kFloat32:
      return H5T_IEEE_F32LE;
    case Dtype::kFloat64:
      return H5T_IEEE_F64LE;
    case Dtype::kUint8:
      return H5T_STD_U8LE;
    case Dtype::kInt64:
      return H5T_STD_I64LE;
    case Dtype::kUint64:
      return H5T_STD_U64LE;
    case Dtype::kBool:
      break;
  }
  return -1;
}

/// h5py's boolean type: an int8 enum with members FALSE = 0 and TRUE = 1.
Handle make_bool_type() {
  Handle type(H5Tenum_create(H5T_NATIVE_INT8), H5Tclose);
  CS_CHECK_AS(RuntimeError, type.ok(), "HDF5 cannot create a boolean type: ", hdf5_detail());
  const std::int8_t no = 0, yes = 1;
  CS_CHECK_AS(RuntimeError,
              H5Tenum_insert(type.get(), "FALSE", &no) >= 0 &&
                  H5Tenum_insert(type.get(), "TRUE", &yes) >= 0,
              "HDF5 cannot create a boolean type: ", hdf5_detail());
  return type;
}

std::vector<hsize_t> to_hsize(const std::vector<std::int64_t>& dims) {
  std::vector<hsize_t> out;
  out.reserve(dims.size());
  for (auto d : dims) out.push_back(static_cast<hsize_t>(d));
  return out;
}

std::string object_label(const std::string& object, const std::string& name) {
  return object == "/" ? "attribute '" + name + "'"
                       : "attribute '" + name + "' of '" + object + "'";
}

}  // namespace

const char* stored_class_name(StoredClass stored) {
  switch (stored) {
    case StoredClass::kFloat:
      return "float";
    case StoredClass::kInteger:
      return "integer";
    case StoredClass::kBool:
      return "bool";
    case StoredClass::kString:
      return "string";
    case StoredClass::kOther:
      break;
  }
  return "other";
}

void silence_errors() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

File File::create(const std::filesystem::path& path) {
  silence_errors();
  Handle fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
  CS_CHECK_AS(RuntimeError, fapl.ok(), "HDF5 cannot create a property list: ", hdf5_detail());
  H5Pset_fclose_degree(fapl.get(), H5F_CLOSE_STRONG);
  const hid_t id = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get());
  CS_CHECK_AS(IoError, id >= 0, "cannot create HDF5 file '", path.string(), "': ", hdf5_detail());
  return File(id, path);
}

File File::open(const std::filesystem::path& path) {
  silence_errors();
  std::error_code ec;
  CS_CHECK_AS(IoError, std::filesystem::is_regular_file(path, ec), "cannot read '", path.string(),
              "': ", std::filesystem::exists(path, ec) ? "not a regular file" : "no such file");
  const htri_t is_hdf5 = H5Fis_hdf5(path.c_str());
  if (is_hdf5 <= 0) {
    const std::string detail = is_hdf5 < 0 ? ": " + hdf5_detail() : "";
    CS_THROW(FormatError, "'", path.string(), "' is not an HDF5 file (no valid superblock", detail,
             ")");
  }
  Handle fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
  CS_CHECK_AS(RuntimeError, fapl.ok(), "HDF5 cannot create a property list: ", hdf5_detail());
  H5Pset_fclose_degree(fapl.get(), H5F_CLOSE_STRONG);
  const hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.get());
  CS_CHECK_AS(FormatError, id >= 0, "'", path.string(),
              "' is a corrupt or truncated HDF5 file: ", hdf5_detail());
  return File(id, path);
}

File::~File() {
  if (id_ >= 0) {
    H5Fclose(id_);
    H5Eclear2(H5E_DEFAULT);
  }
}

File::File(File&& other) noexcept : id_(other.id_), path_(std::move(other.path_)) {
  other.id_ = -1;
}

void File::close() {
  if (id_ < 0) return;
  const hid_t id = id_;
  id_ = -1;
  const bool flushed = H5Fflush(id, H5F_SCOPE_GLOBAL) >= 0;
  const bool closed = H5Fclose(id) >= 0;
  CS_CHECK_AS(IoError, flushed && closed, "cannot finish writing '", path_.string(),
              "': ", hdf5_detail());
}

void File::create_group(const std::string& name) {
  Handle group(H5Gcreate2(id_, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose);
  CS_CHECK_AS(IoError, group.ok(), "cannot create group '", name, "' in '", path_.string(),
              "': ", hdf5_detail());
}

void File::write(const std::string& name, Dtype dtype, const std::vector<std::int64_t>& dims,
                 const void* data, const WriteOptions& options) {
  const auto shape = to_hsize(dims);
  Handle space(H5Screate_simple(static_cast<int>(shape.size()), shape.data(), nullptr), H5Sclose);
  CS_CHECK_AS(IoError, space.ok(), "cannot describe the shape of '", name, "': ", hdf5_detail());
  Handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  CS_CHECK_AS(IoError, dcpl.ok(), "HDF5 cannot create a property list: ", hdf5_detail());
  if (!options.chunk.empty()) {
    CS_CHECK_AS(ShapeError, options.chunk.size() == dims.size(), "chunk of '", name, "' has rank ",
                options.chunk.size(), ", the dataset ", dims.size());
    const auto chunk = to_hsize(options.chunk);
    CS_CHECK_AS(IoError,
                H5Pset_chunk(dcpl.get(), static_cast<int>(chunk.size()), chunk.data()) >= 0,
                "cannot chunk '", name, "': ", hdf5_detail());
    if (options.gzip >= 0) {
      CS_CHECK_AS(RuntimeError, H5Zfilter_avail(H5Z_FILTER_DEFLATE) > 0,
                  "this HDF5 library has no gzip filter");
      CS_CHECK_AS(IoError, H5Pset_deflate(dcpl.get(), static_cast<unsigned>(options.gzip)) >= 0,
                  "cannot compress '", name, "': ", hdf5_detail());
    }
  }
  Handle bool_type(-1, H5Tclose);
  hid_t stored = file_type(dtype), in_memory = memory_type(dtype);
  if (dtype == Dtype::kBool) {
    bool_type = make_bool_type();
    stored = in_memory = bool_type.get();
  }
  Handle dataset(
      H5Dcreate2(id_, name.c_str(), stored, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
      H5Dclose);
  CS_CHECK_AS(IoError, dataset.ok(), "cannot create dataset '", name, "' in '", path_.string(),
              "': ", hdf5_detail());
  CS_CHECK_AS(IoError, H5Dwrite(dataset.get(), in_memory, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0,
              "cannot write dataset '", name, "' to '", path_.string(), "': ", hdf5_detail());
}

bool File::exists(const std::string& name) const {
  // H5Lexists needs every intermediate group to exist, so test the path piece by piece.
  std::size_t end = 0;
  while (true) {
    end = name.find('/', end + 1);
    const std::string prefix = name.substr(0, end);
    const htri_t found = H5Lexists(id_, prefix.c_str(), H5P_DEFAULT);
    if (found <= 0) {
      H5Eclear2(H5E_DEFAULT);
      return false;
    }
    if (end == std::string::npos) return true;
  }
}

DatasetInfo File::info(const std::string& name) const {
  Handle dataset(H5Dopen2(id_, name.c_str(), H5P_DEFAULT), H5Dclose);
  CS_CHECK_AS(FormatError, dataset.ok(), "'", path_.string(), "': '", name,
              "' is not a readable dataset: ", hdf5_detail());
  Handle space(H5Dget_space(dataset.get()), H5Sclose);
  Handle type(H5Dget_type(dataset.get()), H5Tclose);
  CS_CHECK_AS(FormatError, space.ok() && type.ok(), "'", path_.string(), "': dataset '", name,
              "' has an unreadable header: ", hdf5_detail());
  const int rank = H5Sget_simple_extent_ndims(space.get());
  CS_CHECK_AS(FormatError, rank >= 0 && rank <= 8, "'", path_.string(), "': dataset '", name,
              "' has an unreadable shape: ", hdf5_detail());
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
  CS_CHECK_AS(FormatError, H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr) >= 0, "'",
              path_.string(), "': dataset '", name, "' has an unreadable shape: ", hdf5_detail());
  DatasetInfo out;
  for (auto d : dims) out.dims.push_back(static_cast<std::int64_t>(d));
  out.element_size = H5Tget_size(type.get());
  switch (H5Tget_class(type.get())) {
    case H5T_FLOAT:
      out.stored = StoredClass::kFloat;
      break;
    case H5T_INTEGER:
      out.stored = StoredClass::kInteger;
      break;
    case H5T_ENUM:
      out.stored = StoredClass::kBool;
      break;
    case H5T_STRING:
      out.stored = StoredClass::kString;
      break;
    default:
      out.stored = StoredClass::kOther;
  }
  // Plausibility before any caller allocates: the declared shape must fit the bytes the file
  // stores for the dataset. A bit flip in a dimension (10^10 rows) would otherwise ask for
  // terabytes. Deflate compresses at most about 1032:1; small datasets pass regardless.
  double declared = static_cast<double>(out.element_size);
  for (const auto d : out.dims) declared *= static_cast<double>(d);
  // The storage size comes from the file's own metadata, which a corrupt file may inflate too:
  // it counts only up to the file's size.
  std::error_code ec;
  const auto file_bytes = std::filesystem::file_size(path_, ec);
  double stored = static_cast<double>(H5Dget_storage_size(dataset.get()));
  if (!ec) stored = std::min(stored, static_cast<double>(file_bytes));
  CS_CHECK_AS(FormatError, declared <= 1032.0 * stored + 65536.0, "'", path_.string(),
              "': dataset '", name, "' declares ", declared, " bytes of data but the file stores ",
              stored, " (a corrupt shape?)");
  out.storage_size = static_cast<std::size_t>(stored);
  return out;
}

void File::read(const std::string& name, Dtype dtype, void* out) const {
  const DatasetInfo shape = info(name);
  Handle dataset(H5Dopen2(id_, name.c_str(), H5P_DEFAULT), H5Dclose);
  CS_CHECK_AS(FormatError, dataset.ok(), "'", path_.string(), "': '", name,
              "' is not a readable dataset: ", hdf5_detail());
  std::size_t count = 1;
  for (auto d : shape.dims) count *= static_cast<std::size_t>(d);
  auto read_as = [&](hid_t type, void* buffer) {
    CS_CHECK_AS(FormatError,
                H5Dread(dataset.get(), type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buffer) >= 0, "'",
                path_.string(), "': cannot read dataset '", name,
                "' (corrupt or truncated data): ", hdf5_detail());
  };
  if (dtype != Dtype::kBool) {
    CS_CHECK_AS(FormatError,
                shape.stored == StoredClass::kFloat || shape.stored == StoredClass::kInteger, "'",
                path_.string(), "': dataset '", name, "' holds ", stored_class_name(shape.stored),
                " values, expected numbers");
    read_as(memory_type(dtype), out);
    return;
  }
  auto* flags = static_cast<std::uint8_t*>(out);
  if (shape.stored == StoredClass::kBool) {
    Handle file_type_id(H5Dget_type(dataset.get()), H5Tclose);
    Handle native(H5Tget_native_type(file_type_id.get(), H5T_DIR_ASCEND), H5Tclose);
    CS_CHECK_AS(FormatError, native.ok() && H5Tget_size(native.get()) == 1, "'", path_.string(),
                "': dataset '", name, "' is an enum wider than one byte, expected booleans");
    read_as(native.get(), flags);
    for (std::size_t i = 0; i < count; ++i) flags[i] = flags[i] != 0;
  } else if (shape.stored == StoredClass::kInteger) {
    std::vector<std::int64_t> values(count);
    read_as(H5T_NATIVE_INT64, values.data());
    for (std::size_t i = 0; i < count; ++i) flags[i] = values[i] != 0;
  } else if (shape.stored == StoredClass::kFloat) {
    std::vector<double> values(count);
    read_as(H5T_NATIVE_DOUBLE, values.data());
    for (std::size_t i = 0; i < count; ++i) flags[i] = values[i] != 0.0;
  } else {
    CS_THROW(FormatError, "'", path_.string(), "': dataset '", name, "' holds ",
             stored_class_name(shape.stored), " values, expected booleans");
  }
}

void File::set_attribute(const std::string& object, const std::string& name,
                         std::string_view value) {
  Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
  CS_CHECK_AS(IoError,
              type.ok() && H5Tset_size(type.get(), H5T_VARIABLE) >= 0 &&
                  H5Tset_cset(type.get(), H5T_CSET_UTF8) >= 0,
              "HDF5 cannot create a string type: ", hdf5_detail());
  Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  if (H5Aexists_by_name(id_, object.c_str(), name.c_str(), H5P_DEFAULT) > 0) {
    H5Adelete_by_name(id_, object.c_str(), name.c_str(), H5P_DEFAULT);
  }
  Handle attribute(H5Acreate_by_name(id_, object.c_str(), name.c_str(), type.get(), space.get(),
                                     H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                   H5Aclose);
  CS_CHECK_AS(IoError, attribute.ok(), "cannot create ", object_label(object, name), " in '",
              path_.string(), "': ", hdf5_detail());
  const std::string copy(value);
  const char* text = copy.c_str();
  CS_CHECK_AS(IoError, H5Awrite(attribute.get(), type.get(), &text) >= 0, "cannot write ",
              object_label(object, name), " to '", path_.string(), "': ", hdf5_detail());
}

namespace {

void write_numeric_attribute(hid_t file, const std::filesystem::path& path,
                             const std::string& object, const std::string& name, hid_t stored,
                             hid_t in_memory, const void* value) {
  Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  if (H5Aexists_by_name(file, object.c_str(), name.c_str(), H5P_DEFAULT) > 0) {
    H5Adelete_by_name(file, object.c_str(), name.c_str(), H5P_DEFAULT);
  }
  Handle attribute(H5Acreate_by_name(file, object.c_str(), name.c_str(), stored, space.get(),
                                     H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                   H5Aclose);
  CS_CHECK_AS(IoError, attribute.ok(), "cannot create ", object_label(object, name), " in '",
              path.string(), "': ", hdf5_detail());
  CS_CHECK_AS(IoError, H5Awrite(attribute.get(), in_memory, value) >= 0, "cannot write ",
              object_label(object, name), " to '", path.string(), "': ", hdf5_detail());
}

}  // namespace

void File::set_attribute(const std::string& object, const std::string& name, double value) {
  write_numeric_attribute(id_, path_, object, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &value);
}

void File::set_attribute(const std::string& object, const std::string& name, std::int64_t value) {
  write_numeric_attribute(id_, path_, object, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &value);
}

void File::set_attribute(const std::string& object, const std::string& name, std::uint64_t value) {
  write_numeric_attribute(id_, path_, object, name, H5T_STD_U64LE, H5T_NATIVE_UINT64, &value);
}

bool File::has_attribute(const std::string& object, const std::string& name) const {
  const htri_t found = H5Aexists_by_name(id_, object.c_str(), name.c_str(), H5P_DEFAULT);
  if (found < 0) H5Eclear2(H5E_DEFAULT);
  return found > 0;
}

void File::check_utf8(const std::string& text, const std::string& object,
                      const std::string& name) const {
  // Attributes end up in JSON summaries and run configs, which are UTF-8.
  const auto bad = invalid_utf8_at(text);
  CS_CHECK_AS(FormatError, bad == std::string_view::npos, "'", path_.string(),
              "': ", object_label(object, name), " is not valid UTF-8 text (byte ", bad, ")");
}

std::string File::string_attribute(const std::string& object, const std::string& name) const {
  CS_CHECK_AS(FormatError, has_attribute(object, name), "'", path_.string(), "' has no ",
              object_label(object, name));
  Handle attribute(H5Aopen_by_name(id_, object.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT),
                   H5Aclose);
  CS_CHECK_AS(FormatError, attribute.ok(), "'", path_.string(), "': unreadable ",
              object_label(object, name), ": ", hdf5_detail());
  Handle type(H5Aget_type(attribute.get()), H5Tclose);
  Handle space(H5Aget_space(attribute.get()), H5Sclose);
  CS_CHECK_AS(FormatError,
              type.ok() && space.ok() && H5Tget_class(type.get()) == H5T_STRING &&
                  H5Sget_simple_extent_npoints(space.get()) == 1,
              "'", path_.string(), "': ", object_label(object, name), " is not a single string");
  if (H5Tis_variable_str(type.get()) > 0) {
    Handle memory(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(memory.get(), H5T_VARIABLE);
    H5Tset_cset(memory.get(), H5Tget_cset(type.get()));
    // libhdf5 1.10.8 (Debian 12) overflows its buffers in H5HG_read when a corrupt file's global
    // heap (where variable-length strings live) lies about its sizes: found by the hdf5 fuzzer,
    // a segmentation fault of the whole program (tests/fuzz/known/). The read runs in a forked
    // child that sends the text back through a pipe, so a corrupt heap ends the child only.
    int fds[2];
    CS_CHECK_AS(IoError, ::pipe(fds) == 0, "cannot read ", object_label(object, name),
                ": pipe: ", std::strerror(errno));
    const pid_t child = ::fork();
    if (child < 0) {
      ::close(fds[0]);
      ::close(fds[1]);
      CS_THROW(IoError, "cannot read ", object_label(object, name),
               ": fork: ", std::strerror(errno));
    }
    if (child == 0) {
      ::close(fds[0]);
      char* text = nullptr;
      const bool read = H5Aread(attribute.get(), memory.get(), &text) >= 0;
      std::string reply = read ? std::string("1") + (text != nullptr ? text : "")
                               : std::string("0") + hdf5_detail();
      const char* at = reply.data();
      std::size_t left = reply.size();
      while (left > 0) {
        const ssize_t n = ::write(fds[1], at, left);
        if (n <= 0) ::_exit(3);
        at += n;
        left -= static_cast<std::size_t>(n);
      }
      ::_exit(0);  // No atexit handlers: the parent's HDF5 state stays the parent's.
    }
    ::close(fds[1]);
    std::string reply;
    char chunk[4096];
    while (true) {
      const ssize_t n = ::read(fds[0], chunk, sizeof(chunk));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      reply.append(chunk, static_cast<std::size_t>(n));
    }
    ::close(fds[0]);
    int status = 0;
    while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    CS_CHECK_AS(FormatError, WIFEXITED(status) && WEXITSTATUS(status) == 0 && !reply.empty(), "'",
                path_.string(), "' is a corrupt HDF5 file: reading ", object_label(object, name),
                " crashed the HDF5 library (",
                WIFSIGNALED(status) ? strsignal(WTERMSIG(status)) : "no reply",
                "; a corrupt global heap?)");
    CS_CHECK_AS(FormatError, reply[0] == '1', "'", path_.string(), "': unreadable ",
                object_label(object, name), ": ", reply.substr(1));
    std::string out = reply.substr(1);
    check_utf8(out, object, name);
    return out;
  }
  const std::size_t size = H5Tget_size(type.get());
  std::string buffer(size, '\0');
  CS_CHECK_AS(FormatError, H5Aread(attribute.get(), type.get(), buffer.data()) >= 0, "'",
              path_.string(), "': unreadable ", object_label(object, name), ": ", hdf5_detail());
  const auto nul = buffer.find('\0');
  if (nul != std::string::npos) buffer.resize(nul);
  check_utf8(buffer, object, name);
  return buffer;
}

namespace {

template <typename T>
T read_numeric_attribute(hid_t file, const std::filesystem::path& path, const std::string& object,
                         const std::string& name, hid_t in_memory, bool integer_only) {
  Handle attribute(H5Aopen_by_name(file, object.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT),
                   H5Aclose);
  CS_CHECK_AS(FormatError, attribute.ok(), "'", path.string(), "' has no readable ",
              object_label(object, name));
  Handle type(H5Aget_type(attribute.get()), H5Tclose);
  Handle space(H5Aget_space(attribute.get()), H5Sclose);
  const H5T_class_t cls = type.ok() ? H5Tget_class(type.get()) : H5T_NO_CLASS;
  const bool numeric = cls == H5T_INTEGER || (!integer_only && cls == H5T_FLOAT);
  CS_CHECK_AS(FormatError, numeric && space.ok() && H5Sget_simple_extent_npoints(space.get()) == 1,
              "'", path.string(), "': ", object_label(object, name), " is not a single ",
              integer_only ? "integer" : "number");
  T value{};
  CS_CHECK_AS(FormatError, H5Aread(attribute.get(), in_memory, &value) >= 0, "'", path.string(),
              "': unreadable ", object_label(object, name), ": ", hdf5_detail());
  return value;
}

}  // namespace

double File::double_attribute(const std::string& object, const std::string& name) const {
  return read_numeric_attribute<double>(id_, path_, object, name, H5T_NATIVE_DOUBLE, false);
}

std::uint64_t File::uint64_attribute(const std::string& object, const std::string& name) const {
  return read_numeric_attribute<std::uint64_t>(id_, path_, object, name, H5T_NATIVE_UINT64, true);
}

}  // namespace clearsight::il::h5
