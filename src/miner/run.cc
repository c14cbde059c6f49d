#include "clearsight/miner/run.h"

#include <array>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "clearsight/core/error.h"
#include "clearsight/core/log.h"
#include "clearsight/core/safetensors.h"
#include "clearsight/miner/analysis.h"
#include "clearsight/miner/pipeline.h"
#include "clearsight/miner/provenance.h"
#include "clearsight/miner/selection_io.h"
#include "clearsight/miner/study.h"
#include "clearsight/mm/presets.h"
#include "clearsight/mm/tasks.h"
#include "clearsight/mm/trainer.h"

namespace clearsight::miner {

namespace {

using nlohmann::json;

json tensor_json(const torch::Tensor& t) {
  const auto c = t.to(torch::kFloat64).contiguous();
  if (c.dim() == 1)
    return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
  json rows = json::array();
  for (std::int64_t i = 0; i < c.size(0); ++i) rows.push_back(tensor_json(c[i]));
  return rows;
}

json flow_json(const FlowAndSimilarity& f) {
  json out = {{"prompts", f.prompts},
              {"last_token_flow", json::object()},
              {"cka", json::object()},
              {"cosine", json::object()}};
  for (std::size_t m = 0; m < f.modalities.size(); ++m) {
    out["last_token_flow"][f.modalities[m]] =
        tensor_json(f.last_token_flow[static_cast<std::int64_t>(m)]);
  }
  for (const auto& [pair, values] : f.cka) out["cka"][pair] = tensor_json(values);
  for (const auto& [pair, values] : f.cosine) out["cosine"][pair] = tensor_json(values);
  return out;
}

}  // namespace

json layer_counts(const Selection& s) {
  json out = json::object();
  for (std::size_t i = 0; i < s.modalities.size(); ++i) {
    const auto per_layer = s.masks[static_cast<std::int64_t>(i)].sum(1);
    out[s.modalities[i]] = std::vector<std::int64_t>(
        per_layer.data_ptr<std::int64_t>(), per_layer.data_ptr<std::int64_t>() + per_layer.numel());
  }
  const auto shared = s.shared_mask().sum(1);
  out["shared"] = std::vector<std::int64_t>(shared.data_ptr<std::int64_t>(),
                                            shared.data_ptr<std::int64_t>() + shared.numel());
  return out;
}

void check_study_options(const StudyOptions& a) {
  CS_CHECK_AS(ConfigError, a.ratio > 0 && a.ratio <= 1, "--ratio must be in (0, 1], got ", a.ratio);
  CS_CHECK_AS(ConfigError, a.score_samples >= 1 && a.eval_samples >= 1,
              "--score-samples and --eval-samples must be >= 1, got ", a.score_samples, " and ",
              a.eval_samples);
  CS_CHECK_AS(ConfigError, a.random_seeds >= 1,
              "--random-seeds must be >= 1 (the random control is part of the study), got ",
              a.random_seeds);
  CS_CHECK_AS(ConfigError, !a.ablation || a.ablation_samples >= 1,
              "--ablation-samples must be >= 1, got ", a.ablation_samples);
}

std::string study_preset(const mm::MultimodalModel& model) {
  return model.config().vision_config.enabled ? "cs-tiny-vl" : "cs-tiny-audio";
}

json run_study(mm::MultimodalModel& model, const mm::Tokenizer& tokenizer,
               const StudyOptions& options, const RunDir& run, const json& extra_config) {
  const StudyOptions& a = options;
  check_study_options(a);
  const auto tasks = mm::preset_tasks(study_preset(model));
  // Score files are reused only when they were made with this run's settings; a changed
  // --model, --faithful or --score-samples is a conflict, refused before anything is written.
  const std::map<std::string, std::string> provenance = {
      {"model", a.model},
      {"model_hash", model_content_hash(a.model)},
      {"split", "validation"},
      {"faithful", a.faithful ? "true" : "false"},
      {"score_samples", std::to_string(a.score_samples)}};
  for (const auto& name : tasks) {
    const auto path = run.path() / "scores" / (name + ".safetensors");
    if (!std::filesystem::exists(path)) continue;
    const auto stored = safetensors::File::open(path).metadata();
    for (const auto& [key, value] : provenance) {
      const auto it = stored.find(key);
      const std::string had = it == stored.end() ? "(not recorded)" : it->second;
      CS_CHECK_AS(ConfigError, had == value, "'", path.string(), "' was scored with ", key, " ",
                  had, ", this run asks for ", value,
                  ": remove the run's scores/ folder or choose another --out");
    }
  }
  json recorded = {{"model", a.model},
                   {"score_samples", a.score_samples},
                   {"eval_samples", a.eval_samples},
                   {"random_seeds", a.random_seeds},
                   {"ratio", a.ratio},
                   {"faithful", a.faithful},
                   {"split", a.split},
                   {"complementary", a.complementary}};
  recorded.update(extra_config);
  run.write_config(recorded);
  // Stages 2 and 3: per dataset, resumable (existing score files are reused).
  std::vector<ScoreAccumulator> datasets;
  for (const auto& name : tasks) {
    const auto path = run.file("scores/" + name + ".safetensors");
    if (std::filesystem::exists(path)) {
      datasets.push_back(ScoreAccumulator::load(path));
      log::info("reusing {}", path.string());
      continue;
    }
    ScoreRun score;
    score.samples = a.score_samples;
    score.options.faithful = a.faithful;
    score.progress = a.progress;
    datasets.push_back(score_task(model, tokenizer, *mm::make_task(name), score));
    datasets.back().save(path, provenance);
  }
  // Stage 4.
  const auto [scores, present] = combine_datasets(datasets);
  SelectOptions select;
  select.ratio = a.ratio;
  select.split = a.split;
  const auto selection = select_neurons(scores, present, select);
  save_selection(selection, run.file("selection.safetensors"), a.model);
  // Deactivation study on the test split.
  mm::EvalOptions eval;
  eval.split = mm::Split::kTest;
  eval.samples = a.eval_samples;
  DeactivateOptions deact;
  deact.complementary = a.complementary;
  const auto original =
      evaluate_condition(model, tokenizer, tasks, eval, "original", nullptr, deact);
  const auto mined = evaluate_condition(model, tokenizer, tasks, eval, "miner", &selection, deact);
  std::vector<ConditionScores> randoms;
  for (int s = 0; s < a.random_seeds; ++s) {
    const auto random = random_like(selection, options.seed + 1000 + s);
    randoms.push_back(evaluate_condition(model, tokenizer, tasks, eval, "random", &random, deact));
  }
  const auto table = deactivation_table(original, mined, randoms, tasks);
  json benchmarks = json::object();
  for (const auto& row : table.rows) {
    benchmarks[row.task] = {{"original", row.original},
                            {"miner", row.miner},
                            {"random_mean", row.random_mean},
                            {"random_sd", row.random_sd},
                            {"relative_drop_miner", row.relative_drop_miner},
                            {"relative_drop_random", row.relative_drop_random}};
  }
  const double drop_miner = table.mean_relative_drop_miner;
  const double drop_random = table.mean_relative_drop_random;
  // Specificity: deactivate one modality's neurons at a time.
  std::map<std::string, ConditionScores> only_modality;
  for (const auto& modality : selection.modalities) {
    DeactivateOptions only;
    only.modalities = {modality};
    only_modality[modality] =
        evaluate_condition(model, tokenizer, tasks, eval, "only " + modality, &selection, only);
  }
  const json specificity = specificity_matrix(original, only_modality, tasks);
  // Where modalities converge, and what the last token attends to, before and after.
  const auto shares = layer_shares(selection);
  json convergence = {{"shared_per_layer", tensor_json(shares.shared)}, {"share", json::object()}};
  for (std::size_t m = 0; m < shares.modalities.size(); ++m) {
    convergence["share"][shares.modalities[m]] =
        tensor_json(shares.share[static_cast<std::int64_t>(m)]);
  }
  const auto flow_before = measure_flow(model, tokenizer, tasks, mm::Split::kTest,
                                        std::min<std::int64_t>(a.eval_samples, 50));
  FlowAndSimilarity flow_after;
  {
    auto handles = deactivate(model, selection, deact);
    flow_after = measure_flow(model, tokenizer, tasks, mm::Split::kTest,
                              std::min<std::int64_t>(a.eval_samples, 50));
  }
  // Strategy x metric-weight ablation (opt-in: 24 more evaluations of every task).
  json ablation = json::object();
  if (a.ablation) {
    const std::vector<std::pair<std::string, std::array<double, kNumMetrics>>> weightings = {
        {"default", {0, 0.25, 0.25, 0.5, 0}},
        {"prob", {1, 0, 0, 0, 0}},
        {"mean", {0, 1, 0, 0, 0}},
        {"max", {0, 0, 1, 0, 0}},
        {"attn_k", {0, 0, 0, 1, 0}},
        {"attn_q", {0, 0, 0, 0, 1}}};
    mm::EvalOptions small = eval;
    small.samples = a.ablation_samples;
    const auto base =
        evaluate_condition(model, tokenizer, tasks, small, "original", nullptr, deact);
    for (const auto& strategy : strategy_names()) {
      if (strategy == "random") continue;
      for (const auto& [label, weights] : weightings) {
        SelectOptions o = select;
        o.strategy = strategy;
        o.weights = weights;
        const auto sel = select_neurons(scores, present, o);
        const auto r = evaluate_condition(model, tokenizer, tasks, small, strategy, &sel, deact);
        ablation[strategy][label] = deactivation_table(base, r, {}, tasks).mean_relative_drop_miner;
      }
      log::info("ablation: strategy {} done", strategy);
    }
  }
  json summary = {{"model", a.model},
                  {"split", a.split},
                  {"complementary", a.complementary},
                  {"specificity_relative_drop", specificity},
                  {"convergence", convergence},
                  {"flow_before", flow_json(flow_before)},
                  {"flow_after_miner", flow_json(flow_after)},
                  {"ratio", a.ratio},
                  {"strategy", select.strategy},
                  {"neurons_selected", selection.union_mask().sum().item<std::int64_t>()},
                  {"per_layer", layer_counts(selection)},
                  {"random_seeds", a.random_seeds},
                  {"eval_samples", a.eval_samples},
                  {"score_samples", a.score_samples},
                  {"benchmarks", benchmarks},
                  {"mean_relative_drop_miner", drop_miner},
                  {"mean_relative_drop_random", drop_random}};
  if (a.ablation) summary["ablation"] = ablation;
  run.write_json("summary.json", summary);
  return summary;
}

}  // namespace clearsight::miner
