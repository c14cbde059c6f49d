// Forward throughput of the multimodal model's language model (cs-tiny-vl architecture, random
// weights), in tokens/s, as ratios measured in the same run:
//  - no hook attached (baseline);
//  - an observing hook on every MLP neuron hook point (blocks.*.mlp.hook_post);
//  - run_with_cache of every MLP activation;
//  - the same forward in PyTorch Python (Debian's python3-torch) loading the same safetensors,
//    which also checks that both produce the same logits.
//
// Usage: bench_mm [--batch B] [--seq L] [--python PATH] [google benchmark flags]
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "bench_util.h"
#include "clearsight/core/log.h"
#include "clearsight/core/runtime.h"
#include "clearsight/core/safetensors.h"
#include "clearsight/mm/model.h"
#include "clearsight/mm/presets.h"

namespace {

using namespace clearsight;
namespace fs = std::filesystem;

std::shared_ptr<mm::MultimodalModel> g_model;
mm::MmInputs g_inputs;
std::int64_t g_tokens = 0;

void BM_ForwardNoHooks(benchmark::State& state) {
  torch::NoGradGuard no_grad;
  for (auto _ : state) benchmark::DoNotOptimize(g_model->forward(g_inputs).data_ptr());
  state.SetItemsProcessed(state.iterations() * g_tokens);
}

void BM_ForwardObserveMlp(benchmark::State& state) {
  torch::NoGradGuard no_grad;
  double sink = 0;
  auto handles = g_model->add_hooks(nn::ends_with("mlp.hook_post"),
                                    [&sink](const torch::Tensor& x, const std::string&) {
                                      sink += static_cast<double>(x.size(-1));
                                      return std::optional<torch::Tensor>();
                                    });
  for (auto _ : state) benchmark::DoNotOptimize(g_model->forward(g_inputs).data_ptr());
  benchmark::DoNotOptimize(sink);
  state.SetItemsProcessed(state.iterations() * g_tokens);
}

void BM_ForwardCacheMlp(benchmark::State& state) {
  torch::NoGradGuard no_grad;
  for (auto _ : state) {
    auto [logits, cache] = g_model->run_with_cache([] { return g_model->forward(g_inputs); },
                                                   nn::ends_with("mlp.hook_post"));
    benchmark::DoNotOptimize(cache.bytes());
  }
  state.SetItemsProcessed(state.iterations() * g_tokens);
}

BENCHMARK(BM_ForwardNoHooks)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_ForwardObserveMlp)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_ForwardCacheMlp)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  auto args = bench::split_args(argc, argv, {"--batch", "--seq", "--python"});
  const int batch = std::stoi(args.get("--batch", "8"));
  const int seq = std::stoi(args.get("--seq", "96"));
  const std::string python = args.get("--python", "/usr/bin/python3");
  auto& rest = args.rest;
  int rest_argc = static_cast<int>(rest.size());
  log::set_verbosity(-1);
  RuntimeOptions runtime;
  runtime.tune_malloc = std::getenv("CS_BENCH_DEFAULT_MALLOC") == nullptr;
  init_runtime(runtime);
  torch::manual_seed(0);
  g_model = std::make_shared<mm::MultimodalModel>(mm::preset_config("cs-tiny-vl", 300));
  g_model->eval();
  g_inputs.input_ids = torch::randint(11, 300, {batch, seq}, torch::kInt64);
  g_tokens = static_cast<std::int64_t>(batch) * seq;

  benchmark::Initialize(&rest_argc, rest.data());
  bench::CapturingReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);

  const double none = reporter.seconds("BM_ForwardNoHooks/real_time");
  const double observe = reporter.seconds("BM_ForwardObserveMlp/real_time");
  const double cache = reporter.seconds("BM_ForwardCacheMlp/real_time");
  std::printf("\nLM forward, batch %d x %d tokens, %s\n", batch, seq, blas_info().vendor.c_str());
  std::printf("%-36s %10.0f tokens/s  (baseline)\n", "no hooks", g_tokens / none);
  std::printf("%-36s %10.0f tokens/s  %.3f x baseline time\n", "observe hook on every MLP",
              g_tokens / observe, observe / none);
  std::printf("%-36s %10.0f tokens/s  %.3f x baseline time\n", "run_with_cache(all MLP)",
              g_tokens / cache, cache / none);

  // Python baseline on the same weights and inputs; it also checks the logits.
  const fs::path dir = fs::temp_directory_path() / ("cs_bench_mm_" + std::to_string(getpid()));
  mm::save_model(*g_model, dir);
  torch::Tensor logits;
  double best = 1e30;  // Best of 10, the statistic the Python script reports too.
  {
    torch::NoGradGuard no_grad;
    logits = g_model->forward(g_inputs);
    for (int i = 0; i < 10; ++i) {
      const auto start = std::chrono::steady_clock::now();
      g_model->forward(g_inputs);
      best = std::min(
          best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
  }
  safetensors::save(dir / "inputs.safetensors",
                    {{"input_ids", g_inputs.input_ids}, {"logits", logits}});
  const fs::path script = fs::path(CS_SOURCE_DIR) / "benchmarks/py/mm_forward.py";
  const auto py = bench::run_python(python, script.string(), dir.string(),
                                    {"python_forward_seconds", "max_abs_logit_diff"});
  const double py_seconds =
      py.count("python_forward_seconds") ? py.at("python_forward_seconds") : 0;
  const double max_diff = py.count("max_abs_logit_diff") ? py.at("max_abs_logit_diff") : -1;
  if (py_seconds > 0) {
    std::printf("%-36s %10.0f tokens/s\n", "PyTorch Python, same weights (best of 10)",
                g_tokens / py_seconds);
    std::printf("%-36s %10.0f tokens/s  ratio %.2f (ClearSight / Python), max |logit diff| %.2e\n",
                "ClearSight (best of 10)", g_tokens / best, py_seconds / best, max_diff);
  }
  std::error_code ignored;
  fs::remove_all(dir, ignored);
  return 0;
}
