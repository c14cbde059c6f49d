// `clearsight info`: versions, BLAS, threads, offscreen rendering, CUDA.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <thread>

#include "clearsight/core/runtime.h"
#include "clearsight/core/torch_compat.h"
#include "clearsight/version.h"
#include "commands.h"

namespace clearsight::cli {

void add_info_command(Context& context) {
  auto* cmd = context.app.add_subcommand("info", "Show versions, BLAS, threads, rendering, CUDA");
  auto json_flag = std::make_shared<bool>(false);
  cmd->add_flag("--json", *json_flag, "Print one JSON document");
  cmd->callback([&context, json_flag] {
    context.action = [&context, json_flag] {
      start_runtime(context.global);
      const BlasInfo blas = blas_info();
      const double gflops = measure_matmul_gflops(512, 20);
      const std::string gl = offscreen_gl_backend();
      const RuntimeState& rt = runtime_state();
      nlohmann::json out = {
          {"clearsight", kVersion},
          {"libtorch", compat::torch_version()},
          {"mujoco", mujoco_version()},
          {"blas",
           {{"vendor", blas.vendor},
            {"detail", blas.detail},
            {"library", blas.library_path},
            {"optimised", blas.optimised},
            {"matmul_512_gflops", gflops}}},
          {"threads", rt.threads},
          {"cores", std::thread::hardware_concurrency()},
          {"device", rt.device},
          {"malloc_tuned", rt.malloc_tuned},
          {"offscreen_gl", gl.empty() ? nlohmann::json(nullptr) : nlohmann::json(gl)},
          {"cuda_devices", cuda_device_count()},
      };
      if (*json_flag) {
        std::printf("%s\n", out.dump(2).c_str());
        return 0;
      }
      std::printf("ClearSight   %s\n", kVersion);
      std::printf("LibTorch     %s\n", compat::torch_version().c_str());
      std::printf("MuJoCo       %s\n", mujoco_version().c_str());
      std::printf("BLAS         %s%s%s\n", blas.vendor.c_str(), blas.detail.empty() ? "" : " - ",
                  blas.detail.c_str());
      std::printf("  library    %s\n", blas.library_path.c_str());
      std::printf("  512 matmul %.1f GFLOP/s (float32, %d thread%s)\n", gflops, rt.threads,
                  rt.threads == 1 ? "" : "s");
      if (!blas.optimised) {
        std::printf(
            "  WARNING    reference BLAS is ~5-10x slower; run scripts/setup to select "
            "OpenBLAS\n");
      }
      std::printf("Threads      %d of %u cores\n", rt.threads, std::thread::hardware_concurrency());
      std::printf("Device       %s\n", rt.device.c_str());
      std::printf("malloc       %s\n", rt.malloc_tuned ? "thresholds raised" : "glibc defaults");
      std::printf("Offscreen GL %s\n", gl.empty() ? "unavailable (no EGL or OSMesa)" : gl.c_str());
      std::printf("CUDA         %d device(s)\n", cuda_device_count());
      return 0;
    };
  });
}

}  // namespace clearsight::cli
