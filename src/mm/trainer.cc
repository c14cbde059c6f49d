#include "clearsight/mm/trainer.h"

#include <chrono>
#include <cmath>
#include <map>
#include <sstream>

#include "clearsight/core/atomic_file.h"
#include "clearsight/core/checkpoint.h"
#include "clearsight/core/error.h"
#include "clearsight/core/interrupt.h"
#include "clearsight/core/log.h"
#include "clearsight/core/paths.h"
#include "clearsight/core/progress.h"
#include "clearsight/core/resume.h"
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
  CS_CHECK_AS(ConfigError, text_steps >= 0, "train: text_steps must be >= 0, got ", text_steps);
  if (text_steps > 0) {
    CS_CHECK_AS(ConfigError, !text_tasks.empty() && text_batch_size > 0 && text_lr > 0,
                "train: the text stage needs text_tasks, a positive text_batch_size and text_lr");
    for (const auto& t : text_tasks) {
      CS_CHECK_AS(ConfigError, make_task(t)->modalities().empty(), "train: text_tasks must be ",
                  "text-only, but '", t, "' uses media");
    }
  }
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
    if (options.before_generate) options.before_generate(batch.prompts);
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

// Linear warm-up to peak, then cosine decay to min_lr at the end of a stage of `steps` steps.
double learning_rate(double peak, double min_lr, std::int64_t warmup, std::int64_t steps,
                     std::int64_t step) {
  if (step < warmup) return peak * static_cast<double>(step + 1) / warmup;
  const double progress =
      static_cast<double>(step - warmup) / std::max<std::int64_t>(1, steps - warmup);
  return min_lr + 0.5 * (peak - min_lr) * (1.0 + std::cos(M_PI * std::min(1.0, progress)));
}

// What one global step trains: the text stage first, then the multimodal mix.
struct Stage {
  const std::vector<std::shared_ptr<Task>>* tasks;
  std::int64_t batch_size;
  std::int64_t local_step;
  double lr;
  std::uint64_t data_seed;
};

