// Activation patching throughput on the built-in model cs-tiny-vl (its trained weights): for each
// scene_vqa test sample, the residual stream entering every layer (hook_resid_pre) patched from
// the clean run into the blank-image run at every layer x prompt position, metric the logit
// difference target - foil at the scored position. Measured in the same run, one thread each
// side:
//  - interp::patch_cells with 64 patched rows per forward pass, and one cell per pass;
//  - the same computation in PyTorch Python (Debian's python3-torch) on the model port of
//    benchmarks/py/explain_attr.py, batched the same way and one cell at a time; the script also
//    checks its metrics against ClearSight's.
//
// Usage: bench_patch [--samples N] [--repeats R] [--rows R] [--python PATH]
#include <unistd.h>

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
#include "clearsight/interp/examples.h"
#include "clearsight/interp/patching.h"
#include "clearsight/mm/tasks.h"
#include "clearsight/mm/trainer.h"

namespace fs = std::filesystem;
using namespace clearsight;

namespace {

// One sample's patching problem.
struct Problem {
  interp::Examples single;
  interp::InputTensors clean, corrupted;
  std::map<std::string, torch::Tensor> cache;
  std::vector<interp::PatchCell> cells;
  std::int64_t foil = 0;
};

template <typename Fn>
double best_of(int repeats, Fn&& fn) {
  double best = std::numeric_limits<double>::infinity();
  for (int r = 0; r < repeats; ++r) {
    const auto start = std::chrono::steady_clock::now();
    fn();
    best = std::min(
        best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return best;
}

double value_or(const std::map<std::string, double>& values, const std::string& key) {
  const auto it = values.find(key);
  return it == values.end() ? 0.0 : it->second;
}

}  // namespace

int main(int argc, char** argv) {
  auto args = bench::split_args(argc, argv, {"--samples", "--repeats", "--rows", "--python"});
  const int samples = std::stoi(args.get("--samples", "4"));
  const int repeats = std::stoi(args.get("--repeats", "3"));
  const std::int64_t rows = std::stoll(args.get("--rows", "64"));
  const std::string python = args.get("--python", "/usr/bin/python3");
  log::set_verbosity(-1);
  RuntimeOptions runtime;
  runtime.threads = 1;
  init_runtime(runtime);
  setenv("OPENBLAS_NUM_THREADS", "1", 1);

  auto loaded = mm::load_model_with_tokenizer("cs-tiny-vl");
  auto& model = *loaded.model;
  model.eval();
  const auto task = mm::make_task("scene_vqa");
  const auto chosen = interp::load_samples(*task, mm::Split::kTest, 0, samples);
  const auto layers = model.config().num_hidden_layers;
  std::vector<Problem> problems;
  std::vector<std::string> hooks;
  for (std::int64_t l = 0; l < layers; ++l) {
    hooks.push_back("blocks." + std::to_string(l) + ".hook_resid_pre");
  }
  std::int64_t total_cells = 0;
  for (const auto& s : chosen) {
    Problem p;
    p.single =
        interp::prepare_examples({s}, loaded.tokenizer, model, {.kind = "first", .token = {}});
    p.clean = interp::clean_inputs(model, p.single);
    p.corrupted = interp::corrupted_inputs(model, p.single, p.clean, "blank");
    p.cache = interp::run_with_cache(model, p.single, p.clean, hooks).second;
    const auto logits = interp::run_with_cache(model, p.single, p.corrupted, {}).first;
    const auto [position, token] = p.single.target_tokens[0][0];
    auto ranked = logits[0][position].clone();
    ranked[token] = -std::numeric_limits<float>::infinity();
    p.foil = ranked.argmax().item<std::int64_t>();
    for (const auto& hook : hooks) {
      for (std::int64_t j = 0; j < p.single.prompt_lengths[0]; ++j)
        p.cells.push_back({hook, j, -1});
    }
    total_cells += static_cast<std::int64_t>(p.cells.size());
    problems.push_back(std::move(p));
  }
  const auto blas = blas_info();
  std::printf("machine: %u cores, %s, 1 thread each side, sgemm 512x512 %.1f GFLOP/s (C++)\n",
              std::thread::hardware_concurrency(),
              (blas.detail.empty() ? blas.vendor : blas.detail).c_str(), measure_matmul_gflops());
  std::printf(
      "cs-tiny-vl, scene_vqa test samples 0..%d, resid_pre patched at %d layers x every "
      "prompt position (%lld cells in all), blank image, logit difference; %lld rows per "
      "pass\n",
      samples - 1, static_cast<int>(layers), static_cast<long long>(total_cells),
      static_cast<long long>(rows));
  std::fflush(stdout);

  std::vector<torch::Tensor> metrics(problems.size());
  const auto run = [&](std::int64_t r) {
    for (std::size_t k = 0; k < problems.size(); ++k) {
      const auto& p = problems[k];
      metrics[k] = interp::patch_cells(model, p.single, p.corrupted, p.cache, p.cells, "logit_diff",
                                       p.foil, r);
    }
  };
  run(rows);  // warm-up
  const double batched = best_of(repeats, [&] { run(rows); }) / samples;
  const auto batched_metrics = metrics;
  const double single = best_of(1, [&] { run(1); }) / samples;
  double batch_diff = 0;
  for (std::size_t k = 0; k < problems.size(); ++k) {
    batch_diff = std::max(batch_diff, (metrics[k] - batched_metrics[k]).abs().max().item<double>());
  }

  const fs::path dir = fs::temp_directory_path() / ("cs_bench_patch_" + std::to_string(getpid()));
  mm::save_model(model, dir);
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  for (std::size_t k = 0; k < problems.size(); ++k) {
    const auto& p = problems[k];
    const auto i = std::to_string(k);
    const auto [position, token] = p.single.target_tokens[0][0];
    tensors.emplace_back("input_ids_" + i, p.single.batch.inputs.input_ids);
    tensors.emplace_back("attention_mask_" + i,
                         p.single.batch.inputs.attention_mask.to(torch::kUInt8));
    tensors.emplace_back("clean_pixels_" + i, p.clean.image);
    tensors.emplace_back("corrupted_pixels_" + i, p.corrupted.image);
    tensors.emplace_back("target_" + i, torch::tensor({position, token, p.foil}, torch::kInt64));
    tensors.emplace_back("prompt_length_" + i,
                         torch::tensor({p.single.prompt_lengths[0]}, torch::kInt64));
    tensors.emplace_back("cpp_metrics_" + i, batched_metrics[k]);
  }
  safetensors::save(dir / "inputs.safetensors", tensors);
  const nlohmann::json settings = {{"samples", samples},
                                   {"repeats", repeats},
                                   {"rows", rows},
                                   {"image_pad_id", loaded.tokenizer.id("<|image_pad|>")}};
  std::ofstream(dir / "settings.json") << settings.dump(2) << "\n";
  const fs::path script = fs::path(CS_SOURCE_DIR) / "benchmarks/py/explain_patch.py";
  const auto py = bench::run_python(python, script.string(), dir.string(),
                                    {"python_batched_seconds_per_sample",
                                     "python_single_seconds_per_sample", "metric_max_abs_diff"});
  const double py_batched = value_or(py, "python_batched_seconds_per_sample");
  const double py_single = value_or(py, "python_single_seconds_per_sample");
  std::printf("\nper sample (ratio = Python time / C++ time):\n");
  std::printf("%-32s C++ %8.4f s  Python %8.4f s  ratio %.2f\n",
              ("batched, " + std::to_string(rows) + " rows per pass").c_str(), batched, py_batched,
              py_batched > 0 ? py_batched / batched : 0.0);
  std::printf("%-32s C++ %8.4f s  Python %8.4f s  ratio %.2f\n", "one cell per pass", single,
              py_single, py_single > 0 ? py_single / single : 0.0);
  std::printf(
      "C++ batched / one-at-a-time speed %.2f (max |difference| of their metrics %.1e); "
      "parity: max |python - c++| metric %.2e\n",
      single / batched, batch_diff,
      py.count("metric_max_abs_diff") ? py.at("metric_max_abs_diff") : -1.0);
  std::error_code ignored;
  fs::remove_all(dir, ignored);
  return 0;
}
