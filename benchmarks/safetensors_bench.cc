// safetensors loading throughput, reported against two baselines measured in the same run:
// a plain read() of the same file into memory (the physical limit: page cache -> user memory),
// and the same load done in Python with Debian's python3-torch (header parse + numpy buffer ->
// torch tensors, which is what the safetensors Python package does, plus torch.load of a .pt).
//
// Usage: bench_safetensors [--file-mib N] [--python PATH] [google benchmark flags]
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "bench_util.h"
#include "clearsight/core/log.h"
#include "clearsight/core/runtime.h"
#include "clearsight/core/safetensors.h"

namespace {

namespace fs = std::filesystem;
namespace st = clearsight::safetensors;

fs::path g_file;
std::size_t g_file_bytes = 0;

void make_file(int mib) {
  g_file = fs::temp_directory_path() / ("cs_bench_" + std::to_string(getpid()) + ".safetensors");
  // A model-like mix: many 1-4 MiB float32 matrices and some small vectors.
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  std::int64_t remaining = static_cast<std::int64_t>(mib) << 20;
  for (int i = 0; remaining > 0; ++i) {
    const std::int64_t rows = (i % 4 == 3) ? 1 : 512 + 256 * (i % 3);
    const std::int64_t cols = std::min<std::int64_t>(1024, remaining / 4 / rows + 1);
    tensors.emplace_back("layers." + std::to_string(i) + ".weight", torch::randn({rows, cols}));
    remaining -= rows * cols * 4;
  }
  st::save(g_file, tensors, {{"purpose", "benchmark"}});
  g_file_bytes = fs::file_size(g_file);
}

void BM_PlainRead(benchmark::State& state) {
  std::vector<char> buffer(g_file_bytes);
  for (auto _ : state) {
    const int fd = ::open(g_file.c_str(), O_RDONLY);
    std::size_t done = 0;
    while (done < g_file_bytes) {
      const ssize_t n = ::read(fd, buffer.data() + done, g_file_bytes - done);
      if (n <= 0) break;
      done += static_cast<std::size_t>(n);
    }
    ::close(fd);
    benchmark::DoNotOptimize(buffer.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * g_file_bytes));
}

void BM_LoadCopy(benchmark::State& state) {
  for (auto _ : state) {
    auto tensors = st::File::open(g_file).all(/*copy=*/true);
    benchmark::DoNotOptimize(tensors.size());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * g_file_bytes));
}

void BM_LoadViewAndSum(benchmark::State& state) {
  // Zero-copy views; the sum reads every byte so the work is comparable to a load.
  for (auto _ : state) {
    auto file = st::File::open(g_file);
    double total = 0;
    for (const auto& name : file.names())
      total += file.get(name, /*copy=*/false).sum().item<double>();
    benchmark::DoNotOptimize(total);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * g_file_bytes));
}

void BM_OpenHeaderOnly(benchmark::State& state) {
  for (auto _ : state) {
    auto file = st::File::open(g_file);
    benchmark::DoNotOptimize(file.header().tensors.size());
  }
}

BENCHMARK(BM_PlainRead)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_LoadCopy)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_LoadViewAndSum)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_OpenHeaderOnly)->Unit(benchmark::kMicrosecond)->UseRealTime();

double gbps(double seconds) { return seconds > 0 ? g_file_bytes / seconds / 1e9 : 0.0; }

}  // namespace

int main(int argc, char** argv) {
  auto args = clearsight::bench::split_args(argc, argv, {"--file-mib", "--python"});
  const int mib = std::stoi(args.get("--file-mib", "256"));
  // Debian's interpreter: it is the one with python3-torch (a pyenv python3 may shadow it).
  const std::string python = args.get("--python", "/usr/bin/python3");
  auto& rest = args.rest;
  int rest_argc = static_cast<int>(rest.size());
  clearsight::log::set_verbosity(-1);
  clearsight::init_runtime();
  make_file(mib);
  benchmark::Initialize(&rest_argc, rest.data());
  clearsight::bench::CapturingReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);

  const double plain = reporter.seconds("BM_PlainRead/real_time");
  const double copy = reporter.seconds("BM_LoadCopy/real_time");
  const double view = reporter.seconds("BM_LoadViewAndSum/real_time");
  std::printf("\nfile: %.1f MiB, %s\n", g_file_bytes / 1048576.0,
              clearsight::blas_info().vendor.c_str());
  std::printf("%-34s %8.2f GB/s  (baseline)\n", "plain read() into memory", gbps(plain));
  std::printf("%-34s %8.2f GB/s  speed %.2f x plain read\n", "clearsight load (mmap + copy)",
              gbps(copy), plain / copy);
  std::printf("%-34s %8.2f GB/s  speed %.2f x plain read\n", "clearsight zero-copy view + sum",
              gbps(view), plain / view);

  // Python baseline, same file, same machine, same run.
  const fs::path script = fs::path(CS_SOURCE_DIR) / "benchmarks/py/safetensors_load.py";
  const auto py =
      clearsight::bench::run_python(python, script.string(), g_file.string(),
                                    {"safetensors_python_seconds", "torch_load_pt_seconds"});
  if (py.count("safetensors_python_seconds")) {
    const double s = py.at("safetensors_python_seconds");
    std::printf("%-34s %8.2f GB/s  clearsight load is %.2f x faster\n",
                "python: header + numpy -> torch", gbps(s), s / copy);
  }
  if (py.count("torch_load_pt_seconds")) {
    const double s = py.at("torch_load_pt_seconds");
    std::printf("%-34s %8.2f GB/s  clearsight load is %.2f x faster\n",
                "python: torch.load of a .pt", gbps(s), s / copy);
  }
  std::error_code ignored;
  fs::remove(g_file, ignored);
  return 0;
}
