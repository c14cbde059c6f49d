// `clearsight explain patch`: the interventions of the survey's toolbox (the causal half).
// Parsing and printing only; the studies live in interp.
#include <memory>

#include "clearsight/core/error.h"
#include "clearsight/core/strings.h"
#include "clearsight/interp/methods.h"
#include "clearsight/interp/patching.h"
#include "clearsight/interp/report.h"
#include "clearsight/interp/steering.h"
#include "explain_cmd.h"

namespace clearsight::cli {
namespace {

using interp::format_number;

void add_patch(Context& context, CLI::App* group) {
  auto* cmd = group->add_subcommand("patch", interp::find_method("patch").description);
  auto a = std::make_shared<ExplainArgs>();
  a->target = "first";
  auto o = std::make_shared<interp::PatchOptions>();
  add_common_options(cmd, *a, true);
  cmd->add_option("--corrupt", o->corrupt,
                  "Corruption: blank (grey images, silent audio), other (another sample's media), "
                  "shuffle (audio frames permuted), swap (the question's words reversed)")
      ->default_val(o->corrupt);
  cmd->add_option("--components", o->components,
                  "Patched components: resid_pre, resid_post, attn_out, mlp_out, heads; the first "
                  "position component is printed as `grid`")
      ->delimiter(',')
      ->default_str(join(o->components, ","));
  cmd->add_option("--metric", o->metric, "logit_diff, prob or logprob")->default_val(o->metric);
  cmd->add_option("--rows", o->rows, "Patched runs per forward pass (results do not depend on it)")
      ->default_val(o->rows)
      ->check(CLI::Range(1, 65536));
  cmd->add_flag_callback(
      "--no-attribution", [o] { o->attribution = false; },
      "Skip attribution patching (the gradient estimate)");
  cmd->add_flag_callback(
      "--no-progress", [o] { o->progress = false; }, "Do not draw the progress bar");
  cmd->callback([&context, a, o] {
    context.action = [&context, a, o] {
      ExplainRun run(context.global, *a);
      o->target = target_of(*a);
      const auto result = staged(*a, [&](const std::filesystem::path& dir) {
        return interp::run_patching(run.ref(*a), selection_of(*a), *o, dir);
      });
      std::string summary = "activation patching (" + o->corrupt + ", " + o->metric + ") of " +
                            std::to_string(result["samples"].size()) + " sample(s):";
      for (const auto& c : o->components) {
        const auto& entry = result["components"][c];
        summary += "\n  " + c;
        if (entry.contains("groups")) {
          // The strongest group per component: where the clean answer comes back.
          std::string best;
          double best_value = -1e300;
          for (const auto& [g, values] : entry["groups"].items()) {
            if (g == "prompt" || g == "answer") continue;
            for (const auto& v : values) {
              if (v.is_number() && v.get<double>() > best_value) {
                best_value = v.get<double>();
                best = g;
              }
            }
          }
          if (!best.empty()) {
            summary +=
                ": largest effect at " + best + " positions (" + format_number(best_value, 3) + ")";
          }
        }
        if (entry.contains("attribution_correlation") &&
            entry["attribution_correlation"].is_number()) {
          summary += ", attribution r = " +
                     format_number(entry["attribution_correlation"].get<double>(), 3);
        }
      }
      return print_result(*a, result, summary);
    };
  });
}

void add_steer(Context& context, CLI::App* group) {
  auto* cmd = group->add_subcommand("steer", interp::find_method("steer").description);
  auto a = std::make_shared<ExplainArgs>();
  auto o = std::make_shared<interp::SteeringOptions>();
  cmd->add_option("--model", a->model, "Built-in model name or model folder")
      ->default_val(a->model);
  cmd->add_option("--task", o->task, "Task of the pairs (train) and the evaluation (test)")
      ->default_val(o->task);
  cmd->add_option("--positive", o->positive, "Positive prompts: answer=WORD, type=NAME, word=WORD")
      ->default_val(o->positive);
  cmd->add_option("--negative", o->negative, "Negative prompts (same forms)")
      ->default_val(o->negative);
  cmd->add_option("--pairs", o->pairs, "Pairs the vectors are made from")->default_val(o->pairs);
  cmd->add_option("--vector", o->method, "mean (difference of means) or pca (first component)")
      ->default_val(o->method);
  cmd->add_option("--layers", o->layers, "Layers steered (default 1)")->delimiter(',');
  cmd->add_option("--scales", o->scales, "Scales evaluated (0 is always added)")->delimiter(',');
  cmd->add_option("--eval-samples", o->eval_samples, "Test samples per scale")
      ->default_val(o->eval_samples);
  cmd->add_option("--out", a->out, "Run directory")->required();
  cmd->add_flag("--json", a->json, "Print the result as one JSON document");
  cmd->add_flag_callback(
      "--no-progress", [o] { o->progress = false; }, "Do not draw the progress bar");
  cmd->callback([&context, a, o] {
    context.action = [&context, a, o] {
      ExplainRun run(context.global, *a);
      const auto result = staged(*a, [&](const std::filesystem::path& dir) {
        return interp::run_steering(run.ref(*a), *o, dir);
      });
      std::string summary = "steering " + o->positive + " vs " + o->negative + " (" + o->method +
                            ", " + std::to_string(result["pairs"].get<std::int64_t>()) + " pairs):";
      for (const auto& s : result["scales"]) {
        summary += "\n  scale " + format_number(s["scale"].get<double>(), 3) + ": score " +
                   format_number(s["score"].get<double>(), 3);
        if (s["positive_rate"].is_number()) {
          summary += ", positive answers " + format_number(s["positive_rate"].get<double>(), 3);
        }
      }
      return print_result(*a, result, summary);
    };
  });
}

}  // namespace

void add_explain_intervention_commands(Context& context, CLI::App* group) {
  add_patch(context, group);
  add_steer(context, group);
}

}  // namespace clearsight::cli
