#include "clearsight/mm/trainer.h"

#include <chrono>
#include <cmath>
#include <sstream>

#include "clearsight/core/atomic_file.h"
#include "clearsight/core/checkpoint.h"
#include "clearsight/core/error.h"
#include "clearsight/core/log.h"
#include "clearsight/core/paths.h"
#include "clearsight/core/progress.h"
#include "clearsight/core/rng.h"
#include "clearsight/core/run_dir.h"
#include "clearsight/core/strings.h"
#include "clearsight/mm/data.h"
#include "clearsight/mm/presets.h"
#include "clearsight/nn/module_io.h"

namespace clearsight::mm {

namespace fs = std::filesystem;

void TrainConfig::validate() const {
  CS_CHECK_AS(ConfigError, steps > 0 && batch_size > 0 && lr > 0 && min_lr >= 0 && min_lr <= lr,
              "train: steps, batch_size, lr must be positive and min_lr in [0, lr]");
  CS_CHECK_AS(ConfigError, eval_every > 0 && checkpoint_every > 0 && eval_samples > 0,
              "train: eval_every, checkpoint_every and eval_samples must be positive");
  preset_config(preset, 64);                 // Throws for unknown presets.
  for (const auto& t : tasks) make_task(t);  // Throws for unknown tasks.
}

std::vector<std::string> preset_tasks(const std::string& preset) {
  if (preset == "cs-tiny-vl") return {"scene_vqa", "scene_caption", "text_choice", "motion_qa"};
  if (preset == "cs-tiny-audio") return {"text_choice", "speech", "sound_event"};
  preset_config(preset, 64);  // Throws with the list of presets.
  return {};
}

Tokenizer tokenizer_for_tasks(const std::vector<std::string>& tasks, std::uint64_t data_seed) {
  std::vector<std::string> words;
  for (const auto& name : tasks) {
    const auto vocab = make_task(name, data_seed)->vocabulary();
    words.insert(words.end(), vocab.begin(), vocab.end());
  }
  return Tokenizer::from_words(words);
}

EvalResult evaluate(MultimodalModel& model, const Tokenizer& tokenizer, const Task& task,
                    const EvalOptions& options) {
  torch::NoGradGuard no_grad;
  const bool was_training = model.is_training();
  model.eval();
  EvalResult result;
  result.task = task.name();
  result.metric = task.metric();
  result.chance = task.chance_level();
  const auto n = std::min(options.samples, task.split_size(options.split));
  CS_CHECK_AS(ConfigError, n > 0, "evaluate: no samples in split ", split_name(options.split));
  std::vector<Sample> all;
  ProgressOptions progress;
  progress.disable = !options.progress;
  progress.unit = "samples";
  ProgressBar bar("eval " + task.name(), n, progress);
  for (std::int64_t start = 0; start < n; start += options.batch_size) {
    std::vector<Sample> samples;
    for (std::int64_t i = start; i < std::min(n, start + options.batch_size); ++i) {
      samples.push_back(task.sample(options.split, i));
    }
    const auto batch =
        collate(samples, tokenizer, model.media_tokens(), model.config().audio_config.max_samples,
                /*with_answers=*/false, options.blank_media);
    GenerateOptions gen;
    gen.max_new_tokens = options.max_new_tokens;
    const auto outputs = model.generate(batch.prompts, batch.inputs, gen, tokenizer.im_end_id());
    for (std::size_t i = 0; i < samples.size(); ++i) {
      result.predictions.push_back(tokenizer.decode(outputs[i]));
      result.answers.push_back(samples[i].answer);
      all.push_back(std::move(samples[i]));
    }
    bar.advance(static_cast<std::int64_t>(outputs.size()));
  }
  bar.finish();
  result.samples = n;
  result.score = task.corpus_score(result.predictions, all);
  if (was_training) model.train();
  return result;
}

namespace {

double learning_rate(const TrainConfig& c, std::int64_t step) {
  if (step < c.warmup_steps) return c.lr * static_cast<double>(step + 1) / c.warmup_steps;
  const double progress = static_cast<double>(step - c.warmup_steps) /
                          std::max<std::int64_t>(1, c.steps - c.warmup_steps);
  return c.min_lr + 0.5 * (c.lr - c.min_lr) * (1.0 + std::cos(M_PI * std::min(1.0, progress)));
}

void save_checkpoint(const fs::path& run, MultimodalModel& model,
                     torch::optim::Optimizer& optimizer, std::int64_t step) {
  write_checkpoint_dir(run, "checkpoint", [&](const fs::path& fresh) {
    save_model(model, fresh);
    nn::save_optimizer(optimizer, fresh / "optimizer.pt");
    atomic_write(fresh / "trainer_state.json", nlohmann::json({{"step", step}}).dump() + "\n");
  });
}

std::int64_t load_checkpoint(const fs::path& dir, MultimodalModel& model,
                             torch::optim::Optimizer& optimizer) {
  const auto loaded = load_model(dir);
  {
    torch::NoGradGuard no_grad;
    auto params = model.named_parameters();
    for (const auto& p : loaded->named_parameters()) params[p.key()].copy_(p.value());
  }
  nn::load_optimizer(optimizer, dir / "optimizer.pt");
  const auto state = nlohmann::json::parse(read_file(dir / "trainer_state.json"));
  return state.at("step").get<std::int64_t>();
}

nlohmann::json results_json(const std::vector<EvalResult>& results) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& r : results) {
    out[r.task] = {
        {"metric", r.metric}, {"score", r.score}, {"chance", r.chance}, {"samples", r.samples}};
  }
  return out;
}

}  // namespace

