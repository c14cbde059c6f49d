// `clearsight explain attention|rollout|knockout|logit-lens|tuned-lens|probe|geometry|findings`:
// the layer- and embedding-level methods. Parsing and printing only; the studies live in interp.
#include <algorithm>
#include <memory>

#include "clearsight/core/error.h"
#include "clearsight/core/strings.h"
#include "clearsight/interp/attention.h"
#include "clearsight/interp/findings.h"
#include "clearsight/interp/geometry.h"
#include "clearsight/interp/knockout.h"
#include "clearsight/interp/lens.h"
#include "clearsight/interp/methods.h"
#include "clearsight/interp/probe.h"
#include "clearsight/interp/report.h"
#include "explain_cmd.h"

namespace clearsight::cli {
namespace {

using interp::format_number;

CLI::App* method_command(CLI::App* group, const std::string& name) {
  return group->add_subcommand(name, interp::find_method(name).description);
}

void add_attention(Context& context, CLI::App* group, const std::string& name) {
  auto* cmd = method_command(group, name);
  auto a = std::make_shared<ExplainArgs>();
  auto o = std::make_shared<interp::AttentionMapOptions>();
  add_common_options(cmd, *a, true);
  cmd->add_option("--groups", o->groups, "Position groups (image,question,last,...)")
      ->delimiter(',');
  cmd->add_option("--map-samples", o->map_samples, "Samples whose maps are drawn")
      ->default_val(o->map_samples);
  cmd->add_flag("--heads", o->report_heads, "Draw every head of the first sample");
  const bool rollout_only = name == "rollout";
  cmd->callback([&context, a, o, rollout_only] {
    context.action = [&context, a, o, rollout_only] {
      ExplainRun run(context.global, *a);
      o->rollout = true;
      const auto result = staged(*a, [&](const std::filesystem::path& dir) {
        return interp::run_attention(run.ref(*a), selection_of(*a), *o, dir);
      });
      return print_result(*a, result,
                          std::string(rollout_only ? "attention rollout" : "attention maps") +
                              " of " + std::to_string(a->sample >= 0 ? 1 : a->samples) +
                              " sample(s)");
    };
  });
}

void add_knockout(Context& context, CLI::App* group) {
  auto* cmd = method_command(group, "knockout");
  auto a = std::make_shared<ExplainArgs>();
  a->target = "first";
  auto o = std::make_shared<interp::KnockoutOptions>();
  add_common_options(cmd, *a, true);
  cmd->add_option("--edges", o->edge_sets,
                  "Edge sets SRC-TGT (queries in TGT cannot see keys in SRC), several joined by "
                  "'+' within a set, one curve per set (repeat --edges or separate sets with ','); "
                  "default: media-last, media-question, question-last")
      ->delimiter(',');
  cmd->add_option("--window", o->window, "Consecutive layers knocked out together")
      ->default_val(o->window);
  cmd->callback([&context, a, o] {
    context.action = [&context, a, o] {
      ExplainRun run(context.global, *a);
      o->target = target_of(*a);
      for (auto& set : o->edge_sets) std::replace(set.begin(), set.end(), '+', ',');
      const auto result = staged(*a, [&](const std::filesystem::path& dir) {
        return interp::run_knockout(run.ref(*a), selection_of(*a), *o, dir);
      });
      std::string summary = "knockout, window " + std::to_string(o->window) + ":";
      for (const auto& w : result["windows"]) {
        summary += "\n  " + w["edge_set"].get<std::string>() + " layers " + w["layers"].dump() +
                   ": delta " + format_number(w["delta"].get<double>(), 3);
      }
      return print_result(*a, result, summary);
    };
  });
}

void add_logit_lens(Context& context, CLI::App* group) {
  auto* cmd = method_command(group, "logit-lens");
  auto a = std::make_shared<ExplainArgs>();
  a->target = "first";
  auto o = std::make_shared<interp::LensOptions>();
  add_common_options(cmd, *a, true);
  cmd->add_option("--positions", o->positions, "Groups read (last, image, video, audio, ...)")
      ->delimiter(',');
  cmd->add_option("--top-k", o->top_k, "Decoded tokens per layer")->default_val(o->top_k);
  cmd->callback([&context, a, o] {
    context.action = [&context, a, o] {
      ExplainRun run(context.global, *a);
      o->target = target_of(*a);
      const auto result = staged(*a, [&](const std::filesystem::path& dir) {
        return interp::run_logit_lens(run.ref(*a), selection_of(*a), *o, dir);
      });
      std::string summary = "logit lens: mean KL to the final distribution per point:";
      const auto points = result["points"];
      for (std::size_t k = 0; k < points.size(); ++k) {
        summary += "\n  " + points[k].get<std::string>() + " " +
                   format_number(result["mean_kl"][k].get<double>(), 3);
      }
      return print_result(*a, result, summary);
    };
  });
}

void add_tuned_lens(Context& context, CLI::App* group) {
  auto* cmd = method_command(group, "tuned-lens");
  auto a = std::make_shared<ExplainArgs>();
  a->samples = 16;
  a->target = "first";
  auto o = std::make_shared<interp::TunedLensOptions>();
  add_common_options(cmd, *a, true);
  cmd->add_option("--train-split", o->train_split, "Split the translators train on")
      ->default_val(o->train_split);
  cmd->add_option("--train-samples", o->train_count, "Training samples")
      ->default_val(o->train_count);
  cmd->add_option("--steps", o->training.steps, "Adam steps")->default_val(o->training.steps);
  cmd->add_option("--lr", o->training.learning_rate, "Learning rate")
      ->default_val(o->training.learning_rate);
  cmd->add_option("--load", o->load, "Translators to load instead of training");
  cmd->callback([&context, a, o] {
    context.action = [&context, a, o] {
      ExplainRun run(context.global, *a);
      o->lens.target = target_of(*a);
      o->training.progress = !a->json;
      const auto result = staged(*a, [&](const std::filesystem::path& dir) {
        return interp::run_tuned_lens(run.ref(*a), selection_of(*a), *o, dir);
      });
      std::string summary = "held-out KL per point (logit lens -> tuned lens):";
      const auto points = result["points"];
      for (std::size_t k = 0; k < points.size(); ++k) {
        summary += "\n  " + points[k].get<std::string>() + " " +
                   format_number(result["kl"]["logit_lens"][k].get<double>(), 3) + " -> " +
                   format_number(result["kl"]["tuned_lens"][k].get<double>(), 3);
      }
      return print_result(*a, result, summary);
    };
  });
}

void add_probe(Context& context, CLI::App* group) {
  auto* cmd = method_command(group, "probe");
  auto a = std::make_shared<ExplainArgs>();
  auto o = std::make_shared<interp::ProbeOptions>();
  cmd->add_option("--model", a->model, "Built-in model name or model folder")
      ->default_val(a->model);
  cmd->add_option("--label", o->label, "modality or answer")->default_val(o->label);
  cmd->add_option("--tasks", o->tasks, "Tasks read (default: by label)")->delimiter(',');
  cmd->add_option("--question-type", o->question_type, "Only this question type (answer label)");
  cmd->add_option("--pool", o->pool, "answer label: last, or the mean over image/video/audio")
      ->default_val(o->pool);
  cmd->add_option("--hooks", o->hooks, "Hook points (default: hook_embed + each resid_post)")
      ->delimiter(',');
  cmd->add_option("--train-samples", o->train_samples, "Training samples per task")
      ->default_val(o->train_samples);
  cmd->add_option("--test-samples", o->test_samples, "Held-out samples per task")
      ->default_val(o->test_samples);
  cmd->add_option("--out", a->out, "Run directory")->required();
  cmd->add_flag("--json", a->json, "Print the result as one JSON document");
  cmd->callback([&context, a, o] {
    context.action = [&context, a, o] {
      ExplainRun run(context.global, *a);
      o->progress = !a->json;
      const auto result = staged(*a, [&](const std::filesystem::path& dir) {
        return interp::run_probe(run.ref(*a), *o, dir);
      });
      std::string summary = "probe (" + o->label + ") held-out accuracy / control per layer:";
      for (std::size_t k = 0; k < result["layers"].size(); ++k) {
        summary += "\n  " + result["layers"][k].get<std::string>() + " " +
                   format_number(result["accuracy"][k].get<double>(), 3) + " / " +
                   format_number(result["control_accuracy"][k].get<double>(), 3);
      }
      return print_result(*a, result, summary);
    };
  });
}

void add_geometry(Context& context, CLI::App* group) {
  auto* cmd = method_command(group, "geometry");
  auto a = std::make_shared<ExplainArgs>();
  auto o = std::make_shared<interp::GeometryOptions>();
  cmd->add_option("--model", a->model, "Built-in model name or model folder")
      ->default_val(a->model);
  cmd->add_option("--tasks", o->tasks, "Tasks read (default: every task of the model)")
      ->delimiter(',');
  cmd->add_option("--split", o->split, "Split read")->default_val(o->split);
  cmd->add_option("--samples", o->samples, "Samples per task")->default_val(o->samples);
  cmd->add_option("--k", o->k, "Neighbours for kNN purity")->default_val(o->k);
  cmd->add_option("--threshold", o->threshold, "Convergence: purity threshold")
      ->default_val(o->threshold);
  cmd->add_option("--out", a->out, "Run directory")->required();
  cmd->add_flag("--json", a->json, "Print the result as one JSON document");
  cmd->callback([&context, a, o] {
    context.action = [&context, a, o] {
      ExplainRun run(context.global, *a);
      o->progress = !a->json;
      const auto result = staged(*a, [&](const std::filesystem::path& dir) {
        return interp::run_geometry(run.ref(*a), *o, dir);
      });
      std::string summary = "kNN modality purity per layer (chance):";
      for (std::size_t k = 0; k < result["layers"].size(); ++k) {
        summary += "\n  " + result["layers"][k].get<std::string>() + " " +
                   format_number(result["knn_purity"][k].get<double>(), 3) + " (" +
                   format_number(result["chance_purity"][k].get<double>(), 3) + ")";
      }
      return print_result(*a, result, summary);
    };
  });
}

void add_findings(Context& context, CLI::App* group) {
  auto* cmd = method_command(group, "findings");
  auto a = std::make_shared<ExplainArgs>();
  auto o = std::make_shared<interp::FindingsOptions>();
  cmd->add_option("--model", a->model, "Built-in model name or model folder")
      ->default_val(a->model);
  cmd->add_option("--samples", o->samples, "Samples per task for geometry and probes")
      ->default_val(o->samples);
  cmd->add_option("--threshold", o->threshold,
                  "Convergence threshold (negative: halfway between chance and 1)")
      ->default_val(o->threshold);
  cmd->add_option("--selection", o->selection,
                  "MINER selection file (default: select here from --miner-samples samples)");
  cmd->add_option("--miner-samples", o->miner_samples, "Samples per task scored by MINER")
      ->default_val(o->miner_samples);
  cmd->add_option("--ratio", o->ratio, "MINER ratio when selecting here")->default_val(o->ratio);
  cmd->add_option("--knockout-samples", o->knockout_samples, "Samples of the knockout flow")
      ->default_val(o->knockout_samples);
  cmd->add_option("--random-seeds", o->random_seeds, "Random-neuron controls")
      ->default_val(o->random_seeds);
  cmd->add_option("--out", a->out, "Run directory")->required();
  cmd->add_flag("--json", a->json, "Print the result as one JSON document");
  cmd->callback([&context, a, o] {
    context.action = [&context, a, o] {
      ExplainRun run(context.global, *a);
      o->progress = !a->json;
      o->seed = context.global.runtime.seed;
      const auto result = staged(*a, [&](const std::filesystem::path& dir) {
        return interp::run_findings(run.ref(*a), *o, dir);
      });
      return print_result(*a, result, result["summary"].get<std::string>());
    };
  });
}

}  // namespace

void add_explain_layer_commands(Context& context, CLI::App* group) {
  add_attention(context, group, "attention");
  add_attention(context, group, "rollout");
  add_knockout(context, group);
  add_logit_lens(context, group);
  add_tuned_lens(context, group);
  add_probe(context, group);
  add_geometry(context, group);
  add_findings(context, group);
}

}  // namespace clearsight::cli
