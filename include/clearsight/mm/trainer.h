// Training and evaluation of the built-in multimodal models on the synthetic task suite, with
// periodic evaluation, atomic checkpoints (model and optimiser) and exact resumption.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "clearsight/core/config.h"
#include "clearsight/mm/model.h"
#include "clearsight/mm/tasks.h"

namespace clearsight::mm {

/// Settings of `clearsight mm train`.
struct TrainConfig {
  std::string preset = "cs-tiny-vl";
  /// Tasks to train on (empty: the preset's tasks).
  std::vector<std::string> tasks;
  std::int64_t steps = 4000;
  std::int64_t batch_size = 24;
  double lr = 2e-3;
  double min_lr = 1e-4;
  std::int64_t warmup_steps = 100;
  double weight_decay = 0.01;
  double grad_clip = 1.0;
  std::int64_t eval_every = 500;
  std::int64_t eval_samples = 64;
  std::int64_t checkpoint_every = 250;
  std::uint64_t seed = 0;
  /// Seed of the task suite (which samples exist).
  std::uint64_t data_seed = 0;
  /// Stop this invocation after this many steps (0: run to the end), checkpointing first, as if
  /// killed; rerunning continues. Not recorded in the run's config.
  std::int64_t stop_after = 0;
  /// Steps of the text-only stage that runs before the multimodal mix (0 = none), like an LLM's
  /// language pre-training before multimodal alignment (ADR 0008).
  std::int64_t text_steps = 5000;
  /// Tasks of the text stage (duplicates raise a task's share).
  std::vector<std::string> text_tasks{"text_choice", "text_choice", "text_answer", "text_locate"};
  /// Samples per step in the text stage.
  std::int64_t text_batch_size = 96;
  /// Peak learning rate of the text stage (its own warm-up and cosine decay to min_lr).
  double text_lr = 1e-3;

  /// Visits the fields.
  template <typename V>
  void visit(V& v) {
    v("preset", preset, "model preset (cs-tiny-vl, cs-tiny-audio)");
    v("tasks", tasks, "tasks to train on (default: the preset's)");
    v("steps", steps, "optimiser steps");
    v("batch_size", batch_size, "samples per step (tasks round-robin)");
    v("lr", lr, "peak AdamW learning rate");
    v("min_lr", min_lr, "final learning rate of the cosine decay");
    v("warmup_steps", warmup_steps, "linear warm-up steps");
    v("weight_decay", weight_decay, "AdamW weight decay");
    v("grad_clip", grad_clip, "global gradient-norm clip");
    v("eval_every", eval_every, "steps between validation evaluations");
    v("eval_samples", eval_samples, "validation samples per task per evaluation");
    v("checkpoint_every", checkpoint_every, "steps between checkpoints");
    v("seed", seed, "seed of initialisation and data order");
    v("data_seed", data_seed, "seed of the task suite");
    v("stop_after", stop_after, "stop this invocation after N steps (0 = run to the end)");
    v("text_steps", text_steps, "steps of the text-only stage before the mix (0 = none)");
    v("text_tasks", text_tasks, "tasks of the text-only stage");
    v("text_batch_size", text_batch_size, "samples per step in the text-only stage");
    v("text_lr", text_lr, "peak learning rate of the text-only stage");
  }
  /// Steps of both stages.
  std::int64_t total_steps() const { return text_steps + steps; }
  /// Throws ConfigError on bad values.
  void validate() const;
};

/// The tasks a preset is trained and evaluated on.
std::vector<std::string> preset_tasks(const std::string& preset);

/// A tokenizer covering every word of the given tasks.
Tokenizer tokenizer_for_tasks(const std::vector<std::string>& tasks, std::uint64_t data_seed);

/// One task's evaluation.
struct EvalResult {
  std::string task;
  std::string metric;
  double score = 0.0;
  double chance = 0.0;
  std::int64_t samples = 0;
  std::vector<std::string> predictions;
  std::vector<std::string> answers;
};

/// Evaluation settings.
struct EvalOptions {
  Split split = Split::kTest;
  std::int64_t samples = 200;
  std::int64_t batch_size = 32;
  int max_new_tokens = 12;
  /// Replace media with grey images / silence (the media-blind baseline).
  bool blank_media = false;
  /// Show a progress bar.
  bool progress = false;
  /// Called with each batch's prompt ids just before they are generated from (e.g. to set the
  /// positions an ablation applies to; generate() left-pads them to the longest).
  std::function<void(const std::vector<std::vector<std::int64_t>>& prompts)> before_generate;
};

/// Generates answers for the first options.samples samples of a split and scores them.
EvalResult evaluate(MultimodalModel& model, const Tokenizer& tokenizer, const Task& task,
                    const EvalOptions& options);

/// Trains (or resumes, when run_dir holds a checkpoint) and writes the final model to
/// run_dir/model. Returns the final validation results (empty when stopped early by stop_after).
std::vector<EvalResult> train(const TrainConfig& config, const std::filesystem::path& run_dir);

/// A built-in model loaded with its tokenizer.
struct LoadedModel {
  std::shared_ptr<MultimodalModel> model;
  Tokenizer tokenizer;
};

/// Loads a model directory (config.json, model.safetensors, vocab.txt) or a built-in model name
/// found under assets/models/.
LoadedModel load_model_with_tokenizer(const std::string& name_or_dir);

}  // namespace clearsight::mm
