// `clearsight mm train|eval|ask|hooks|tasks|sample`: the built-in multimodal models and the
// synthetic task suite.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "clearsight/core/atomic_file.h"
#include "clearsight/core/audio.h"
#include "clearsight/core/config.h"
#include "clearsight/core/error.h"
#include "clearsight/core/image.h"
#include "clearsight/core/interrupt.h"
#include "clearsight/core/log.h"
#include "clearsight/core/paths.h"
#include "clearsight/core/strings.h"
#include "clearsight/mm/data.h"
#include "clearsight/mm/hf_checkpoint.h"
#include "clearsight/mm/jsonl_eval.h"
#include "clearsight/mm/presets.h"
#include "clearsight/mm/qwen2_chat.h"
#include "clearsight/mm/trainer.h"
#include "commands.h"

namespace clearsight::cli {
namespace {

using nlohmann::json;

mm::Split parse_split(const std::string& name) {
  if (name == "train") return mm::Split::kTrain;
  if (name == "validation") return mm::Split::kValidation;
  if (name == "test") return mm::Split::kTest;
  CS_THROW(ConfigError, "unknown split '", name, "' (train, validation, test)");
}

// An image file (PNG, JPEG, ...) as the model's [3, size, size] uint8 input, resized (with a
// note) when it has another size.
torch::Tensor image_tensor(const std::string& path, std::int64_t size) {
  auto image = read_image(path);
  if (image.width != size || image.height != size) {
    log::warn("'{}' is {}x{}; resized to the {}x{} the model expects", path, image.width,
              image.height, size, size);
    image = resize_image(image, static_cast<int>(size), static_cast<int>(size));
  }
  return torch::from_blob(image.pixels.data(), {image.height, image.width, 3}, torch::kUInt8)
      .permute({2, 0, 1})
      .clone();
}

int run_train(const GlobalOptions& global, const std::string& preset, const std::string& out,
              const std::vector<std::string>& overrides) {
  start_runtime(global);
  install_stop_handlers();  // Ctrl-C / SIGTERM: stop at the next step with a checkpoint.
  config::Json raw = config::Json::object();
  raw["preset"] = preset;
  raw["seed"] = global.runtime.seed;
  for (const auto& o : overrides) config::apply_override(raw, o);
  const auto cfg = config::from_json<mm::TrainConfig>(raw, "train");
  const auto results = mm::train(cfg, out);
  if (results.empty()) {
    std::printf("stopped early (stop_after); rerun the same command to continue\n");
    return 0;
  }
  std::printf("trained %s; validation:\n", cfg.preset.c_str());
  for (const auto& r : results) {
    std::printf("  %-14s %-22s %.3f (chance %.3f)\n", r.task.c_str(), r.metric.c_str(), r.score,
                r.chance);
  }
  std::printf("model written to %s/model\n", out.c_str());
  return 0;
}

struct EvalArgs {
  std::string model = "cs-tiny-vl";
  std::string task = "all";
  std::string data;
  std::string predictions;
  std::string dtype = "float32";
  int max_new_tokens = 12;
  std::string split = "test";
  /// Negative: 200 per task, or every record of --data.
  std::int64_t samples = -1;
  bool blank_media = false;
  bool json = false;
  bool show = false;
};

// `mm eval --data FILE.jsonl`: a dataset of one's own on a built-in model or a Hugging Face folder.
int run_eval_data(const EvalArgs& a) {
  const auto records = mm::load_jsonl_dataset(a.data);
  mm::RecordEvalOptions options;
  options.samples = a.samples;
  options.max_new_tokens = a.max_new_tokens;
  options.progress = !a.json;
  mm::RecordEval eval;
  if (mm::is_hf_checkpoint(a.model)) {
    mm::HfLoadOptions load;
    load.dtype = parse_dtype(a.dtype);
    auto bundle = mm::load_qwen2(a.model, load);
    eval = mm::evaluate_records(bundle, records, options);
  } else {
    auto loaded = mm::load_model_with_tokenizer(a.model);
    eval = mm::evaluate_records(*loaded.model, loaded.tokenizer, records, options);
  }
  const auto n = eval.records.size();
  if (!a.predictions.empty()) {
    std::string lines;
    for (std::size_t i = 0; i < n; ++i) {
      const auto& r = eval.records[i];
      json row = {{"line", r.line}, {"prediction", eval.predictions[i]}, {"metric", r.metric}};
      if (!r.id.empty()) row["id"] = r.id;
      if (!std::isnan(eval.scores[i])) row["score"] = eval.scores[i];
      lines += row.dump() + "\n";
    }
    atomic_write(a.predictions, lines);
  }
  json metrics = json::object();
  for (const auto& m : eval.metrics)
    metrics[m.metric] = {{"score", m.score}, {"samples", m.samples}};
  if (a.json) {
    json out = {{"model", a.model},
                {"data", a.data},
                {"samples", n},
                {"metrics", metrics},
                {"seconds", eval.seconds},
                {"samples_per_s", static_cast<double>(n) / std::max(1e-9, eval.seconds)}};
    if (!a.predictions.empty()) out["predictions"] = a.predictions;
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  std::printf("%s: %zu samples in %.1f s\n", a.data.c_str(), n, eval.seconds);
  for (const auto& m : eval.metrics) {
    std::printf("  %-22s %.3f  (%lld samples)\n", m.metric.c_str(), m.score,
                static_cast<long long>(m.samples));
  }
  if (eval.metrics.empty()) std::printf("  (no record names a metric: predictions only)\n");
  if (a.show) {
    for (std::size_t i = 0; i < std::min<std::size_t>(5, n); ++i) {
      std::printf("    line %lld  expected '%s'  got '%s'\n",
                  static_cast<long long>(eval.records[i].line),
                  eval.records[i].answers.empty() ? "" : eval.records[i].answers[0].c_str(),
                  eval.predictions[i].c_str());
    }
  }
  if (!a.predictions.empty()) std::printf("predictions: %s\n", a.predictions.c_str());
  return 0;
}

int run_eval(const GlobalOptions& global, const EvalArgs& a) {
  start_runtime(global);
  if (!a.data.empty()) return run_eval_data(a);
  CS_CHECK_AS(ConfigError, !mm::is_hf_checkpoint(a.model), "'", a.model,
              "' is a Hugging Face folder: evaluate it on a dataset of your own with --data "
              "FILE.jsonl (the built-in tasks are made for the built-in models; `mm export` "
              "writes them as JSONL)");
  auto loaded = mm::load_model_with_tokenizer(a.model);
  std::vector<std::string> tasks;
  if (a.task == "all") {
    const std::string preset =
        loaded.model->config().vision_config.enabled ? "cs-tiny-vl" : "cs-tiny-audio";
    tasks = mm::preset_tasks(preset);
  } else {
    tasks = split(a.task, ',');
  }
  json out = json::object();
  for (const auto& name : tasks) {
    const auto task = mm::make_task(name);
    mm::EvalOptions options;
    options.split = parse_split(a.split);
    options.samples = a.samples < 0 ? 200 : a.samples;
    options.progress = !a.json;
    const auto r = mm::evaluate(*loaded.model, loaded.tokenizer, *task, options);
    json entry = {{r.metric, r.score},
                  {"chance", r.chance},
                  {"samples", r.samples},
                  {"counterpart", task->counterpart()}};
    if (a.blank_media && !task->modalities().empty()) {
      options.blank_media = true;
      entry["media_blanked"] = mm::evaluate(*loaded.model, loaded.tokenizer, *task, options).score;
    }
    out[name] = entry;
    if (!a.json) {
      std::printf(
          "%-14s %-22s %.3f  (chance %.3f%s)\n", name.c_str(), r.metric.c_str(), r.score, r.chance,
          entry.contains("media_blanked")
              ? (", media blanked " + std::to_string(entry["media_blanked"].get<double>())).c_str()
              : "");
      if (a.show) {
        for (std::size_t i = 0; i < std::min<std::size_t>(5, r.predictions.size()); ++i) {
          std::printf("    expected '%s'  got '%s'\n", r.answers[i].c_str(),
                      r.predictions[i].c_str());
        }
      }
    }
  }
  if (a.json) std::printf("%s\n", out.dump(2).c_str());
  return 0;
}

struct AskArgs {
  std::string model = "cs-tiny-vl";
  std::string image;
  std::vector<std::string> video;
  std::string audio;
  std::string question;
  int max_new_tokens = 16;
  std::string dtype = "float32";
  bool json = false;
};

// `mm ask` on a Hugging Face Qwen2-VL or Qwen2-Audio folder.
int run_ask_hf(const AskArgs& a) {
  mm::HfLoadOptions options;
  options.dtype = parse_dtype(a.dtype);
  const auto t0 = std::chrono::steady_clock::now();
  auto bundle = mm::load_qwen2(a.model, options);
  const double load_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  mm::DataRecord record;
  record.prompt = a.question;
  record.image = a.image;
  for (const auto& path : a.video) record.video.push_back(path);
  record.audio = a.audio;
  const auto media = mm::read_record_media(bundle, record);
  torch::NoGradGuard no_grad;
  const auto t1 = std::chrono::steady_clock::now();
  const auto answer = mm::qwen2_ask(bundle, a.question, media, a.max_new_tokens);
  const double answer_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
  if (a.json) {
    json out = {{"model", a.model},
                {"answer", answer.text},
                {"ids", answer.ids},
                {"prompt_tokens", answer.prompt_tokens},
                {"unknown_ids", answer.unknown_ids},
                {"load_s", load_s},
                {"answer_s", answer_s}};
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  std::printf("%s\n", answer.text.c_str());
  if (answer.unknown_ids > 0) {
    std::fprintf(stderr,
                 "note: %lld generated ids are outside tokenizer.json (untrained weights?)\n",
                 static_cast<long long>(answer.unknown_ids));
  }
  return 0;
}

int run_ask(const GlobalOptions& global, const AskArgs& a) {
  start_runtime(global);
  if (mm::is_hf_checkpoint(a.model)) return run_ask_hf(a);
  auto loaded = mm::load_model_with_tokenizer(a.model);
  const auto& config = loaded.model->config();
  mm::Sample sample;
  sample.prompt = a.question;
  if (!a.image.empty()) {
    CS_CHECK_AS(ConfigError, config.vision_config.enabled, "model '", a.model,
                "' has no vision tower; it cannot take --image");
    sample.image = image_tensor(a.image, config.vision_config.image_size);
  }
  if (!a.video.empty()) {
    CS_CHECK_AS(ConfigError, config.vision_config.enabled, "model '", a.model,
                "' has no vision tower; it cannot take --video");
    CS_CHECK_AS(ShapeError,
                static_cast<std::int64_t>(a.video.size()) == config.vision_config.max_frames,
                "--video has ", a.video.size(), " frame(s); model '", a.model, "' takes videos of ",
                config.vision_config.max_frames, " frames (give --video ",
                config.vision_config.max_frames, " image files)");
    std::vector<torch::Tensor> frames;
    for (const auto& path : a.video) {
      frames.push_back(image_tensor(path, config.vision_config.image_size));
    }
    sample.video = torch::stack(frames);
  }
  if (!a.audio.empty()) {
    CS_CHECK_AS(ConfigError, config.audio_config.enabled, "model '", a.model,
                "' has no audio tower; it cannot take --audio");
    const auto samples = read_audio_at(a.audio, static_cast<int>(config.audio_config.sample_rate));
    CS_CHECK_AS(ShapeError,
                static_cast<std::int64_t>(samples.size()) <= config.audio_config.max_samples, "'",
                a.audio, "' is ", samples.size() / double(config.audio_config.sample_rate),
                " s long; the model takes clips of at most ",
                config.audio_config.max_samples / double(config.audio_config.sample_rate), " s");
    sample.audio = torch::tensor(samples, torch::kFloat32);
  }
  const auto batch = mm::collate({sample}, loaded.tokenizer, loaded.model->media_tokens(),
                                 config.audio_config.max_samples, /*with_answers=*/false);
  mm::GenerateOptions gen;
  gen.max_new_tokens = a.max_new_tokens;
  loaded.model->eval();
  const auto t0 = std::chrono::steady_clock::now();
  const auto out =
      loaded.model->generate(batch.prompts, batch.inputs, gen, loaded.tokenizer.im_end_id());
  const double answer_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // Words the vocabulary lacks are read as <|unk|>: say which, the answer may rest on them.
  std::vector<std::string> unknown;
  {
    std::istringstream words(a.question);
    std::string w;
    while (words >> w) {
      if (loaded.tokenizer.encode(w) == std::vector<std::int64_t>{loaded.tokenizer.unk_id()} &&
          std::find(unknown.begin(), unknown.end(), w) == unknown.end()) {
        unknown.push_back(w);
      }
    }
  }
  const std::string answer = loaded.tokenizer.decode(out[0]);
  if (a.json) {
    json doc = {{"model", a.model},
                {"answer", answer},
                {"ids", out[0]},
                {"prompt_tokens", batch.prompts[0].size()},
                {"unknown_words", unknown},
                {"answer_s", answer_s}};
    std::printf("%s\n", doc.dump(2).c_str());
    return 0;
  }
  if (!unknown.empty()) {
    log::warn("{} word(s) of the question are not in {}'s vocabulary and were read as <|unk|>: {}",
              unknown.size(), a.model, join(unknown, ", "));
  }
  std::printf("%s\n", answer.c_str());
  return 0;
}

int run_sample(const GlobalOptions& global, const std::string& task_name, const std::string& split,
               std::int64_t index, const std::string& out_dir) {
  start_runtime(global);
  const auto task = mm::make_task(task_name, global.runtime.seed);
  const auto s = task->sample(parse_split(split), index);
  std::filesystem::create_directories(out_dir);
  const std::filesystem::path dir(out_dir);
  const std::string stem = task_name + "_" + split + "_" + std::to_string(index);
  if (s.image.defined()) {
    const auto hwc = s.image.permute({1, 2, 0}).contiguous();
    write_png(dir / (stem + ".png"),
              {hwc.data_ptr<std::uint8_t>(), static_cast<std::size_t>(hwc.numel())},
              static_cast<int>(hwc.size(1)), static_cast<int>(hwc.size(0)));
  }
  if (s.video.defined()) {
    for (std::int64_t f = 0; f < s.video.size(0); ++f) {
      const auto hwc = s.video[f].permute({1, 2, 0}).contiguous();
      write_png(dir / (stem + "_frame" + std::to_string(f) + ".png"),
                {hwc.data_ptr<std::uint8_t>(), static_cast<std::size_t>(hwc.numel())},
                static_cast<int>(hwc.size(1)), static_cast<int>(hwc.size(0)));
    }
  }
  if (s.audio.defined()) {
    const auto a = s.audio.contiguous();
    write_wav(dir / (stem + ".wav"),
              std::vector<float>(a.data_ptr<float>(), a.data_ptr<float>() + a.numel()),
              mm::kSampleRate);
  }
  std::printf("prompt: %s\nanswer: %s\nfiles:  %s/%s*\n", s.prompt.c_str(), s.answer.c_str(),
              out_dir.c_str(), stem.c_str());
  return 0;
}

}  // namespace

void add_mm_command(Context& context) {
  auto* group = context.app.add_subcommand("mm", "Built-in multimodal models and the task suite");
  group->require_subcommand(1);

  auto* train = group->add_subcommand("train", "Train a built-in model (re-run to resume)");
  auto preset = std::make_shared<std::string>("cs-tiny-vl");
  auto out = std::make_shared<std::string>();
  auto overrides = std::make_shared<std::vector<std::string>>();
  train->add_option("--preset", *preset, "cs-tiny-vl or cs-tiny-audio")->default_val(*preset);
  train->add_option("--out", *out, "Run directory (resumes if it holds a checkpoint)")->required();
  train->add_option("--set", *overrides, "Config override key=value (steps, batch_size, lr...)");
  train->callback([&context, preset, out, overrides] {
    context.action = [&context, preset, out, overrides] {
      return run_train(context.global, *preset, *out, *overrides);
    };
  });

  auto* eval = group->add_subcommand("eval", "Score a model on its tasks");
  auto e = std::make_shared<EvalArgs>();
  eval->add_option("--model", e->model, "Built-in model name or model directory")
      ->default_val(e->model);
  eval->add_option("--task", e->task, "Task name, comma list, or all")->default_val(e->task);
  eval->add_option("--data", e->data,
                   "A JSONL dataset of one's own (prompt, image / video / audio, answer(s), "
                   "metric) in place of the tasks");
  eval->add_option("--predictions", e->predictions,
                   "With --data: write each record's prediction and score to this JSONL file");
  eval->add_option("--max-new-tokens", e->max_new_tokens, "Longest answer (with --data)")
      ->default_val(e->max_new_tokens);
  eval->add_option("--dtype", e->dtype, "Compute dtype of a Hugging Face checkpoint")
      ->default_val(e->dtype);
  eval->add_option("--split", e->split, "train, validation or test")->default_val(e->split);
  eval->add_option("--samples", e->samples,
                   "Samples per task (default 200), or the first records of --data (default all)");
  eval->add_flag("--blank-media", e->blank_media, "Also score with images/audio blanked");
  eval->add_flag("--show", e->show, "Print a few predictions");
  eval->add_flag("--json", e->json, "Print one JSON document");
  eval->callback(
      [&context, e] { context.action = [&context, e] { return run_eval(context.global, *e); }; });

  auto* ask = group->add_subcommand("ask", "Ask a model a question about an image, video or audio");
  auto q = std::make_shared<AskArgs>();
  ask->add_option("--model", q->model, "Built-in model name or model directory")
      ->default_val(q->model);
  ask->add_option("--image", q->image, "PNG image");
  ask->add_option("--video", q->video, "PNG frames (oldest first)")->delimiter(',');
  ask->add_option("--audio", q->audio, "Audio file (WAV, FLAC, OGG)");
  ask->add_option("--max-new-tokens", q->max_new_tokens, "Longest answer")
      ->default_val(q->max_new_tokens);
  ask->add_option("--dtype", q->dtype, "Compute dtype of a Hugging Face checkpoint")
      ->default_val(q->dtype);
  ask->add_flag("--json", q->json, "One JSON document (answer, ids, timings)");
  ask->add_option("QUESTION", q->question, "The question")->required();
  ask->callback(
      [&context, q] { context.action = [&context, q] { return run_ask(context.global, *q); }; });

  auto* hooks = group->add_subcommand("hooks", "List a model's hook points");
  struct HooksArgs {
    std::string model = "cs-tiny-vl";
    std::string model_option;
    bool json = false;
  };
  auto h = std::make_shared<HooksArgs>();
  hooks->add_option("MODEL", h->model, "Preset, built-in model or directory")
      ->default_val(h->model);
  hooks->add_option("--model", h->model_option,
                    "Same as MODEL: a preset, built-in model, ClearSight model directory or "
                    "Hugging Face folder (qwen2_vl, qwen2_audio)");
  hooks->add_flag("--json", h->json, "One JSON document: model, hooks with their shapes' roles");
  hooks->callback([&context, h] {
    context.action = [&context, h] {
      start_runtime(context.global);
      const std::string name = h->model_option.empty() ? h->model : h->model_option;
      std::shared_ptr<mm::MultimodalModel> model;
      const auto presets = mm::preset_names();
      if (std::find(presets.begin(), presets.end(), name) != presets.end() &&
          !std::filesystem::exists(assets_dir() / "models" / name)) {
        model = std::make_shared<mm::MultimodalModel>(mm::preset_config(name, 64));
      } else if (mm::is_hf_checkpoint(name)) {
        model = mm::load_hf_model(name);
      } else {
        model = mm::load_model_with_tokenizer(name).model;
      }
      if (h->json) {
        const auto& c = model->config();
        json out = {{"model", name},
                    {"model_type", c.model_type},
                    {"layers", c.num_hidden_layers},
                    {"neurons_per_layer", model->neurons_per_layer()},
                    {"hooks", model->hook_names()}};
        std::printf("%s\n", out.dump(2).c_str());
        return 0;
      }
      for (const auto& hook : model->hook_names()) std::printf("%s\n", hook.c_str());
      return 0;
    };
  });

  auto* make = group->add_subcommand(
      "make-checkpoint",
      "Write a Hugging Face Qwen2-VL or Qwen2-Audio folder with random weights (tests, scale "
      "measurements)");
  struct MakeArgs {
    std::string arch = "qwen2_vl";
    std::string shape = "tiny";
    std::string tokenizer;
    std::string out;
    std::string dtype = "bfloat16";
  };
  auto mk = std::make_shared<MakeArgs>();
  make->add_option("--arch", mk->arch, "qwen2_vl or qwen2_audio")->default_val(mk->arch);
  make->add_option("--shape", mk->shape,
                   "tiny (2 layers, hidden 64), 2b (Qwen2-VL-2B's shape) or 7b (Qwen2-Audio-7B's)")
      ->default_val(mk->shape);
  make->add_option("--tokenizer", mk->tokenizer, "Qwen's tokenizer.json to ship with it")
      ->required();
  make->add_option("--out", mk->out, "New folder")->required();
  make->add_option("--dtype", mk->dtype, "Weight dtype on disk")->default_val(mk->dtype);
  make->callback([&context, mk] {
    context.action = [&context, mk] {
      start_runtime(context.global);
      mm::write_random_qwen2(mk->arch, mk->shape, mk->tokenizer, mk->out, parse_dtype(mk->dtype),
                             context.global.runtime.seed);
      std::printf("wrote %s (%s %s shape, random weights, %s)\n", mk->out.c_str(), mk->arch.c_str(),
                  mk->shape.c_str(), mk->dtype.c_str());
      return 0;
    };
  });

  auto* tasks = group->add_subcommand("tasks", "List the synthetic tasks");
  auto tasks_json = std::make_shared<bool>(false);
  tasks->add_flag("--json", *tasks_json, "One JSON document: the tasks with metric and chance");
  tasks->callback([&context, tasks_json] {
    context.action = [&context, tasks_json] {
      start_runtime(context.global);
      json out = json::array();
      for (const auto& name : mm::task_names()) {
        const auto t = mm::make_task(name);
        out.push_back({{"task", name},
                       {"counterpart", t->counterpart()},
                       {"metric", t->metric()},
                       {"record_metric", t->record_metric()},
                       {"chance", t->chance_level()},
                       {"modalities", t->modalities()},
                       {"test_samples", t->split_size(mm::Split::kTest)}});
        if (*tasks_json) continue;
        std::printf("%-14s %-14s %-22s chance %.3f  needs %s\n", name.c_str(),
                    t->counterpart().c_str(), t->metric().c_str(), t->chance_level(),
                    t->modalities().empty() ? "text only" : join(t->modalities(), "+").c_str());
      }
      if (*tasks_json) std::printf("%s\n", out.dump(2).c_str());
      return 0;
    };
  });

  auto* exp = group->add_subcommand(
      "export", "Write a synthetic task's samples as a JSONL dataset (PNG images, WAV audio)");
  struct ExportArgs {
    std::string task;
    std::string split = "test";
    std::int64_t samples = 200;
    std::string out;
  };
  auto x = std::make_shared<ExportArgs>();
  exp->add_option("--task", x->task, "Task name (mm tasks lists them)")->required();
  exp->add_option("--split", x->split, "train, validation or test")->default_val(x->split);
  exp->add_option("--samples", x->samples, "The first N samples of the split")
      ->default_val(x->samples);
  exp->add_option("--out", x->out, "New folder: data.jsonl and media/")->required();
  exp->callback([&context, x] {
    context.action = [&context, x] {
      start_runtime(context.global);
      const auto task = mm::make_task(x->task);
      const auto file = mm::export_task_jsonl(*task, parse_split(x->split), x->samples, x->out);
      std::printf(
          "wrote %s (%lld samples of %s/%s, metric %s)\n", file.c_str(),
          static_cast<long long>(std::min(x->samples, task->split_size(parse_split(x->split)))),
          x->task.c_str(), x->split.c_str(), task->record_metric().c_str());
      return 0;
    };
  });

  auto* sample = group->add_subcommand("sample", "Write one task sample as PNG/WAV files");
  struct SampleArgs {
    std::string task = "scene_vqa";
    std::string split = "test";
    std::int64_t index = 0;
    std::string out = ".";
  };
  auto s = std::make_shared<SampleArgs>();
  sample->add_option("--task", s->task, "Task name")->default_val(s->task);
  sample->add_option("--split", s->split, "train, validation or test")->default_val(s->split);
  sample->add_option("--index", s->index, "Sample index")->default_val(s->index);
  sample->add_option("--out", s->out, "Output folder")->default_val(s->out);
  sample->callback([&context, s] {
    context.action = [&context, s] {
      return run_sample(context.global, s->task, s->split, s->index, s->out);
    };
  });
}

}  // namespace clearsight::cli
