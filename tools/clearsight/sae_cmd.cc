// `clearsight sae train|eval`: sparse autoencoders on any hook (SAELens folders in and out).
// Parsing and printing only; training and evaluation live in interp/sae.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <memory>

#include "clearsight/core/atomic_file.h"
#include "clearsight/core/error.h"
#include "clearsight/interp/report.h"
#include "clearsight/interp/sae.h"
#include "clearsight/mm/trainer.h"
#include "commands.h"

namespace clearsight::cli {
namespace {

using interp::format_number;

struct SaeArgs {
  std::string model = "cs-tiny-vl";
  std::string out;
  std::string sae;
  std::int64_t eval_samples = 32;
  bool json = false;
};

std::string summary_of(const nlohmann::json& r) {
  std::string s = "explained variance " + format_number(r["explained_variance"].get<double>(), 3) +
                  ", L0 " + format_number(r["l0"].get<double>(), 3) + ", dead " +
                  format_number(r["dead_fraction"].get<double>() * 100, 3) + "%, loss clean " +
                  format_number(r["loss"]["clean"].get<double>(), 3) + " / spliced " +
                  format_number(r["loss"]["spliced"].get<double>(), 3) + " / zero-ablated " +
                  format_number(r["loss"]["zero_ablation"].get<double>(), 3);
  return s;
}

void add_train(Context& context, CLI::App* group) {
  auto* cmd = group->add_subcommand(
      "train", "Train a ReLU or TopK SAE on a hook's activations streamed from a task");
  auto a = std::make_shared<SaeArgs>();
  auto o = std::make_shared<interp::SaeTrainOptions>();
  cmd->add_option("--model", a->model, "Built-in model name or model folder")
      ->default_val(a->model);
  cmd->add_option("--task", o->task, "Task whose train samples are streamed")->default_val(o->task);
  cmd->add_option("--hook", o->hook, "Hook read (blocks.1.hook_resid_post, blocks.2.mlp.hook_post)")
      ->default_val(o->hook);
  cmd->add_option("--features", o->features, "Dictionary size")
      ->default_val(o->features)
      ->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--architecture", o->architecture, "standard (ReLU + L1) or topk")
      ->default_val(o->architecture);
  cmd->add_option("--k", o->k, "Active features per token (topk)")->default_val(o->k);
  cmd->add_option("--steps", o->steps, "Optimiser steps")
      ->default_val(o->steps)
      ->check(CLI::Range(1, 100000000));
  cmd->add_option("--batch-tokens", o->batch_tokens, "Tokens per step")
      ->default_val(o->batch_tokens)
      ->check(CLI::Range(1, 1 << 24));
  cmd->add_option("--buffer-tokens", o->buffer_tokens, "Tokens in the shuffling buffer")
      ->default_val(o->buffer_tokens);
  cmd->add_option("--lr", o->lr, "Adam learning rate")->default_val(o->lr);
  cmd->add_option("--l1", o->l1_coefficient, "L1 coefficient (standard)")
      ->default_val(o->l1_coefficient);
  cmd->add_option("--batch", o->batch_size, "Samples per model forward pass while streaming")
      ->default_val(o->batch_size)
      ->check(CLI::Range(1, 4096));
  cmd->add_option("--eval-samples", o->eval_samples, "Validation samples evaluated")
      ->default_val(o->eval_samples);
  cmd->add_option("--dashboards", o->dashboards, "Features with a dashboard in the report")
      ->default_val(o->dashboards);
  cmd->add_option("--out", a->out, "SAE folder (cfg.json, sae_weights.safetensors, report)")
      ->required();
  cmd->add_flag("--json", a->json, "Print the result as one JSON document");
  cmd->add_flag_callback(
      "--no-progress", [o] { o->progress = false; }, "Do not draw the progress bar");
  cmd->callback([&context, a, o] {
    context.action = [&context, a, o] {
      start_runtime(context.global);
      o->seed = context.global.runtime.seed;
      auto loaded = mm::load_model_with_tokenizer(a->model);
      StagedDirectory dir(a->out);
      const auto result =
          interp::train_sae({*loaded.model, loaded.tokenizer, a->model}, *o, dir.staging());
      dir.commit();
      if (a->json) {
        std::printf("%s\n", result.dump(2).c_str());
      } else {
        std::printf("SAE on %s, %lld features: %s\nreport: %s/report.html\n", o->hook.c_str(),
                    static_cast<long long>(o->features), summary_of(result).c_str(),
                    a->out.c_str());
      }
      return 0;
    };
  });
}

void add_eval(Context& context, CLI::App* group) {
  auto* cmd = group->add_subcommand(
      "eval", "Evaluate a SAELens folder (ours or a community SAE) on a task's validation split");
  auto a = std::make_shared<SaeArgs>();
  auto task = std::make_shared<std::string>("scene_vqa");
  cmd->add_option("--model", a->model, "Built-in model name or model folder")
      ->default_val(a->model);
  cmd->add_option("--sae", a->sae, "SAELens folder (cfg.json + sae_weights.safetensors)")
      ->required();
  cmd->add_option("--task", *task, "Task evaluated")->default_val(*task);
  cmd->add_option("--eval-samples", a->eval_samples, "Validation samples evaluated")
      ->default_val(a->eval_samples);
  auto any_model = std::make_shared<bool>(false);
  cmd->add_flag("--any-model", *any_model,
                "Use an SAE whose cfg.json names another model (the widths must still match)");
  cmd->add_flag("--json", a->json, "Print the result as one JSON document");
  cmd->callback([&context, a, task, any_model] {
    context.action = [&context, a, task, any_model] {
      start_runtime(context.global);
      const auto sae = interp::load_saelens(a->sae);
      if (!*any_model) interp::check_sae_model(sae, a->model);
      auto loaded = mm::load_model_with_tokenizer(a->model);
      const auto evaluation = interp::evaluate_sae({*loaded.model, loaded.tokenizer, a->model}, sae,
                                                   *task, a->eval_samples);
      auto result = interp::evaluation_json(evaluation);
      result["sae"] = a->sae;
      result["hook"] = sae.config.hook_name;
      result["features"] = sae.config.d_sae;
      result["architecture"] = sae.config.architecture;
      if (a->json) {
        std::printf("%s\n", result.dump(2).c_str());
      } else {
        std::printf("SAE %s on %s: %s\n", a->sae.c_str(), sae.config.hook_name.c_str(),
                    summary_of(result).c_str());
      }
      return 0;
    };
  });
}

}  // namespace

void add_sae_command(Context& context) {
  auto* group = context.app.add_subcommand("sae", "Sparse autoencoders (SAELens folders)");
  group->require_subcommand(1);
  add_train(context, group);
  add_eval(context, group);
}

}  // namespace clearsight::cli