// Unique names, in first-seen order.
std::vector<std::string> unique_names(std::vector<std::string> names) {
  std::vector<std::string> out;
  for (auto& n : names) {
    if (std::find(out.begin(), out.end(), n) == out.end()) out.push_back(std::move(n));
  }
  return out;
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
    auto asked = requested;
    if (asked.tasks.empty()) asked.tasks = preset_tasks(asked.preset);
    check_resume_settings(run.path(), "train", config::to_json(config), config::to_json(asked),
                          {"steps", "stop_after"});
    config.steps = std::max(config.steps, requested.steps);
  }
  config.stop_after = requested.stop_after;
  if (config.tasks.empty()) config.tasks = preset_tasks(config.preset);
  config.validate();

  auto vocab_tasks = config.tasks;
  if (config.text_steps > 0) {
    vocab_tasks.insert(vocab_tasks.end(), config.text_tasks.begin(), config.text_tasks.end());
  }
  const auto tokenizer = tokenizer_for_tasks(unique_names(vocab_tasks), config.data_seed);
  torch::manual_seed(config.seed);
  MultimodalModel model(preset_config(config.preset, tokenizer.size()));
  torch::optim::AdamW optimizer(
      model.parameters(),
      torch::optim::AdamWOptions(config.lr).weight_decay(config.weight_decay).betas({0.9, 0.98}));
  std::int64_t step = 0;
  if (!resume_from.empty()) {
    step = load_checkpoint(resume_from, model, optimizer);
    log::info("resuming {} from step {}", run.path().string(), step);
    // Rows a killed process logged after this checkpoint are logged again from here.
    run.cut_metrics_after(step);
  } else {
    auto recorded = config;
    recorded.stop_after = 0;
    nlohmann::json resolved = {{"train", config::to_json(recorded)},
                               {"model", config::to_json(model.config())}};
    run.write_config(resolved);
  }
  tokenizer.save(run.path() / "vocab.txt");

  // Each task is made once (a duplicate in a list raises its share of the batches).
  std::map<std::string, std::shared_ptr<Task>> made;
  auto make_list = [&](const std::vector<std::string>& names) {
    std::vector<std::shared_ptr<Task>> list;
    for (const auto& name : names) {
      auto& task = made[name];
      if (!task) {
        task = make_task(name, config.data_seed);
        // Expensive samples (synthesised speech) are made once and cached on disk up front.
        log::info("preparing task {} (cached after the first run)", name);
        task->prepare(Split::kValidation, config.eval_samples);
        task->prepare(Split::kTrain, -1);
      }
      list.push_back(task);
    }
    return list;
  };
  const auto tasks = make_list(config.tasks);
  const auto text_tasks =
      config.text_steps > 0 ? make_list(config.text_tasks) : std::vector<std::shared_ptr<Task>>{};
  auto distinct = [](const std::vector<std::shared_ptr<Task>>& list) {
    std::vector<std::shared_ptr<Task>> out;
    for (const auto& t : list) {
      if (std::find(out.begin(), out.end(), t) == out.end()) out.push_back(t);
    }
    return out;
  };
  const auto counts = model.media_tokens();
  const auto max_audio = model.config().audio_config.max_samples;

  // Validation of the stage a step belongs to (each task once).
  auto validate_all = [&](std::int64_t at_step) {
    std::vector<EvalResult> results;
    EvalOptions options;
    options.split = Split::kValidation;
    options.samples = config.eval_samples;
    const bool text_stage = at_step <= config.text_steps && config.text_steps > 0;
    for (const auto& task : distinct(text_stage ? text_tasks : tasks)) {
      results.push_back(evaluate(model, tokenizer, *task, options));
    }
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
  const std::int64_t total = config.total_steps();
  ProgressBar bar("train " + config.preset, total, progress_options);
  bar.set(step);
  const auto start = std::chrono::steady_clock::now();
  const std::int64_t stop_at =
      config.stop_after > 0 ? std::min(total, step + config.stop_after) : total;
  double loss_sum = 0;
  int loss_count = 0;
  std::int64_t samples_seen = 0;
  auto stage_of = [&](std::int64_t global) {
    if (global < config.text_steps) {
      return Stage{&text_tasks, config.text_batch_size, global,
                   learning_rate(config.text_lr, config.min_lr, config.warmup_steps,
                                 config.text_steps, global),
                   derive_seed(config.seed, 0x7e47)};
    }
    const auto local = global - config.text_steps;
    return Stage{&tasks, config.batch_size, local,
                 learning_rate(config.lr, config.min_lr, config.warmup_steps, config.steps, local),
                 config.seed};
  };
  while (step < stop_at && !stop_requested()) {
    const Stage stage = stage_of(step);
    const auto& stage_tasks = *stage.tasks;
    std::vector<Sample> samples;
    for (std::int64_t b = 0; b < stage.batch_size; ++b) {
      const auto k = static_cast<std::uint64_t>(stage.local_step * stage.batch_size + b);
      const auto& task = *stage_tasks[k % stage_tasks.size()];
      const auto index =
          static_cast<std::int64_t>(derive_seed(stage.data_seed, k) %
                                    static_cast<std::uint64_t>(task.split_size(Split::kTrain)));
      samples.push_back(task.sample(Split::kTrain, index));
    }
    samples_seen += stage.batch_size;
    const auto batch = collate(samples, tokenizer, counts, max_audio, /*with_answers=*/true);
    const double lr = stage.lr;
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
    if (step % 10 == 0 || step == total) {
      const double elapsed =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      const double mean_loss = loss_sum / loss_count;
      run.log_metrics({{"step", step},
                       {"loss", mean_loss},
                       {"lr", lr},
                       {"samples_per_s", samples_seen / elapsed}});
      char postfix[64];
      std::snprintf(postfix, sizeof(postfix), "loss %.3f lr %.1e", mean_loss, lr);
      bar.set_postfix(postfix);
      loss_sum = 0;
      loss_count = 0;
    }
    bar.set(step);
    if (step % config.checkpoint_every == 0 && step < total) {
      save_checkpoint(run.path(), model, optimizer, step);
    }
    if ((step % config.eval_every == 0 || step == config.text_steps) && step < total) {
      validate_all(step);
    }
  }
  bar.finish();
  save_checkpoint(run.path(), model, optimizer, step);
  if (step < total) {
    log::info("stopped at step {} of {}; rerun the same command to continue", step, total);
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
