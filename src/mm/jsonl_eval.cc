#include "clearsight/mm/jsonl_eval.h"

#include <chrono>
#include <cmath>
#include <limits>

#include "clearsight/core/audio.h"
#include "clearsight/core/error.h"
#include "clearsight/core/image.h"
#include "clearsight/core/progress.h"
#include "clearsight/mm/data.h"

namespace clearsight::mm {
namespace {

using Clock = std::chrono::steady_clock;

// A PNG as [3, H, W] uint8, checked to be the built-in models' 32 x 32.
torch::Tensor chw_image(const std::filesystem::path& path, std::int64_t line) {
  auto image = read_png(path);
  CS_CHECK_AS(ShapeError, image.width == kImageSize && image.height == kImageSize, "line ", line,
              ": ", path.string(), " is ", image.width, " x ", image.height,
              "; built-in models take ", kImageSize, " x ", kImageSize, " images");
  return torch::from_blob(image.pixels.data(), {image.height, image.width, 3}, torch::kUInt8)
      .permute({2, 0, 1})
      .contiguous();
}

std::vector<DataRecord> first(const std::vector<DataRecord>& records, std::int64_t samples) {
  const auto n =
      samples < 0 ? records.size() : std::min(records.size(), static_cast<std::size_t>(samples));
  CS_CHECK_AS(ConfigError, n > 0, "no records to evaluate (--samples ", samples, ")");
  return {records.begin(), records.begin() + static_cast<std::ptrdiff_t>(n)};
}

// Scores per record and per metric once the predictions are in.
void finish(RecordEval& eval) {
  for (std::size_t i = 0; i < eval.records.size(); ++i) {
    const auto& r = eval.records[i];
    eval.scores.push_back(r.metric == "none" ? std::numeric_limits<double>::quiet_NaN()
                                             : score_record(eval.predictions[i], r));
  }
  eval.metrics = score_records(eval.predictions, eval.records);
}

}  // namespace

Sample record_sample(const DataRecord& record) {
  Sample s;
  s.task = "jsonl";
  s.index = record.line;
  s.prompt = record.prompt;
  if (!record.answers.empty()) s.answer = record.answers[0];
  if (record.answers.size() > 1) s.references = record.answers;
  if (!record.image.empty()) s.image = chw_image(record.image, record.line);
  if (!record.video.empty()) {
    CS_CHECK_AS(ShapeError, static_cast<int>(record.video.size()) == kVideoFrames, "line ",
                record.line, ": ", record.video.size(), " video frames; built-in models take ",
                kVideoFrames);
    std::vector<torch::Tensor> frames;
    for (const auto& f : record.video) frames.push_back(chw_image(f, record.line));
    s.video = torch::stack(frames);
  }
  if (!record.audio.empty()) {
    const auto samples = read_audio_at(record.audio, kSampleRate);
    CS_CHECK_AS(ShapeError, static_cast<std::int64_t>(samples.size()) <= kMaxAudioSamples, "line ",
                record.line, ": ", record.audio.string(), " lasts ",
                static_cast<double>(samples.size()) / kSampleRate,
                " s; built-in models take clips of at most ", kMaxAudioSamples / kSampleRate, " s");
    s.audio = torch::tensor(samples, torch::kFloat32);
  }
  return s;
}

RecordEval evaluate_records(MultimodalModel& model, const Tokenizer& tokenizer,
                            const std::vector<DataRecord>& records,
                            const RecordEvalOptions& options) {
  torch::NoGradGuard no_grad;
  const bool was_training = model.is_training();
  model.eval();
  RecordEval eval;
  eval.records = first(records, options.samples);
  const auto n = static_cast<std::int64_t>(eval.records.size());
  ProgressOptions progress;
  progress.disable = !options.progress;
  progress.unit = "samples";
  ProgressBar bar("eval", n, progress);
  const auto t0 = Clock::now();
  for (std::int64_t start = 0; start < n;) {
    std::vector<Sample> samples{record_sample(eval.records[start])};
    std::int64_t end = start + 1;
    while (end < n && end - start < options.batch_size) {
      auto next = record_sample(eval.records[end]);
      if (media_kind(next) != media_kind(samples.front())) break;
      samples.push_back(std::move(next));
      ++end;
    }
    const auto batch = collate(samples, tokenizer, model.media_tokens(),
                               model.config().audio_config.max_samples, /*with_answers=*/false,
                               /*blank_media=*/false);
    GenerateOptions gen;
    gen.max_new_tokens = options.max_new_tokens;
    const auto outputs = model.generate(batch.prompts, batch.inputs, gen, tokenizer.im_end_id());
    for (const auto& ids : outputs) eval.predictions.push_back(tokenizer.decode(ids));
    bar.advance(end - start);
    start = end;
  }
  bar.finish();
  eval.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  if (was_training) model.train();
  finish(eval);
  return eval;
}

RecordEval evaluate_records(Qwen2Bundle& bundle, const std::vector<DataRecord>& records,
                            const RecordEvalOptions& options) {
  torch::NoGradGuard no_grad;
  bundle.model->eval();
  RecordEval eval;
  eval.records = first(records, options.samples);
  ProgressOptions progress;
  progress.disable = !options.progress;
  progress.unit = "samples";
  ProgressBar bar("eval", static_cast<std::int64_t>(eval.records.size()), progress);
  const auto t0 = Clock::now();
  for (const auto& r : eval.records) {
    try {
      eval.predictions.push_back(
          qwen2_ask(bundle, r.prompt, read_record_media(bundle, r), options.max_new_tokens).text);
    } catch (const ConfigError& e) {
      CS_THROW(ConfigError, "line ", r.line, ": ", e.what());
    }
    bar.advance(1);
  }
  bar.finish();
  eval.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  finish(eval);
  return eval;
}

}  // namespace clearsight::mm