std::vector<EvalResult> train(const TrainConfig& requested, const fs::path& run_path) {
  const RunDir run = RunDir::at(run_path);
  TrainConfig config = requested;
  const fs::path resume_from = find_checkpoint_dir(run.path(), "checkpoint", "trainer_state.json");
  if (!resume_from.empty()) {
    // A resumed run keeps its recorded settings; only the step budget may grow.
    config = config::from_json<TrainConfig>(run.read_config()["train"], "train");
    config.steps = std::max(config.steps, requested.steps);
  }
  config.stop_after = requested.stop_after;
  if (config.tasks.empty()) config.tasks = preset_tasks(config.preset);
  config.validate();

  const auto tokenizer = tokenizer_for_tasks(config.tasks, config.data_seed);
  torch::manual_seed(config.seed);
  MultimodalModel model(preset_config(config.preset, tokenizer.size()));
  torch::optim::AdamW optimizer(
      model.parameters(),
      torch::optim::AdamWOptions(config.lr).weight_decay(config.weight_decay).betas({0.9, 0.98}));
  std::int64_t step = 0;
  if (!resume_from.empty()) {
    step = load_checkpoint(resume_from, model, optimizer);
    log::info("resuming {} from step {}", run.path().string(), step);
  } else {
    auto recorded = config;
    recorded.stop_after = 0;
    nlohmann::json resolved = {{"train", config::to_json(recorded)},
                               {"model", config::to_json(model.config())}};
    run.write_config(resolved);
  }
  tokenizer.save(run.path() / "vocab.txt");

  std::vector<std::unique_ptr<Task>> tasks;
  for (const auto& name : config.tasks) {
    tasks.push_back(make_task(name, config.data_seed));
    // Expensive samples (synthesised speech) are made once and cached on disk up front.
    log::info("preparing task {} (cached after the first run)", name);
    tasks.back()->prepare(Split::kValidation, config.eval_samples);
    tasks.back()->prepare(Split::kTrain, -1);
  }
  const auto counts = model.media_tokens();
  const auto max_audio = model.config().audio_config.max_samples;

  auto validate_all = [&](std::int64_t at_step) {
    std::vector<EvalResult> results;
    EvalOptions options;
    options.split = Split::kValidation;
    options.samples = config.eval_samples;
    for (const auto& task : tasks) results.push_back(evaluate(model, tokenizer, *task, options));
    nlohmann::json record = {{"step", at_step}, {"validation", results_json(results)}};
    run.log_metrics(record);
    std::string line;
    for (const auto& r : results) {
      char buffer[96];
      std::snprintf(buffer, sizeof(buffer), " %s %.3f", r.task.c_str(), r.score);
      line += buffer;
    }
    log::info("step {} validation:{}", at_step, line);
    return results;
  };

  model.train();
  ProgressOptions progress_options;
  progress_options.unit = "steps";
  ProgressBar bar("train " + config.preset, config.steps, progress_options);
  bar.set(step);
  const auto start = std::chrono::steady_clock::now();
  const std::int64_t first_step = step;
  const std::int64_t stop_at =
      config.stop_after > 0 ? std::min(config.steps, step + config.stop_after) : config.steps;
  double loss_sum = 0;
  int loss_count = 0;
  while (step < stop_at) {
    std::vector<Sample> samples;
    for (std::int64_t b = 0; b < config.batch_size; ++b) {
      const auto k = static_cast<std::uint64_t>(step * config.batch_size + b);
      const auto& task = *tasks[k % tasks.size()];
      const auto index = static_cast<std::int64_t>(
          derive_seed(config.seed, k) % static_cast<std::uint64_t>(task.split_size(Split::kTrain)));
      samples.push_back(task.sample(Split::kTrain, index));
    }
    const auto batch = collate(samples, tokenizer, counts, max_audio, /*with_answers=*/true);
    const double lr = learning_rate(config, step);
    for (auto& group : optimizer.param_groups()) {
      static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
    }
    const auto loss = answer_loss(model.forward(batch.inputs), batch.labels);
    CS_CHECK_AS(NumericError, std::isfinite(loss.item<double>()), "training loss became ",
                loss.item<double>(), " at step ", step, "; lower the learning rate");
    optimizer.zero_grad();
    loss.backward();
    torch::nn::utils::clip_grad_norm_(model.parameters(), config.grad_clip);
    optimizer.step();
    ++step;
    loss_sum += loss.item<double>();
    ++loss_count;
    if (step % 10 == 0 || step == config.steps) {
      const double elapsed =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      const double mean_loss = loss_sum / loss_count;
      run.log_metrics({{"step", step},
                       {"loss", mean_loss},
                       {"lr", lr},
                       {"samples_per_s", (step - first_step) * config.batch_size / elapsed}});
      char postfix[64];
      std::snprintf(postfix, sizeof(postfix), "loss %.3f lr %.1e", mean_loss, lr);
      bar.set_postfix(postfix);
      loss_sum = 0;
      loss_count = 0;
    }
    bar.set(step);
    if (step % config.checkpoint_every == 0 && step < config.steps) {
      save_checkpoint(run.path(), model, optimizer, step);
    }
    if (step % config.eval_every == 0 && step < config.steps) validate_all(step);
  }
  bar.finish();
  save_checkpoint(run.path(), model, optimizer, step);
  if (step < config.steps) {
    log::info("stopped at step {} of {}; rerun the same command to continue", step, config.steps);
    return {};
  }
  const auto final_results = validate_all(step);
  save_model(model, run.path() / "model",
             {{"preset", config.preset},
              {"steps", std::to_string(step)},
              {"seed", std::to_string(config.seed)}});
  tokenizer.save(run.path() / "model" / "vocab.txt");
  run.write_json("summary.json", {{"preset", config.preset},
                                  {"steps", step},
                                  {"seed", config.seed},
                                  {"validation", results_json(final_results)}});
  return final_results;
}

LoadedModel load_model_with_tokenizer(const std::string& name_or_dir) {
  fs::path dir(name_or_dir);
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    const fs::path builtin = assets_dir() / "models" / name_or_dir;
    CS_CHECK_AS(IoError, fs::is_directory(builtin, ec), "model '", name_or_dir,
                "' is neither a directory nor a built-in model under ",
                (assets_dir() / "models").string());
    dir = builtin;
  }
  LoadedModel out{load_model(dir), Tokenizer::load(dir / "vocab.txt")};
  CS_CHECK_AS(FormatError, out.tokenizer.size() == out.model->config().vocab_size, "'",
              dir.string(), "': vocab.txt has ", out.tokenizer.size(),
              " tokens but config.json says vocab_size ", out.model->config().vocab_size);
  return out;
}

}  // namespace clearsight::mm
