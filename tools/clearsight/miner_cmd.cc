// `clearsight miner score|merge|select|run`: MINER's stages from the command line.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>

#include <cmath>
#include <cstdio>
#include <map>

#include "clearsight/core/atomic_file.h"
#include "clearsight/core/error.h"
#include "clearsight/core/log.h"
#include "clearsight/core/run_dir.h"
#include "clearsight/core/safetensors.h"
#include "clearsight/core/strings.h"
#include "clearsight/interp/findings.h"
#include "clearsight/interp/neuron_importance.h"
#include "clearsight/miner/analysis.h"
#include "clearsight/miner/evaluate.h"
#include "clearsight/miner/hf_scoring.h"
#include "clearsight/miner/neurons.h"
#include "clearsight/miner/pipeline.h"
#include "clearsight/miner/provenance.h"
#include "clearsight/miner/report.h"
#include "clearsight/miner/run.h"
#include "clearsight/miner/selection_io.h"
#include "clearsight/miner/study.h"
#include "clearsight/mm/hf_checkpoint.h"
#include "commands.h"

namespace clearsight::cli {
namespace {

using nlohmann::json;

std::array<double, miner::kNumMetrics> parse_weights(const std::string& text) {
  const auto parts = split(text, ',');
  CS_CHECK_AS(ConfigError, parts.size() == miner::kNumMetrics, "--weights needs ",
              miner::kNumMetrics, " comma-separated numbers (prob,mean,max,attn_k,attn_q), got '",
              text, "'");
  std::array<double, miner::kNumMetrics> w{};
  for (std::size_t i = 0; i < parts.size(); ++i) {
    try {
      w[i] = std::stod(parts[i]);
    } catch (const std::exception&) {
      CS_THROW(ConfigError, "--weights: '", parts[i], "' is not a number");
    }
  }
  return w;
}

struct ScoreArgs {
  std::string model = "cs-tiny-vl";
  std::string task;
  std::string split = "validation";
  std::int64_t samples = 200;
  std::string shard = "0/1";
  bool faithful = false;
  std::string out;
  std::string data;
  std::string dtype = "float32";
};

// The samples, shard and scoring options of a `miner score` command.
miner::ScoreRun score_run(const ScoreArgs& a) {
  miner::ScoreRun run;
  run.split = a.split == "test"    ? mm::Split::kTest
              : a.split == "train" ? mm::Split::kTrain
                                   : mm::Split::kValidation;
  run.samples = a.samples;
  std::tie(run.shard, run.shards) = miner::parse_shard(a.shard);
  run.options.faithful = a.faithful;
  run.progress = true;
  return run;
}

// Saves the scores with the command's provenance (miner::score_provenance).
void save_scores(const miner::ScoreAccumulator& acc, const ScoreArgs& a) {
  acc.save(a.out,
           miner::score_provenance(a.model, a.split, a.data, a.shard, a.samples, a.faithful));
}

// `miner score --model HF_FOLDER --data FILE.jsonl`.
int run_score_hf(const ScoreArgs& a) {
  CS_CHECK_AS(ConfigError, !a.data.empty(), "'", a.model,
              "' is a Hugging Face folder: score a dataset of your own with --data FILE.jsonl "
              "(the built-in tasks are made for the built-in models)");
  mm::HfLoadOptions options;
  options.dtype = parse_dtype(a.dtype);
  const auto records = mm::load_jsonl_dataset(a.data);
  auto bundle = mm::load_qwen2(a.model, options);
  const auto run = score_run(a);
  const auto dataset = std::filesystem::path(a.data).stem().string();
  const auto t0 = std::chrono::steady_clock::now();
  const auto acc = miner::score_qwen2(bundle, records, dataset, run);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  save_scores(acc, a);
  std::printf("scored %lld samples of %s into %s (%.2f samples/s)\n",
              static_cast<long long>(acc.samples()), a.data.c_str(), a.out.c_str(),
              static_cast<double>(acc.samples()) / seconds);
  return 0;
}

int run_score(const GlobalOptions& global, const ScoreArgs& a) {
  start_runtime(global);
  if (mm::is_hf_checkpoint(a.model)) return run_score_hf(a);
  CS_CHECK_AS(ConfigError, a.data.empty() || a.task.empty(),
              "miner score takes --task NAME or --data FILE.jsonl, not both");
  CS_CHECK_AS(ConfigError, !a.task.empty() || !a.data.empty(),
              "miner score needs --task NAME or --data FILE.jsonl");
  if (!a.data.empty()) {
    auto loaded = mm::load_model_with_tokenizer(a.model);
    const auto records = mm::load_jsonl_dataset(a.data);
    const auto dataset = std::filesystem::path(a.data).stem().string();
    const auto acc =
        miner::score_dataset(*loaded.model, loaded.tokenizer, records, dataset, score_run(a));
    save_scores(acc, a);
    std::printf("scored %lld samples of %s into %s\n", static_cast<long long>(acc.samples()),
                a.data.c_str(), a.out.c_str());
    return 0;
  }
  auto loaded = mm::load_model_with_tokenizer(a.model);
  const auto task = mm::make_task(a.task);
  const auto acc = miner::score_task(*loaded.model, loaded.tokenizer, *task, score_run(a));
  save_scores(acc, a);
  std::printf("scored %lld samples of %s into %s\n", static_cast<long long>(acc.samples()),
              a.task.c_str(), a.out.c_str());
  return 0;
}

int run_merge(const std::vector<std::string>& inputs, const std::string& out) {
  std::vector<std::filesystem::path> paths(inputs.begin(), inputs.end());
  for (const auto& path : paths) {
    CS_CHECK_AS(ConfigError,
                !std::filesystem::exists(out) || !std::filesystem::equivalent(path, out),
                "miner merge: --out '", out, "' is also an input; write the merge elsewhere");
  }
  const auto merged = miner::merge_score_files(paths);
  merged.scores.save(out, merged.provenance);
  const auto& p = merged.provenance;
  std::printf("merged %zu files (%lld samples, shard%s %s) into %s\n", inputs.size(),
              static_cast<long long>(merged.scores.samples()), p.count("merged_shards") ? "s" : "",
              p.count("merged_shards") ? p.at("merged_shards").c_str() : "0/1 (all)", out.c_str());
  return 0;
}

struct SelectArgs {
  std::vector<std::string> scores;
  std::string strategy = "LA_MU";
  double ratio = 0.02;
  std::string split = "default";
  std::string weights = "0,0.25,0.25,0.5,0";
  std::string out;
  bool json = false;
};

int run_select(const GlobalOptions& global, const SelectArgs& a) {
  start_runtime(global);
  std::vector<miner::ScoreFile> files;
  for (const auto& f : a.scores) files.push_back(miner::load_score_file(f));
  miner::check_selectable(files);
  std::vector<miner::ScoreAccumulator> datasets;
  for (const auto& file : files) datasets.push_back(file.scores);
  const auto [scores, present] = miner::combine_datasets(datasets);
  miner::SelectOptions o;
  o.strategy = a.strategy;
  o.ratio = a.ratio;
  o.split = a.split;
  o.weights = parse_weights(a.weights);
  o.seed = global.runtime.seed;
  const auto s = miner::select_neurons(scores, present, o);
  if (!a.out.empty()) miner::save_selection(s, a.out, "");
  const json counts = miner::layer_counts(s);
  if (a.json) {
    std::printf("%s\n", json({{"strategy", o.strategy},
                              {"ratio", o.ratio},
                              {"split", o.split},
                              {"per_layer", counts}})
                            .dump(2)
                            .c_str());
    return 0;
  }
  std::printf("%s, ratio %.3f, split %s: neurons per layer\n", o.strategy.c_str(), o.ratio,
              o.split.c_str());
  for (const auto& [name, per_layer] : counts.items()) {
    std::printf("  %-12s %s\n", name.c_str(), per_layer.dump().c_str());
  }
  return 0;
}

struct RunArgs {
  std::string model = "cs-tiny-vl";
  std::string out;
  std::int64_t score_samples = 100;
  std::int64_t eval_samples = 100;
  int random_seeds = 3;
  double ratio = 0.02;
  bool faithful = false;
  bool ablation = false;
  std::int64_t ablation_samples = 30;
  bool findings = false;
  std::string split = "default";
  bool complementary = false;
  bool json = false;
};

int run_pipeline(const GlobalOptions& global, const RunArgs& a) {
  miner::StudyOptions o;
  o.model = a.model;
  o.score_samples = a.score_samples;
  o.eval_samples = a.eval_samples;
  o.random_seeds = a.random_seeds;
  o.ratio = a.ratio;
  o.faithful = a.faithful;
  o.ablation = a.ablation;
  o.ablation_samples = a.ablation_samples;
  o.split = a.split;
  o.complementary = a.complementary;
  o.seed = global.runtime.seed;
  o.progress = !a.json;
  // Every option is checked before any work, so a bad value leaves nothing behind.
  miner::check_study_options(o);
  start_runtime(global);
  auto loaded = mm::load_model_with_tokenizer(a.model);
  auto& model = *loaded.model;
  const RunDir run = a.out.empty() ? RunDir::create("runs", "miner-" + miner::study_preset(model))
                                   : RunDir::at(a.out);
  const auto summary = miner::run_study(model, loaded.tokenizer, o, run,
                                        {{"runtime", config::to_json(global.runtime)}});
  if (!a.json) {
    std::printf("\n%-14s %9s %9s %16s\n", "benchmark", "original", "MINER", "random (mean+-sd)");
    for (const auto& [task, row] : summary["benchmarks"].items()) {
      std::printf("%-14s %9.3f %9.3f %9.3f +- %.3f\n", task.c_str(), row["original"].get<double>(),
                  row["miner"].get<double>(), row["random_mean"].get<double>(),
                  row["random_sd"].get<double>());
    }
    std::printf("mean relative drop: MINER %.3f, random %.3f\nsummary: %s/summary.json\n",
                summary["mean_relative_drop_miner"].get<double>(),
                summary["mean_relative_drop_random"].get<double>(), run.path().c_str());
  }
  if (a.findings) {
    // MINER's open findings with this run's selection (explain findings), into findings/.
    interp::FindingsOptions f;
    f.selection = run.file("selection.safetensors");
    f.random_seeds = a.random_seeds;
    f.seed = global.runtime.seed;
    StagedDirectory dir(run.path() / "findings");
    const auto result = interp::run_findings({model, loaded.tokenizer, a.model}, f, dir.staging());
    dir.commit();
    if (!a.json) std::printf("findings: %s\n", result["summary"].get<std::string>().c_str());
  }
  if (a.json) {
    json out = summary;
    out["run_dir"] = run.path().string();
    out["selection"] = (run.path() / "selection.safetensors").string();
    if (a.findings) out["findings"] = (run.path() / "findings" / "result.json").string();
    std::printf("%s\n", out.dump(2).c_str());
  }
  return 0;
}

struct EvalArgs {
  std::string model = "cs-tiny-vl";
  std::string selection;
  bool json = false;
};

int run_eval(const GlobalOptions& global, const EvalArgs& a, miner::SelectionEvalOptions o) {
  start_runtime(global);
  const auto selection = miner::load_selection(a.selection);
  auto loaded = mm::load_model_with_tokenizer(a.model);
  o.seed = global.runtime.seed;
  auto result = miner::evaluate_selection(*loaded.model, loaded.tokenizer, selection, o);
  result["model"] = a.model;
  result["selection"] = a.selection;
  if (a.json) {
    std::printf("%s\n", result.dump(2).c_str());
    return 0;
  }
  std::printf("%s: %lld neurons ablated (%s%s, %s)\n", a.selection.c_str(),
              static_cast<long long>(result["ablated_neurons"].get<std::int64_t>()),
              o.complementary ? "all but " : "",
              join(result["modalities"].get<std::vector<std::string>>(), "+").c_str(),
              o.value.c_str());
  std::printf("%-14s %9s %9s %16s\n", "task", "original", "ablated", "random (mean+-sd)");
  for (const auto& [task, row] : result["tasks"].items()) {
    std::printf("%-14s %9.3f %9.3f", task.c_str(), row["original"].get<double>(),
                row["ablated"].get<double>());
    if (row.contains("random_mean")) {
      std::printf(" %9.3f +- %.3f", row["random_mean"].get<double>(),
                  row["random_sd"].get<double>());
    }
    std::printf("\n");
  }
  std::printf("mean relative drop: selection %.3f", result["mean_relative_drop"].get<double>());
  if (result["mean_relative_drop_random"].is_number()) {
    std::printf(", random %.3f", result["mean_relative_drop_random"].get<double>());
  }
  std::printf("\n");
  return 0;
}

struct BaselineArgs {
  std::string model = "cs-tiny-vl";
  std::string criterion = "magnitude";
  double ratio = 0.02;
  std::int64_t neurons = 0;
  std::string out;
  bool json = false;
};

int run_baseline(const GlobalOptions& global, const BaselineArgs& a,
                 interp::NeuronImportanceOptions o) {
  // Every option is checked before the model loads.
  CS_CHECK_AS(ConfigError, a.neurons > 0 || (a.ratio > 0 && a.ratio <= 1),
              "--ratio must be in (0, 1], got ", a.ratio);
  CS_CHECK_AS(ConfigError, a.neurons >= 0, "--neurons must be >= 1, got ", a.neurons);
  o.criterion = a.criterion;
  interp::check_neuron_importance_options(o);
  start_runtime(global);
  auto loaded = mm::load_model_with_tokenizer(a.model);
  if (o.tasks.empty())
    o.tasks = mm::preset_tasks(loaded.model->config().vision_config.enabled ? "cs-tiny-vl"
                                                                            : "cs-tiny-audio");
  const interp::ModelRef ref{*loaded.model, loaded.tokenizer, a.model};
  const auto importance = interp::neuron_importance(ref, o);
  const auto count = a.neurons > 0
                         ? a.neurons
                         : std::max<std::int64_t>(1, std::llround(a.ratio * importance.numel()));
  const auto selection = interp::top_neurons(importance, count, a.criterion);
  miner::save_selection(selection, a.out, a.model);
  const json counts = miner::layer_counts(selection);
  if (a.json) {
    std::printf("%s\n", json({{"criterion", a.criterion},
                              {"neurons", count},
                              {"tasks", o.tasks},
                              {"split", o.split},
                              {"samples", o.samples},
                              {"per_layer", counts[a.criterion]},
                              {"out", a.out}})
                            .dump(2)
                            .c_str());
    return 0;
  }
  std::printf("%s: the %lld neurons of highest %s over %s (%lld %s samples each)\n", a.out.c_str(),
              static_cast<long long>(count), a.criterion.c_str(), join(o.tasks, ", ").c_str(),
              static_cast<long long>(o.samples), o.split.c_str());
  std::printf("  per layer %s\n", counts[a.criterion].dump().c_str());
  return 0;
}

}  // namespace

void add_miner_command(Context& context) {
  auto* group = context.app.add_subcommand("miner", "Modality-specific neurons (MINER)");
  group->require_subcommand(1);

  auto* score = group->add_subcommand("score", "Stages 1-3 on one task (shardable)");
  auto sa = std::make_shared<ScoreArgs>();
  score->add_option("--model", sa->model, "Built-in model or directory")->default_val(sa->model);
  score->add_option("--task", sa->task, "Task name (built-in models)");
  score->add_option("--data", sa->data,
                    "JSONL dataset of your own (one {\"prompt\", \"image\", ...} per line)");
  score->add_option("--dtype", sa->dtype, "Compute dtype of a Hugging Face checkpoint")
      ->default_val(sa->dtype);
  score->add_option("--split", sa->split, "train, validation or test")->default_val(sa->split);
  score->add_option("--samples", sa->samples, "Samples to score")->default_val(sa->samples);
  score->add_option("--shard", sa->shard, "Shard i/n of the samples")->default_val(sa->shard);
  score->add_flag("--faithful", sa->faithful, "Reproduce the official code's attention scores");
  score->add_option("--out", sa->out, "Score file (.safetensors)")->required();
  score->callback([&context, sa] {
    context.action = [&context, sa] { return run_score(context.global, *sa); };
  });

  auto* merge = group->add_subcommand("merge", "Merge score shards of one dataset");
  auto inputs = std::make_shared<std::vector<std::string>>();
  auto merge_out = std::make_shared<std::string>();
  merge->add_option("FILES", *inputs, "Score files")->required();
  merge->add_option("--out", *merge_out, "Merged score file")->required();
  merge->callback([&context, inputs, merge_out] {
    context.action = [&context, inputs, merge_out] {
      start_runtime(context.global);
      return run_merge(*inputs, *merge_out);
    };
  });

  auto* select = group->add_subcommand("select", "Stage 4: select neurons from score files");
  auto se = std::make_shared<SelectArgs>();
  select->add_option("--scores", se->scores, "Score files (one per dataset)")->required();
  select->add_option("--strategy", se->strategy, "LA_MU, adaptive, LU_MA, uniform, random")
      ->default_val(se->strategy);
  select->add_option("--ratio", se->ratio, "Fraction of neurons")->default_val(se->ratio);
  select->add_option("--split", se->split, "default, special_text or prompt")
      ->default_val(se->split);
  select->add_option("--weights", se->weights, "prob,mean,max,attn_k,attn_q")
      ->default_val(se->weights);
  select->add_option("--out", se->out, "Selection file (.safetensors)");
  select->add_flag("--json", se->json, "Print one JSON document");
  select->callback([&context, se] {
    context.action = [&context, se] { return run_select(context.global, *se); };
  });

  auto* report = group->add_subcommand(
      "report", "Write RUN_DIR/report/report.html and report.md with figures");
  auto report_dir = std::make_shared<std::string>();
  report->add_option("RUN_DIR", *report_dir, "A miner run directory")->required();
  report->callback([&context, report_dir] {
    context.action = [&context, report_dir] {
      start_runtime(context.global);
      const auto md = miner::write_report(*report_dir);
      std::printf("report: %s\n        %s\n", (md.parent_path() / "report.html").c_str(),
                  md.c_str());
      return 0;
    };
  });

  auto* neurons = group->add_subcommand(
      "neurons", "List a run's (or a selection file's) neurons with their modalities and scores");
  struct NeuronsArgs {
    std::string run;
    std::string modality;
    std::int64_t top = 0;
    bool json = false;
  };
  auto na = std::make_shared<NeuronsArgs>();
  neurons->add_option("RUN", na->run, "A miner run folder or a selection file")->required();
  neurons->add_option("--modality", na->modality, "Only the neurons this modality chose");
  neurons->add_option("--top", na->top, "Only the N highest-scoring (with --modality; 0: all)")
      ->check(CLI::NonNegativeNumber);
  neurons->add_flag("--json", na->json, "Print one JSON document");
  neurons->callback([&context, na] {
    context.action = [&context, na] {
      start_runtime(context.global);
      auto listing = miner::run_neurons(na->run);
      if (!na->modality.empty()) {
        const auto& per = listing["per_modality"];
        std::vector<std::string> names;
        for (const auto& [k, v] : per.items()) names.push_back(k);
        CS_CHECK_AS(UnknownNameError, per.contains(na->modality), "the selection has no modality '",
                    na->modality, "' (it has ", join(names, ", "), ")",
                    did_you_mean(na->modality, names));
        json kept = json::array();
        for (const auto& n : listing["neurons"]) {
          const auto& by = n["modalities"];
          if (std::find(by.begin(), by.end(), na->modality) != by.end()) kept.push_back(n);
        }
        if (!kept.empty() && kept[0].contains("scores")) {
          std::stable_sort(kept.begin(), kept.end(), [&](const json& a, const json& b) {
            return a["scores"][na->modality].get<double>() >
                   b["scores"][na->modality].get<double>();
          });
        }
        if (na->top > 0 && static_cast<std::int64_t>(kept.size()) > na->top) {
          kept.erase(kept.begin() + na->top, kept.end());
        }
        listing["neurons"] = kept;
      } else {
        CS_CHECK_AS(ConfigError, na->top == 0, "--top needs --modality (whose score ranks them)");
      }
      if (na->json) {
        std::printf("%s\n", listing.dump(2).c_str());
        return 0;
      }
      const auto layers = listing["layers"].get<std::int64_t>();
      const auto width = listing["neurons_per_layer"].get<std::int64_t>();
      std::printf(
          "%s: %s %.1f%% of %lld x %lld = %lld neurons asked; %lld distinct neurons "
          "chosen, %lld of them by two or more modalities\n",
          listing["selection"].get<std::string>().c_str(),
          listing["strategy"].get<std::string>().c_str(), 100.0 * listing["ratio"].get<double>(),
          static_cast<long long>(layers), static_cast<long long>(width),
          static_cast<long long>(listing["slots"].get<std::int64_t>()),
          static_cast<long long>(listing["distinct"].get<std::int64_t>()),
          static_cast<long long>(listing["shared"].get<std::int64_t>()));
      std::string counts;
      for (const auto& [k, v] : listing["per_modality"].items()) {
        counts += (counts.empty() ? "" : ", ") + k + " " + std::to_string(v.get<std::int64_t>());
      }
      std::printf("per modality: %s\n\n", counts.c_str());
      std::vector<std::string> score_columns;
      if (!listing["neurons"].empty() && listing["neurons"][0].contains("scores")) {
        for (const auto& [k, v] : listing["neurons"][0]["scores"].items())
          score_columns.push_back(k);
      }
      std::printf("%-28s %-24s", "neuron", "chosen by");
      for (const auto& c : score_columns) std::printf(" %9s", c.c_str());
      std::printf("\n");
      for (const auto& n : listing["neurons"]) {
        std::vector<std::string> by;
        for (const auto& m : n["modalities"]) by.push_back(m.get<std::string>());
        std::printf("%-28s %-24s", n["name"].get<std::string>().c_str(), join(by, ",").c_str());
        for (const auto& c : score_columns) std::printf(" %9.4f", n["scores"][c].get<double>());
        std::printf("\n");
      }
      if (score_columns.empty()) {
        std::printf("\n(no scores: pass a miner run folder with scores/ to see them)\n");
      }
      return 0;
    };
  });

  auto* eval = group->add_subcommand(
      "eval", "Evaluate the tasks with a saved selection's neurons ablated, against random ones");
  auto ea = std::make_shared<EvalArgs>();
  auto eo = std::make_shared<miner::SelectionEvalOptions>();
  eo->progress = true;
  eval->add_option("--model", ea->model, "Built-in model or directory")->default_val(ea->model);
  eval->add_option("--selection", ea->selection, "Selection file (miner select / miner run)")
      ->required();
  eval->add_option("--tasks", eo->tasks, "Tasks (default: the model's preset tasks)")
      ->delimiter(',');
  eval->add_option("--split", eo->split, "test or validation")->default_val(eo->split);
  eval->add_option("--samples", eo->samples, "Samples per task")->default_val(eo->samples);
  eval->add_option("--modalities", eo->modalities,
                   "Only these modalities' neurons (default: the whole selection)")
      ->delimiter(',');
  eval->add_flag("--complementary", eo->complementary,
                 "Ablate every neuron except the chosen ones");
  eval->add_option("--positions", eo->positions,
                   "Ablate only at these token modalities' prompt positions (text, special, "
                   "image, video, audio; default: every position, generated tokens included)")
      ->delimiter(',');
  eval->add_option("--value", eo->value, "zero, min or mean")->default_val(eo->value);
  eval->add_option("--random-seeds", eo->random_seeds, "Random selections of the same size")
      ->default_val(eo->random_seeds);
  eval->add_option("--batch", eo->batch_size, "Samples per generation batch")
      ->default_val(eo->batch_size)
      ->check(CLI::Range(1, 4096));
  eval->add_flag("--json", ea->json, "Print one JSON document");
  eval->callback([&context, ea, eo] {
    context.action = [&context, ea, eo] { return run_eval(context.global, *ea, *eo); };
  });

  auto* baseline = group->add_subcommand(
      "baseline",
      "Select the neurons of highest activation magnitude or attribution (MINER's controls)");
  auto ba = std::make_shared<BaselineArgs>();
  auto bo = std::make_shared<interp::NeuronImportanceOptions>();
  bo->progress = true;
  baseline->add_option("--model", ba->model, "Built-in model or directory")->default_val(ba->model);
  baseline
      ->add_option("--by", ba->criterion,
                   "magnitude (mean |activation|) or attribution (|activation x gradient| "
                   "of the answer's log-probability)")
      ->default_val(ba->criterion);
  baseline->add_option("--tasks", bo->tasks, "Tasks (default: the model's preset tasks)")
      ->delimiter(',');
  baseline->add_option("--split", bo->split, "train, validation or test")->default_val(bo->split);
  baseline->add_option("--samples", bo->samples, "Samples per task")->default_val(bo->samples);
  baseline->add_option("--ratio", ba->ratio, "Fraction of all MLP neurons")->default_val(ba->ratio);
  baseline->add_option("--neurons", ba->neurons,
                       "Number of neurons (overrides --ratio; e.g. a MINER selection's size)");
  baseline->add_option("--batch", bo->batch_size, "Samples per forward pass")
      ->default_val(bo->batch_size)
      ->check(CLI::Range(1, 4096));
  baseline->add_option("--out", ba->out, "Selection file (.safetensors)")->required();
  baseline->add_flag("--json", ba->json, "Print one JSON document");
  baseline->callback([&context, ba, bo] {
    context.action = [&context, ba, bo] { return run_baseline(context.global, *ba, *bo); };
  });

  auto* run = group->add_subcommand("run", "Score, select and run the deactivation study");
  auto ra = std::make_shared<RunArgs>();
  run->add_option("--model", ra->model, "Built-in model or directory")->default_val(ra->model);
  run->add_option("--out", ra->out, "Run directory (default runs/<date>-miner-<preset>)");
  run->add_option("--score-samples", ra->score_samples, "Samples scored per task")
      ->default_val(ra->score_samples);
  run->add_option("--eval-samples", ra->eval_samples, "Test samples evaluated per task")
      ->default_val(ra->eval_samples);
  run->add_option("--random-seeds", ra->random_seeds, "Random-control repetitions")
      ->default_val(ra->random_seeds);
  run->add_option("--ratio", ra->ratio, "Fraction of neurons")->default_val(ra->ratio);
  run->add_flag("--faithful", ra->faithful, "Reproduce the official code's attention scores");
  run->add_flag("--ablation", ra->ablation, "Also run the strategy x metric-weight ablation");
  run->add_option("--ablation-samples", ra->ablation_samples, "Test samples per task in ablations")
      ->default_val(ra->ablation_samples);
  run->add_flag("--findings", ra->findings,
                "Also measure MINER's open findings (explain findings) into findings/");
  run->add_option("--split", ra->split,
                  "Modalities competing in selection: default, special_text or prompt")
      ->default_val(ra->split);
  run->add_flag("--complementary", ra->complementary,
                "Deactivate every neuron except the selected ones");
  run->add_flag("--json", ra->json, "Print the study's summary as one JSON document");
  run->callback([&context, ra] {
    context.action = [&context, ra] { return run_pipeline(context.global, *ra); };
  });
}

}  // namespace clearsight::cli
