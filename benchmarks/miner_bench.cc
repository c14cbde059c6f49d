// MINER importance scoring throughput (samples/s), measured in the same run as ratios to:
//  - the plain forward pass over the same prompts (target: at most 10% overhead);
//  - the same scoring written with PyTorch forward hooks in Python (Debian's python3-torch) on the
//    same weights and prompts, which also checks the scores agree.
// The model has the cs-tiny-vl architecture with random weights; prompts are text_choice samples
// (text and special tokens), one prompt per forward as MINER scores them.
//
// Usage: bench_miner [--prompts N] [--python PATH] [google benchmark flags]
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "bench_util.h"
#include "clearsight/core/log.h"
#include "clearsight/core/runtime.h"
#include "clearsight/core/safetensors.h"
#include "clearsight/miner/miner.h"
#include "clearsight/mm/data.h"
#include "clearsight/mm/presets.h"
#include "clearsight/mm/trainer.h"

namespace {

using namespace clearsight;
namespace fs = std::filesystem;

std::shared_ptr<mm::MultimodalModel> g_model;
std::unique_ptr<mm::Tokenizer> g_tokenizer;
std::vector<torch::Tensor> g_prompts;  // [1, L] each
// Batches of 16 right-padded prompts, as `miner score` runs them.
std::vector<mm::MmInputs> g_batches;
std::vector<torch::Tensor> g_batch_masks;

int layers() { return static_cast<int>(g_model->config().num_hidden_layers); }

miner::ScoreAccumulator make_accumulator() {
  return miner::ScoreAccumulator("bench", layers(), g_model->neurons_per_layer());
}

/// What one pass over the prompts does: the plain forward, the forward with the activation cache,
/// or the forward with the cache and MINER scoring into acc.
enum class Stage { kForward, kCache, kScore };

/// One pass over all prompts, one per forward or in the batches of 16.
void run_pass(bool batched, Stage stage, miner::ScoreAccumulator* acc) {
  const auto n = batched ? g_batches.size() : g_prompts.size();
  for (std::size_t i = 0; i < n; ++i) {
    mm::MmInputs single;
    if (!batched) single.input_ids = g_prompts[i];
    const auto& in = batched ? g_batches[i] : single;
    if (stage == Stage::kForward) {
      benchmark::DoNotOptimize(g_model->forward(in).data_ptr());
      continue;
    }
    auto [logits, cache] =
        g_model->run_with_cache([&] { return g_model->forward(in); }, miner::score_hooks(false));
    if (stage == Stage::kCache) {
      benchmark::DoNotOptimize(logits.data_ptr());
      continue;
    }
    const auto masks = batched ? g_batch_masks[i]
                               : miner::modality_masks(g_prompts[i][0], *g_tokenizer).unsqueeze(0);
    acc->add_batch(cache, masks, layers());
  }
}

void run_benchmark(benchmark::State& state, bool batched, Stage stage) {
  torch::NoGradGuard no_grad;
  auto acc = make_accumulator();
  for (auto _ : state) run_pass(batched, stage, &acc);
  benchmark::DoNotOptimize(acc.samples());
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(g_prompts.size()));
}

void BM_PlainForward(benchmark::State& state) { run_benchmark(state, false, Stage::kForward); }
// The cache alone (no scoring): separates recording the activations from computing the metrics.
void BM_Cache(benchmark::State& state) { run_benchmark(state, false, Stage::kCache); }
void BM_Score(benchmark::State& state) { run_benchmark(state, false, Stage::kScore); }
void BM_PlainForwardBatched(benchmark::State& state) {
  run_benchmark(state, true, Stage::kForward);
}
void BM_CacheBatched(benchmark::State& state) { run_benchmark(state, true, Stage::kCache); }
void BM_ScoreBatched(benchmark::State& state) { run_benchmark(state, true, Stage::kScore); }

