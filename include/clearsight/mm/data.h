// Turning task samples into model batches: chat-template prompts, answer labels, media tensors.
#pragma once

#include <torch/torch.h>

#include <vector>

#include "clearsight/mm/model.h"
#include "clearsight/mm/tasks.h"
#include "clearsight/mm/tokenizer.h"

namespace clearsight::mm {

/// Label value ignored by the loss.
inline constexpr std::int64_t kIgnoreLabel = -100;

/// A batch ready for the model.
struct Batch {
  MmInputs inputs;
  /// [B, L] next-token targets: the answer tokens and the closing <|im_end|>; kIgnoreLabel
  /// elsewhere (only with answers).
  torch::Tensor labels;
  /// Prompt token ids per sample (without the answer).
  std::vector<std::vector<std::int64_t>> prompts;
};

/// Prompt ids of a sample under the chat template.
std::vector<std::int64_t> sample_prompt(const Sample& sample, const Tokenizer& tokenizer,
                                        const MediaTokens& counts);

/// Builds a right-padded batch; with_answers appends answer + <|im_end|> and fills labels.
/// blank_media replaces images/videos with grey and audio with silence (the media-blind baseline).
Batch collate(const std::vector<Sample>& samples, const Tokenizer& tokenizer,
              const MediaTokens& counts, std::int64_t max_audio_samples, bool with_answers,
              bool blank_media = false);

/// Mean cross-entropy of logits [B, L, V] against labels [B, L] (ignoring kIgnoreLabel).
torch::Tensor answer_loss(const torch::Tensor& logits, const torch::Tensor& labels);

/// The media a sample carries as bits (image 1, video 2, audio 4); batches hold one kind.
int media_kind(const Sample& sample);

/// Pads or checks a waveform to exactly n samples; throws ShapeError when it is longer.
torch::Tensor pad_audio(const torch::Tensor& waveform, std::int64_t n);

}  // namespace clearsight::mm
