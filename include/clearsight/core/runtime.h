// Process-wide runtime set-up in one place: threads, allocator tuning, device choice, BLAS facts.
#pragma once

#include <cstdint>
#include <string>

namespace c10 {
struct Device;
}

namespace clearsight {

/// Options for init_runtime; the CLI fills them from --threads/--device and the environment.
struct RuntimeOptions {
  /// Intra-op torch and BLAS threads; 0 picks 1 on machines with <= 2 cores, else cores / 2.
  int threads = 0;
  /// "cpu", "cuda" or "cuda:N".
  std::string device = "cpu";
  /// Raise glibc's mmap/trim thresholds so tensors are not returned to the OS on every free.
  bool tune_malloc = true;
  /// Seed for seed_everything.
  std::uint64_t seed = 0;

  /// Visits the fields for config binding.
  template <typename V>
  void visit(V& v) {
    v("threads", threads, "torch/BLAS threads (0 = 1 on <= 2 cores, else cores/2)");
    v("device", device, "cpu, cuda or cuda:N");
    v("tune_malloc", tune_malloc, "raise glibc malloc thresholds at start-up");
    v("seed", seed, "seed for torch, std engines and everything downstream");
  }
};

/// What init_runtime did, for `clearsight info` and logs.
struct RuntimeState {
  int threads = 0;
  std::string device = "cpu";
  bool malloc_tuned = false;
  std::uint64_t seed = 0;
};

/// Applies options (threads, malloc thresholds, device validation, seeding); safe to call again.
/// Environment overrides: CLEARSIGHT_THREADS, CLEARSIGHT_DEVICE.
RuntimeState init_runtime(RuntimeOptions options = {});

/// The state set by the last init_runtime call.
const RuntimeState& runtime_state();

/// Parses "cpu", "cuda", "cuda:N"; throws ConfigError on bad text and RuntimeError when the
/// device is not present on this machine.
c10::Device parse_device(const std::string& text);

/// The device chosen by init_runtime (CPU by default); every module places tensors there.
c10::Device default_device();

/// The thread count init_runtime would pick for threads == 0 on this machine.
int default_thread_count();

/// Facts about the BLAS library the process has loaded.
struct BlasInfo {
  /// "OpenBLAS", "reference BLAS", or "unknown".
  std::string vendor;
  /// OpenBLAS' own config string (version, core) when available.
  std::string detail;
  /// File the sgemm symbol resolves to.
  std::string library_path;
  /// True when the BLAS is an optimised one (OpenBLAS, MKL, BLIS).
  bool optimised = false;
};

/// Inspects the loaded BLAS (via the dynamic linker); works whether or not it is OpenBLAS.
BlasInfo blas_info();

/// Sets OpenBLAS' thread count if OpenBLAS is loaded; returns false otherwise.
bool set_blas_threads(int threads);

/// Measures GFLOP/s of an n x n float32 matmul through torch on the CPU (best of repeats).
double measure_matmul_gflops(int n = 512, int repeats = 20);

/// Whether an offscreen OpenGL context can be made: "egl", "osmesa", or "" when neither.
std::string offscreen_gl_backend();

/// MuJoCo library version string ("2.2.2").
std::string mujoco_version();

/// Number of CUDA devices torch sees (0 on CPU-only builds or machines).
int cuda_device_count();

}  // namespace clearsight
