#include "clearsight/mm/data.h"

#include "clearsight/core/error.h"

namespace clearsight::mm {

std::vector<std::int64_t> sample_prompt(const Sample& sample, const Tokenizer& tokenizer,
                                        const MediaTokens& counts) {
  PromptMedia media;
  media.image = sample.image.defined();
  media.video = sample.video.defined();
  media.audio = sample.audio.defined();
  return build_prompt(tokenizer, sample.prompt, media, counts);
}

int media_kind(const Sample& s) {
  return (s.image.defined() ? 1 : 0) | (s.video.defined() ? 2 : 0) | (s.audio.defined() ? 4 : 0);
}

torch::Tensor pad_audio(const torch::Tensor& waveform, std::int64_t n) {
  CS_CHECK_AS(ShapeError, waveform.dim() == 1 && waveform.size(0) <= n, "audio clip has shape ",
              waveform.sizes(), "; clips of at most ", n, " samples are accepted");
  auto out = torch::zeros({n}, torch::kFloat32);
  out.narrow(0, 0, waveform.size(0)).copy_(waveform.to(torch::kFloat32));
  return out;
}

Batch collate(const std::vector<Sample>& samples, const Tokenizer& tokenizer,
              const MediaTokens& counts, std::int64_t max_audio_samples, bool with_answers,
              bool blank_media) {
  CS_CHECK_AS(ConfigError, !samples.empty(), "cannot collate an empty batch");
  Batch batch;
  std::vector<std::vector<std::int64_t>> sequences;
  std::vector<std::size_t> answer_start;
  std::vector<torch::Tensor> images, videos, audios;
  for (const auto& s : samples) {
    auto ids = sample_prompt(s, tokenizer, counts);
    batch.prompts.push_back(ids);
    answer_start.push_back(ids.size());
    if (with_answers) {
      const auto answer = tokenizer.encode(s.answer);
      ids.insert(ids.end(), answer.begin(), answer.end());
      ids.push_back(tokenizer.im_end_id());
    }
    sequences.push_back(std::move(ids));
    if (s.image.defined()) {
      images.push_back(blank_media ? torch::full_like(s.image, 128) : s.image);
    }
    if (s.video.defined()) {
      videos.push_back(blank_media ? torch::full_like(s.video, 128) : s.video);
    }
    if (s.audio.defined()) {
      audios.push_back(blank_media ? torch::zeros({max_audio_samples})
                                   : pad_audio(s.audio, max_audio_samples));
    }
  }
  std::size_t longest = 0;
  for (const auto& seq : sequences) longest = std::max(longest, seq.size());
  const auto b = static_cast<std::int64_t>(samples.size());
  const auto l = static_cast<std::int64_t>(longest);
  batch.inputs.input_ids = torch::full({b, l}, tokenizer.pad_id(), torch::kInt64);
  batch.inputs.attention_mask = torch::zeros({b, l}, torch::kBool);
  batch.labels = torch::full({b, l}, kIgnoreLabel, torch::kInt64);
  auto ids_a = batch.inputs.input_ids.accessor<std::int64_t, 2>();
  auto mask_a = batch.inputs.attention_mask.accessor<bool, 2>();
  auto labels_a = batch.labels.accessor<std::int64_t, 2>();
  for (std::int64_t i = 0; i < b; ++i) {
    const auto& seq = sequences[i];
    for (std::size_t t = 0; t < seq.size(); ++t) {
      ids_a[i][t] = seq[t];
      mask_a[i][t] = true;
      // The logit at t predicts token t + 1; learn only the answer and the closing token.
      if (with_answers && t + 1 < seq.size() && t + 1 >= answer_start[i]) {
        labels_a[i][t] = seq[t + 1];
      }
    }
  }
  if (!images.empty()) batch.inputs.images = torch::stack(images);
  if (!videos.empty()) batch.inputs.videos = torch::stack(videos);
  if (!audios.empty()) batch.inputs.audios = torch::stack(audios);
  return batch;
}

torch::Tensor answer_loss(const torch::Tensor& logits, const torch::Tensor& labels) {
  return torch::nn::functional::cross_entropy(
      logits.reshape({-1, logits.size(-1)}).to(torch::kFloat32), labels.reshape({-1}),
      torch::nn::functional::CrossEntropyFuncOptions().ignore_index(kIgnoreLabel));
}

}  // namespace clearsight::mm
