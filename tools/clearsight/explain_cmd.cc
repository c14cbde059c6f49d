// `clearsight explain METHOD`: the survey's reading toolbox (attribution, perturbation,
// attention, knockout, lenses, probes, geometry). Each subcommand parses its options, calls the
// library's study function (which writes the run directory) and prints a summary or the JSON.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <memory>

#include "clearsight/core/error.h"
#include "clearsight/core/strings.h"
#include "clearsight/interp/attribution.h"
#include "clearsight/interp/methods.h"
#include "clearsight/interp/perturbation.h"
#include "clearsight/interp/report.h"
#include "clearsight/mm/trainer.h"
#include "commands.h"
#include "explain_cmd.h"

namespace clearsight::cli {

ExplainRun::ExplainRun(const GlobalOptions& global, const ExplainArgs& args) {
  start_runtime(global);
  loaded = mm::load_model_with_tokenizer(args.model);
  torch::NoGradGuard no_grad;
}

interp::ModelRef ExplainRun::ref(const ExplainArgs& args) {
  return {*loaded.model, loaded.tokenizer, args.model};
}

interp::SampleSelection selection_of(const ExplainArgs& a) {
  interp::SampleSelection s;
  s.task = a.task;
  s.split = a.split;
  s.first = a.sample >= 0 ? a.sample : a.first;
  s.count = a.sample >= 0 ? 1 : a.samples;
  s.batch_size = a.batch;
  return s;
}

interp::Target target_of(const ExplainArgs& a) {
  interp::Target t;
  const auto colon = a.target.find(':');
  t.kind = a.target.substr(0, colon);
  if (colon != std::string::npos) t.token = a.target.substr(colon + 1);
  if (t.kind == "token") {
    CS_CHECK_AS(ConfigError, !t.token.empty(), "--target token needs a word: token:WORD");
  }
  return t;
}

void add_common_options(CLI::App* cmd, ExplainArgs& a, bool with_samples) {
  cmd->add_option("--model", a.model, "Built-in model name or model folder")->default_val(a.model);
  cmd->add_option("--task", a.task, "Task of the samples (clearsight mm tasks)")
      ->default_val(a.task);
  cmd->add_option("--split", a.split, "train, validation or test")->default_val(a.split);
  if (with_samples) {
    cmd->add_option("--sample", a.sample, "One sample index (overrides --first/--samples)");
    cmd->add_option("--samples", a.samples, "Number of samples")->default_val(a.samples);
    cmd->add_option("--first", a.first, "First sample index")->default_val(a.first);
    cmd->add_option("--target", a.target,
                    "answer (teacher-forced answer tokens), first (first answer token) or "
                    "token:WORD")
        ->default_val(a.target);
  }
  cmd->add_option("--batch", a.batch, "Samples per forward pass (results do not depend on it)")
      ->default_val(a.batch)
      ->check(CLI::Range(1, 4096));
  cmd->add_option("--out", a.out, "Run directory (result.json, report.html, report.md)")
      ->required();
  cmd->add_flag("--json", a.json, "Print the result as one JSON document");
}

int print_result(const ExplainArgs& a, const nlohmann::json& result, const std::string& summary) {
  if (a.json) {
    std::printf("%s\n", result.dump(2).c_str());
  } else {
    std::printf("%s\nreport: %s/report.html\n", summary.c_str(), a.out.c_str());
  }
  return 0;
}

namespace {

void add_attribution(Context& context, CLI::App* group, const std::string& name,
                     const std::string& method) {
  auto* cmd = group->add_subcommand(name, interp::find_method(name).description);
  auto a = std::make_shared<ExplainArgs>();
  auto o = std::make_shared<interp::AttributionOptions>();
  o->method = method;
  add_common_options(cmd, *a, true);
  cmd->add_option("--steps", o->steps, "Interpolation points (ig)")->default_val(o->steps);
  cmd->add_option("--rule", o->rule,
                  "gauss-legendre, riemann-left, riemann-right, riemann-middle, riemann-trapezoid")
      ->default_val(o->rule);
  cmd->add_option("--image-baseline", o->baseline.image, "black, grey, blur or zero")
      ->default_val(o->baseline.image);
  cmd->add_option("--audio-baseline", o->baseline.audio, "silence or zero")
      ->default_val(o->baseline.audio);
  cmd->add_option("--text-baseline", o->baseline.text, "pad or zero")
      ->default_val(o->baseline.text);
  cmd->add_option("--modalities", o->modalities, "Attributed inputs (text,image,video,audio)")
      ->delimiter(',');
  cmd->add_option("--internal-batch", o->internal_batch, "Rows per forward pass")
      ->default_val(o->internal_batch);
  cmd->callback([&context, a, o] {
    context.action = [&context, a, o] {
      ExplainRun run(context.global, *a);
      o->progress = !a->json;
      const auto result = staged(*a, [&](const std::filesystem::path& dir) {
        return interp::run_attribution(run.ref(*a), selection_of(*a), target_of(*a), *o, dir);
      });
      std::string summary =
          o->method + " on " + std::to_string(result["samples"].size()) + " sample(s)";
      if (!result["completeness_error"].is_null()) {
        summary += "; largest completeness error " +
                   interp::format_number(result["completeness_error"].get<double>(), 3);
      }
      return print_result(*a, result, summary);
    };
  });
}

void add_occlusion(Context& context, CLI::App* group) {
  auto* cmd = group->add_subcommand("occlusion", interp::find_method("occlusion").description);
  auto a = std::make_shared<ExplainArgs>();
  auto o = std::make_shared<interp::OcclusionOptions>();
  add_common_options(cmd, *a, true);
  cmd->add_option("--modalities", o->modalities, "Occluded inputs (text,image,video,audio)")
      ->delimiter(',');
  cmd->add_option("--image-window", o->image_window, "Window side in patches")
      ->default_val(o->image_window);
  cmd->add_option("--image-stride", o->image_stride, "Stride in patches")
      ->default_val(o->image_stride);
  cmd->add_option("--video-window", o->video_window, "Window in frames")
      ->default_val(o->video_window);
  cmd->add_option("--audio-window", o->audio_window, "Window in log-mel frames")
      ->default_val(o->audio_window);
  cmd->add_option("--audio-stride", o->audio_stride, "Stride in log-mel frames")
      ->default_val(o->audio_stride);
  cmd->add_option("--text-window", o->text_window, "Window in question words")
      ->default_val(o->text_window);
  cmd->add_option("--image-fill", o->fill.image, "grey, black, blur or zero")
      ->default_val(o->fill.image);
  cmd->add_option("--audio-fill", o->fill.audio, "silence or zero")->default_val(o->fill.audio);
  cmd->add_option("--text-fill", o->fill.text, "pad or zero")->default_val(o->fill.text);
  cmd->callback([&context, a, o] {
    context.action = [&context, a, o] {
      ExplainRun run(context.global, *a);
      o->progress = !a->json;
      const auto result = staged(*a, [&](const std::filesystem::path& dir) {
        return interp::run_occlusion(run.ref(*a), selection_of(*a), target_of(*a), *o, dir);
      });
      return print_result(
          *a, result, "occlusion on " + std::to_string(result["samples"].size()) + " sample(s)");
    };
  });
}

void add_ablation(Context& context, CLI::App* group) {
  auto* cmd = group->add_subcommand("ablation", interp::find_method("ablation").description);
  auto a = std::make_shared<ExplainArgs>();
  auto groups = std::make_shared<std::vector<std::string>>();
  auto baseline =
      std::make_shared<interp::BaselineOptions>(interp::BaselineOptions{"grey", "silence", "pad"});
  add_common_options(cmd, *a, true);
  cmd->add_option("--groups", *groups,
                  "Position groups to ablate, e.g. image,question,system (default: the media "
                  "present, question, system)")
      ->delimiter(',');
  cmd->add_option("--image-fill", baseline->image, "grey, black, blur or zero")
      ->default_val(baseline->image);
  cmd->add_option("--audio-fill", baseline->audio, "silence or zero")->default_val(baseline->audio);
  cmd->add_option("--text-fill", baseline->text, "pad or zero")->default_val(baseline->text);
  cmd->callback([&context, a, groups, baseline] {
    context.action = [&context, a, groups, baseline] {
      ExplainRun run(context.global, *a);
      auto chosen = *groups;
      if (chosen.empty()) {
        const auto task = mm::make_task(a->task);
        chosen = task->modalities();
        chosen.push_back("question");
        chosen.push_back("system");
      }
      const auto result = staged(*a, [&](const std::filesystem::path& dir) {
        return interp::run_ablation(run.ref(*a), selection_of(*a), target_of(*a), chosen, *baseline,
                                    dir);
      });
      std::string summary = "mean drop of the target:";
      for (std::size_t k = 0; k < chosen.size(); ++k) {
        summary +=
            " " + chosen[k] + " " + interp::format_number(result["mean_drops"][k].get<double>(), 3);
      }
      return print_result(*a, result, summary);
    };
  });
}

void add_shapley(Context& context, CLI::App* group) {
  auto* cmd = group->add_subcommand("shapley", interp::find_method("shapley").description);
  auto a = std::make_shared<ExplainArgs>();
  a->samples = 20;
  auto o = std::make_shared<interp::ShapleyOptions>();
  add_common_options(cmd, *a, true);
  cmd->add_option("--players", o->players, "Players (question,system,image,video,audio)")
      ->delimiter(',');
  cmd->add_option("--value", o->value, "prob or logprob of the answer")->default_val(o->value);
  cmd->add_option("--image-fill", o->baseline.image, "grey, black, blur or zero")
      ->default_val(o->baseline.image);
  cmd->add_option("--audio-fill", o->baseline.audio, "silence or zero")
      ->default_val(o->baseline.audio);
  cmd->add_option("--text-fill", o->baseline.text, "pad or zero")->default_val(o->baseline.text);
  cmd->callback([&context, a, o] {
    context.action = [&context, a, o] {
      ExplainRun run(context.global, *a);
      const auto result = staged(*a, [&](const std::filesystem::path& dir) {
        return interp::run_shapley(run.ref(*a), selection_of(*a), target_of(*a), *o, dir);
      });
      std::string summary = "Shapley values (" + o->value + ") over " +
                            std::to_string(result["count"].get<int>()) + " samples: full " +
                            interp::format_number(result["full"].get<double>(), 3) + ", empty " +
                            interp::format_number(result["empty"].get<double>(), 3) + ";";
      for (const auto& [player, v] : result["values"].items()) {
        summary += " " + player + " " + interp::format_number(v.get<double>(), 3);
      }
      return print_result(*a, result, summary);
    };
  });
}

}  // namespace

void add_explain_command(Context& context) {
  std::string help = "Explain a model's answers (the survey's toolbox). Methods:";
  for (const auto& m : interp::explain_methods()) {
    help += "\n  " + m.name + std::string(18 - std::min<std::size_t>(17, m.name.size()), ' ') +
            "[" + m.level + "] " + m.description;
  }
  auto* group = context.app.add_subcommand("explain", help);
  group->require_subcommand(0, 1);
  group->allow_extras();
  add_attribution(context, group, "saliency", "saliency");
  add_attribution(context, group, "input-x-gradient", "input_x_gradient");
  add_attribution(context, group, "ig", "ig");
  add_occlusion(context, group);
  add_ablation(context, group);
  add_shapley(context, group);
  add_explain_layer_commands(context, group);
  add_explain_intervention_commands(context, group);
  group->callback([&context, group] {
    if (!group->get_subcommands().empty()) return;
    const auto extras = group->remaining();
    context.action = [extras] {
      if (!extras.empty()) interp::find_method(extras.front());
      CS_THROW(ConfigError, "explain needs a method; see clearsight explain --help");
      return 1;
    };
  });
}

}  // namespace clearsight::cli
