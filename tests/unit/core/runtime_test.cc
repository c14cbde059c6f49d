#include "clearsight/core/runtime.h"

#include <gtest/gtest.h>

#include <torch/torch.h>
#include <chrono>
#include <cstdio>
#include <vector>

#include "clearsight/core/error.h"
#include "clearsight/core/torch_compat.h"

namespace clearsight {
namespace {

TEST(CoreRuntime, InitAppliesThreadsAndSeed) {
  RuntimeOptions options;
  options.threads = 1;
  options.seed = 11;
  const auto state = init_runtime(options);
  EXPECT_EQ(state.threads, 1);
  EXPECT_EQ(torch::get_num_threads(), 1);
  EXPECT_EQ(state.seed, 11u);
  EXPECT_TRUE(state.malloc_tuned);
  EXPECT_EQ(default_device().type(), c10::DeviceType::CPU);
  EXPECT_GE(default_thread_count(), 1);
  init_runtime();  // Back to defaults for the other tests.
}

TEST(CoreRuntime, ParseDevice) {
  EXPECT_EQ(parse_device("cpu").type(), c10::DeviceType::CPU);
  EXPECT_THROW(parse_device("gpu"), ConfigError);
  EXPECT_THROW(parse_device("cuda:x"), ConfigError);
  EXPECT_THROW(parse_device("cuda:"), ConfigError);
  if (cuda_device_count() == 0) {
    try {
      parse_device("cuda");
      FAIL() << "no throw";
    } catch (const RuntimeError& e) {
      EXPECT_NE(std::string(e.what()).find("no CUDA device"), std::string::npos);
    }
  } else {
    EXPECT_EQ(parse_device("cuda:0").type(), c10::DeviceType::CUDA);
    EXPECT_THROW(parse_device("cuda:99"), RuntimeError);
  }
}

TEST(CoreRuntime, BlasIsDetectedAndFast) {
  const auto blas = blas_info();
  EXPECT_NE(blas.vendor, "unknown");
  EXPECT_FALSE(blas.library_path.empty());
  // scripts/setup selects OpenBLAS; the reference BLAS would make every later module slow.
  EXPECT_EQ(blas.vendor, "OpenBLAS") << "library: " << blas.library_path;
  // Fast against a plain (compiler-vectorised) triple loop of the same size measured in the same
  // run: the reference BLAS is slower than the loop; OpenBLAS measured 89-114 GFLOP/s against the
  // loop's 19 on dev-2core (SkylakeX kernels), and stays above it with the Prescott kernels.
  const double blas_rate = measure_matmul_gflops(128, 3);
  const int n = 128;
  std::vector<float> a(n * n, 0.5f), b(n * n, 0.25f), c(n * n, 0.0f);
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) {
    for (int k = 0; k < n; ++k) {
      const float aik = a[i * n + k];
      for (int j = 0; j < n; ++j) c[i * n + j] += aik * b[k * n + j];
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double loop_rate = 2.0 * n * n * n / seconds / 1e9;
  EXPECT_NEAR(c[0], 0.5f * 0.25f * n, 1e-3);  // The loop ran.
  std::printf("128 x 128 matmul: BLAS %.1f GFLOP/s, plain loop %.1f GFLOP/s\n", blas_rate,
              loop_rate);
  EXPECT_GT(blas_rate, loop_rate) << "BLAS " << blas_rate << " GFLOP/s, loop " << loop_rate;
}

TEST(CoreRuntime, VersionsAreReported) {
  EXPECT_FALSE(mujoco_version().empty());
  EXPECT_EQ(compat::torch_version().substr(0, 1), std::to_string(compat::kTorchMajor));
}

TEST(CoreTorchCompat, ZeroGradSetsGradientsToNone) {
  auto w = torch::ones({3}, torch::requires_grad());
  torch::optim::SGD sgd({w}, torch::optim::SGDOptions(0.1));
  (w * 2).sum().backward();
  ASSERT_TRUE(w.grad().defined());
  compat::zero_grad(sgd);
  EXPECT_FALSE(w.grad().defined());
}

TEST(CoreTorchCompat, AttentionMatchesManualSoftmax) {
  torch::manual_seed(0);
  const auto q = torch::randn({2, 3, 5, 4});
  const auto k = torch::randn({2, 3, 5, 4});
  const auto v = torch::randn({2, 3, 5, 4});
  auto scores = torch::matmul(q, k.transpose(-2, -1)) / 2.0;
  const auto expected_full = torch::matmul(torch::softmax(scores, -1), v);
  EXPECT_TRUE(torch::allclose(compat::scaled_dot_product_attention(q, k, v, false), expected_full,
                              1e-5, 1e-5));
  const auto mask = torch::ones({5, 5}, torch::kBool).triu(1);
  scores = scores.masked_fill(mask, -1e30);
  const auto expected_causal = torch::matmul(torch::softmax(scores, -1), v);
  const auto causal = compat::scaled_dot_product_attention(q, k, v, true);
  EXPECT_TRUE(torch::allclose(causal, expected_causal, 1e-5, 1e-5));
  // The first query sees only the first key.
  EXPECT_TRUE(torch::allclose(causal.select(2, 0), v.select(2, 0), 1e-6, 1e-6));
}

}  // namespace
}  // namespace clearsight