// The metrics alone on recorded caches (no forward): what scoring adds per prompt.
void BM_MetricsOnly(benchmark::State& state) {
  torch::NoGradGuard no_grad;
  auto acc = make_accumulator();
  std::vector<nn::ActivationCache> caches;
  std::vector<torch::Tensor> masks;
  for (const auto& ids : g_prompts) {
    mm::MmInputs in;
    in.input_ids = ids;
    caches.push_back(
        g_model->run_with_cache([&] { return g_model->forward(in); }, miner::score_hooks(false))
            .second);
    masks.push_back(miner::modality_masks(ids[0], *g_tokenizer).unsqueeze(0));
  }
  for (auto _ : state) {
    for (std::size_t i = 0; i < caches.size(); ++i) acc.add_batch(caches[i], masks[i], layers());
  }
  benchmark::DoNotOptimize(acc.samples());
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(g_prompts.size()));
}

BENCHMARK(BM_PlainForward)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Cache)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Score)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_MetricsOnly)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_PlainForwardBatched)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_CacheBatched)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_ScoreBatched)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  auto args = bench::split_args(argc, argv, {"--prompts", "--python"});
  const int prompts = std::stoi(args.get("--prompts", "32"));
  const std::string python = args.get("--python", "/usr/bin/python3");
  auto& rest = args.rest;
  int rest_argc = static_cast<int>(rest.size());
  log::set_verbosity(-1);
  init_runtime();
  torch::manual_seed(0);
  g_tokenizer = std::make_unique<mm::Tokenizer>(mm::tokenizer_for_tasks({"text_choice"}, 0));
  g_model =
      std::make_shared<mm::MultimodalModel>(mm::preset_config("cs-tiny-vl", g_tokenizer->size()));
  g_model->eval();
  const auto task = mm::make_task("text_choice");
  for (int i = 0; i < prompts; ++i) {
    const auto ids = mm::sample_prompt(task->sample(mm::Split::kValidation, i), *g_tokenizer, {});
    g_prompts.push_back(torch::tensor(ids, torch::kInt64).unsqueeze(0));
  }
  for (int start = 0; start < prompts; start += 16) {
    std::vector<mm::Sample> samples;
    for (int i = start; i < std::min(prompts, start + 16); ++i) {
      samples.push_back(task->sample(mm::Split::kValidation, i));
    }
    const auto batch = mm::collate(samples, *g_tokenizer, {}, 32000, false);
    std::vector<torch::Tensor> masks;
    for (std::int64_t b = 0; b < batch.inputs.input_ids.size(0); ++b) {
      masks.push_back(miner::modality_masks(batch.inputs.input_ids[b], *g_tokenizer)
                          .logical_and(batch.inputs.attention_mask[b]));
    }
    g_batches.push_back(batch.inputs);
    g_batch_masks.push_back(torch::stack(masks));
  }
  benchmark::Initialize(&rest_argc, rest.data());
  bench::CapturingReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  const double plain = reporter.seconds("BM_PlainForward/real_time") / prompts;
  const double score = reporter.seconds("BM_Score/real_time") / prompts;
  std::printf("\n%d text_choice prompts, one per forward\n", prompts);
  std::printf("%-34s %8.1f samples/s (baseline)\n", "plain forward", 1 / plain);
  const double cache = reporter.seconds("BM_Cache/real_time") / prompts;
  std::printf("%-34s %8.1f samples/s  overhead %.1f%%\n", "activation cache only", 1 / cache,
              100.0 * (cache / plain - 1.0));
  std::printf("%-34s %8.1f samples/s  overhead %.1f%%\n", "MINER scoring (cache + 5 metrics)",
              1 / score, 100.0 * (score / plain - 1.0));
  const double metrics = reporter.seconds("BM_MetricsOnly/real_time") / prompts;
  std::printf("%-34s %8.1f us per prompt (%.1f%% of a plain forward)\n",
              "metrics alone on recorded caches", 1e6 * metrics, 100.0 * metrics / plain);
  const double plain_b = reporter.seconds("BM_PlainForwardBatched/real_time") / prompts;
  const double score_b = reporter.seconds("BM_ScoreBatched/real_time") / prompts;
  std::printf("%-34s %8.1f samples/s (baseline, batches of 16)\n", "plain forward, batched",
              1 / plain_b);
  const double cache_b = reporter.seconds("BM_CacheBatched/real_time") / prompts;
  std::printf("%-34s %8.1f samples/s  overhead %.1f%%\n", "activation cache only, batched",
              1 / cache_b, 100.0 * (cache_b / plain_b - 1.0));
  std::printf("%-34s %8.1f samples/s  overhead %.1f%%\n", "MINER scoring, batched", 1 / score_b,
              100.0 * (score_b / plain_b - 1.0));

  // Paired rounds: the forward and the scoring timed back to back, in alternating order, so slow
  // phases of a shared machine hit both; the median of the per-round ratios is the robust figure.
  {
    torch::NoGradGuard no_grad;
    auto acc = make_accumulator();
    auto seconds = [&](bool batched, Stage stage) {
      const auto t0 = std::chrono::steady_clock::now();
      run_pass(batched, stage, &acc);
      return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    };
    const int rounds = 21;
    std::vector<double> single, batched;
    for (int r = 0; r < rounds; ++r) {
      const bool plain_first = r % 2 == 0;
      double tp = 0, ts = 0, tpb = 0, tsb = 0;
      auto plain = [&] {
        tp = seconds(false, Stage::kForward);
        tpb = seconds(true, Stage::kForward);
      };
      if (plain_first) plain();
      ts = seconds(false, Stage::kScore);
      tsb = seconds(true, Stage::kScore);
      if (!plain_first) plain();
      single.push_back(ts / tp - 1.0);
      batched.push_back(tsb / tpb - 1.0);
    }
    auto summary = [](std::vector<double> v) {
      std::sort(v.begin(), v.end());
      const auto n = v.size();
      return std::array<double, 3>{v[n / 4], v[n / 2], v[(3 * n) / 4]};
    };
    const auto a = summary(single), b = summary(batched);
    std::printf(
        "paired rounds (%d): scoring overhead, median [quartiles]: one prompt %.1f%% "
        "[%.1f, %.1f], batched %.1f%% [%.1f, %.1f]\n",
        rounds, 100 * a[1], 100 * a[0], 100 * a[2], 100 * b[1], 100 * b[0], 100 * b[2]);
  }

  // Python: same weights and prompts, scores compared on the first prompt.
  const fs::path dir = fs::temp_directory_path() / ("cs_bench_miner_" + std::to_string(getpid()));
  mm::save_model(*g_model, dir);
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  for (int i = 0; i < prompts; ++i) {
    tensors.emplace_back("ids_" + std::to_string(i), g_prompts[i][0]);
    tensors.emplace_back("masks_" + std::to_string(i),
                         miner::modality_masks(g_prompts[i][0], *g_tokenizer).to(torch::kUInt8));
  }
  {
    torch::NoGradGuard no_grad;
    mm::MmInputs in;
    in.input_ids = g_prompts[0];
    auto [logits, cache] =
        g_model->run_with_cache([&] { return g_model->forward(in); }, miner::score_hooks(false));
    tensors.emplace_back(
        "scores_0", miner::score_sample(cache, miner::modality_masks(g_prompts[0][0], *g_tokenizer),
                                        static_cast<int>(g_model->config().num_hidden_layers))
                        .scores);
  }
  safetensors::save(dir / "inputs.safetensors", tensors);
  const fs::path script = fs::path(CS_SOURCE_DIR) / "benchmarks/py/miner_score.py";
  const auto py = bench::run_python(python, script.string(), dir.string(),
                                    {"python_score_seconds_per_sample", "max_abs_score_diff"});
  const double py_seconds =
      py.count("python_score_seconds_per_sample") ? py.at("python_score_seconds_per_sample") : 0;
  const double max_diff = py.count("max_abs_score_diff") ? py.at("max_abs_score_diff") : -1;
  if (py_seconds > 0) {
    std::printf("%-34s %8.1f samples/s\n", "PyTorch Python hooks, same scoring", 1 / py_seconds);
    std::printf(
        "ClearSight / Python speed: %.2f one prompt at a time, %.2f batched "
        "(max |score diff| %.1e)\n",
        py_seconds / score, py_seconds / score_b, max_diff);
  }
  std::error_code ignored;
  fs::remove_all(dir, ignored);
  return 0;
}
