// Explanation throughput on the built-in model cs-tiny-vl (its trained weights), scene_vqa test
// samples, target: the teacher-forced log-probability of the answer; attributions land on the
// normalised pixels of the image (vision.hook_pixels) and on the prompt's token embeddings.
// Measured in the same run:
//  - integrated gradients (64 points, one sample per attribute() call), in seconds per sample,
//    against the same computation written with torch.autograd in PyTorch Python (Debian's
//    python3-torch) on a port of the whole model reading the same safetensors; both sides also
//    evaluate f(x) and f(baseline) and sum the attributions per position and pixel, as
//    attribute() returns them;
//  - occlusion (2 x 2 patch windows, stride 1, grey fill; each question word replaced by the pad
//    embedding), in seconds per sample, against the same windows in Python;
//  - integrated gradients of all samples in one attribute() call against one call per sample.
// The Python script also checks its attributions and occlusion maps against ClearSight's (largest
// difference relative to the largest attribution). One thread each side.
//
// Usage: bench_explain [--samples N] [--repeats R] [--rule gauss-legendre|riemann-right|...]
//                      [--internal-batch B] [--python PATH] [google benchmark flags]
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <thread>

#include "bench_util.h"
#include "clearsight/core/log.h"
#include "clearsight/core/runtime.h"
#include "clearsight/core/safetensors.h"
#include "clearsight/interp/attribution.h"
#include "clearsight/interp/examples.h"
#include "clearsight/interp/perturbation.h"
#include "clearsight/mm/tasks.h"
#include "clearsight/mm/trainer.h"

namespace {

using namespace clearsight;
namespace fs = std::filesystem;

std::shared_ptr<mm::MultimodalModel> g_model;
// One Examples per sample (what the one-at-a-time figures run) and all samples in one batch.
std::vector<interp::Examples> g_singles;
interp::Examples g_batch;
interp::AttributionOptions g_ig;
interp::OcclusionOptions g_occlusion;

std::int64_t sample_count() { return static_cast<std::int64_t>(g_singles.size()); }

/// Integrated gradients of every sample, one attribute() call each.
std::vector<interp::SampleAttribution> ig_one_at_a_time() {
  std::vector<interp::SampleAttribution> out;
  for (const auto& ex : g_singles) out.push_back(interp::attribute(*g_model, ex, g_ig)[0]);
  return out;
}

/// Occlusion of every sample, one occlusion() call each.
std::vector<interp::OcclusionMaps> occlusion_one_at_a_time() {
  std::vector<interp::OcclusionMaps> out;
  for (const auto& ex : g_singles) out.push_back(interp::occlusion(*g_model, ex, g_occlusion)[0]);
  return out;
}

void BM_IgOneAtATime(benchmark::State& state) {
  for (auto _ : state) {
    auto result = ig_one_at_a_time();
    benchmark::DoNotOptimize(result.data());
  }
  state.SetItemsProcessed(state.iterations() * sample_count());
}

void BM_IgBatched(benchmark::State& state) {
  for (auto _ : state) {
    auto result = interp::attribute(*g_model, g_batch, g_ig);
    benchmark::DoNotOptimize(result.data());
  }
  state.SetItemsProcessed(state.iterations() * sample_count());
}

void BM_OcclusionOneAtATime(benchmark::State& state) {
  for (auto _ : state) {
    auto result = occlusion_one_at_a_time();
    benchmark::DoNotOptimize(result.data());
  }
  state.SetItemsProcessed(state.iterations() * sample_count());
}

BENCHMARK(BM_IgOneAtATime)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_IgBatched)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_OcclusionOneAtATime)->Unit(benchmark::kMillisecond)->UseRealTime();

/// Best wall time of `repeats` calls of fn, in seconds; fn's last result is stored in *last.
template <typename Fn, typename Result>
double best_of(int repeats, Fn&& fn, Result* last) {
  double best = std::numeric_limits<double>::infinity();
  for (int r = 0; r < repeats; ++r) {
    const auto start = std::chrono::steady_clock::now();
    *last = fn();
    best = std::min(
        best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return best;
}

torch::Tensor as_u8(const torch::Tensor& mask) { return mask.to(torch::kUInt8); }

/// Everything the Python script needs for sample i, and ClearSight's results to compare with.
void add_sample(std::int64_t i, const interp::SampleAttribution& ig,
                const interp::OcclusionMaps& occ,
                std::vector<std::pair<std::string, torch::Tensor>>* tensors) {
  const auto& ex = g_singles[i];
  const auto clean = interp::clean_inputs(*g_model, ex);
  const auto base = interp::baseline_inputs(*g_model, ex, clean, g_ig.baseline);
  const auto fill = interp::baseline_inputs(*g_model, ex, clean, g_occlusion.fill);
  std::vector<std::int64_t> targets;
  for (const auto& [position, token] : ex.target_tokens[0]) {
    targets.push_back(position);
    targets.push_back(token);
  }
  const auto add = [&](const std::string& name, const torch::Tensor& t) {
    tensors->emplace_back(name + "_" + std::to_string(i), t);
  };
  add("input_ids", ex.batch.inputs.input_ids);
  add("attention_mask", as_u8(ex.batch.inputs.attention_mask));
  add("text_mask", as_u8(interp::text_attribution_mask(ex)));
  add("pixels", clean.image);
  add("baseline_text", base.text);
  add("baseline_pixels", base.image);
  add("fill_pixels", fill.image);
  add("targets", torch::tensor(targets, torch::kInt64).view({-1, 2}));
  add("question", torch::tensor(ex.positions(0, "question"), torch::kInt64));
  add("cpp_ig_score", torch::tensor({ig.score}, torch::kFloat64));
  add("cpp_ig_baseline_score", torch::tensor({ig.baseline_score}, torch::kFloat64));
  add("cpp_ig_positions", torch::tensor(ig.positions, torch::kFloat64));
  add("cpp_ig_image_pixels", ig.image_pixels.to(torch::kFloat64));
  add("cpp_occlusion_score", torch::tensor({occ.score}, torch::kFloat64));
  add("cpp_occlusion_image", occ.image_patches.to(torch::kFloat64));
  add("cpp_occlusion_text", torch::tensor(occ.text_positions, torch::kFloat64));
}

double value_or(const std::map<std::string, double>& values, const std::string& key,
                double fallback) {
  const auto it = values.find(key);
  return it == values.end() ? fallback : it->second;
}

}  // namespace

int main(int argc, char** argv) {
  auto args = bench::split_args(
      argc, argv, {"--samples", "--repeats", "--rule", "--internal-batch", "--python"});
  const int samples = std::stoi(args.get("--samples", "8"));
  const int repeats = std::stoi(args.get("--repeats", "3"));
  const std::string python = args.get("--python", "/usr/bin/python3");
  auto& rest = args.rest;
  int rest_argc = static_cast<int>(rest.size());
  log::set_verbosity(-1);
  RuntimeOptions runtime;
  runtime.threads = 1;
  runtime.tune_malloc = std::getenv("CS_BENCH_DEFAULT_MALLOC") == nullptr;
  init_runtime(runtime);
  // The Python child inherits a one-thread BLAS (it also sets torch to one thread).
  setenv("OPENBLAS_NUM_THREADS", "1", 1);

  auto loaded = mm::load_model_with_tokenizer("cs-tiny-vl");
  g_model = loaded.model;
  g_model->eval();
  const auto task = mm::make_task("scene_vqa");
  interp::check_task_fits(*task, *g_model);
  const auto chosen = interp::load_samples(*task, mm::Split::kTest, 0, samples);
  for (const auto& s : chosen) {
    g_singles.push_back(interp::prepare_examples({s}, loaded.tokenizer, *g_model));
  }
  g_batch = interp::prepare_examples(chosen, loaded.tokenizer, *g_model);
  g_ig.method = "ig";
  g_ig.steps = 64;
  g_ig.rule = args.get("--rule", "gauss-legendre");
  g_ig.internal_batch = std::stoll(args.get("--internal-batch", "32"));
  g_occlusion.internal_batch = g_ig.internal_batch;
  interp::validate(g_ig);

  const auto blas = blas_info();
  std::printf("machine: %u cores, %s, 1 thread each side, sgemm 512x512 %.1f GFLOP/s (C++)\n",
              std::thread::hardware_concurrency(),
              (blas.detail.empty() ? blas.vendor : blas.detail).c_str(), measure_matmul_gflops());
  std::printf(
      "cs-tiny-vl, scene_vqa test samples 0..%d (prompt %lld tokens for sample 0); IG %d points, "
      "rule %s, baseline black image / pad text, internal batch %lld rows; occlusion %dx%d "
      "patches stride %d, grey / pad fill\n",
      samples - 1, static_cast<long long>(g_singles[0].prompt_lengths[0]), g_ig.steps,
      g_ig.rule.c_str(), static_cast<long long>(g_ig.internal_batch), g_occlusion.image_window,
      g_occlusion.image_window, g_occlusion.image_stride);
  std::fflush(stdout);

  benchmark::Initialize(&rest_argc, rest.data());
  bench::CapturingReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);

  // The figures compared with Python: best of `repeats` passes over the samples, the statistic
  // the Python script reports too. The last pass's results go to the parity check.
  std::vector<interp::SampleAttribution> ig;
  std::vector<interp::OcclusionMaps> occ;
  const double ig_seconds = best_of(repeats, ig_one_at_a_time, &ig) / samples;
  const double occ_seconds = best_of(repeats, occlusion_one_at_a_time, &occ) / samples;
  std::vector<interp::SampleAttribution> together;
  const double batched_seconds = best_of(
      repeats, [] { return interp::attribute(*g_model, g_batch, g_ig); }, &together);
  double worst_completeness = 0, batch_diff = 0;
  for (std::int64_t i = 0; i < sample_count(); ++i) {
    worst_completeness = std::max(worst_completeness, ig[i].completeness_error);
    const auto alone = torch::tensor(ig[i].positions, torch::kFloat64);
    const auto in_batch = torch::tensor(together[i].positions, torch::kFloat64);
    batch_diff =
        std::max(batch_diff, ((in_batch - alone).abs().max() / alone.abs().max()).item<double>());
  }

  const fs::path dir = fs::temp_directory_path() / ("cs_bench_explain_" + std::to_string(getpid()));
  mm::save_model(*g_model, dir);
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  for (std::int64_t i = 0; i < sample_count(); ++i) add_sample(i, ig[i], occ[i], &tensors);
  safetensors::save(dir / "inputs.safetensors", tensors);
  const auto& vc = g_model->config().vision_config;
  const nlohmann::json settings = {{"samples", samples},
                                   {"repeats", repeats},
                                   {"steps", g_ig.steps},
                                   {"rule", g_ig.rule},
                                   {"internal_batch", g_ig.internal_batch},
                                   {"text_baseline", g_ig.baseline.text},
                                   {"text_baseline_positions", g_ig.baseline.text_positions},
                                   {"image_window", g_occlusion.image_window},
                                   {"image_stride", g_occlusion.image_stride},
                                   {"text_window", g_occlusion.text_window},
                                   {"text_fill", g_occlusion.fill.text},
                                   {"image_pad_id", loaded.tokenizer.id("<|image_pad|>")},
                                   {"pad_id", 0},
                                   {"grid", vc.image_size / vc.patch_size}};
  std::ofstream(dir / "settings.json") << settings.dump(2) << "\n";

  const fs::path script = fs::path(CS_SOURCE_DIR) / "benchmarks/py/explain_attr.py";
  const auto py = bench::run_python(
      python, script.string(), dir.string(),
      {"python_ig_seconds_per_sample", "python_occlusion_seconds_per_sample", "ig_max_rel_diff",
       "occlusion_max_rel_diff", "score_max_abs_diff", "python_gemm_gflops"});
  const double py_ig = value_or(py, "python_ig_seconds_per_sample", 0);
  const double py_occ = value_or(py, "python_occlusion_seconds_per_sample", 0);

  std::printf("\nper sample, best of %d passes over %d samples (ratio = Python time / C++ time):\n",
              repeats, samples);
  std::printf("%-26s C++ %8.4f s  Python %8.4f s  ratio %.2f\n", "integrated gradients (64)",
              ig_seconds, py_ig, py_ig > 0 ? py_ig / ig_seconds : 0.0);
  std::printf("%-26s C++ %8.4f s  Python %8.4f s  ratio %.2f\n", "occlusion", occ_seconds, py_occ,
              py_occ > 0 ? py_occ / occ_seconds : 0.0);
  std::printf(
      "parity: IG max |py - c++| / max |c++| %.2e, occlusion %.2e, max |score diff| %.2e; "
      "C++ IG worst completeness error %.2e; Python sgemm 512x512 %.1f GFLOP/s\n",
      value_or(py, "ig_max_rel_diff", -1), value_or(py, "occlusion_max_rel_diff", -1),
      value_or(py, "score_max_abs_diff", -1), worst_completeness,
      value_or(py, "python_gemm_gflops", 0));
  std::printf(
      "C++ IG over %d samples (best of %d): batched (one attribute() call, %lld points per "
      "pass) %.3f s, one at a time (%d calls) %.3f s; batched / one-at-a-time speed %.2f "
      "(max relative difference of their attributions %.1e)\n",
      samples, repeats,
      static_cast<long long>(std::max<std::int64_t>(1, g_ig.internal_batch / samples)),
      batched_seconds, samples, ig_seconds * samples, ig_seconds * samples / batched_seconds,
      batch_diff);
  std::error_code ignored;
  fs::remove_all(dir, ignored);
  return 0;
}
