// What every explain method starts from: task samples turned into a teacher-forced batch whose
// positions are labelled with groups (modality, question, last, ...), the score being explained
// (the log-probability of the answer or of one token), and the differentiable inputs of each
// modality (token embeddings, normalised pixels, log-mel frames) that attributions land on.
#pragma once

#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

#include "clearsight/mm/data.h"
#include "clearsight/mm/model.h"
#include "clearsight/mm/tasks.h"
#include "clearsight/mm/tokenizer.h"

namespace clearsight::interp {

/// Position groups every method understands: the token modalities "text", "special", "image",
/// "video", "audio"; "question" (the user's words), "system" (template words outside the user's
/// turn), "last" (the last prompt position, which predicts the first answer token), "prompt" (all
/// prompt positions) and "answer" (teacher-forced answer positions).
const std::vector<std::string>& group_names();

/// Throws UnknownNameError (listing group_names()) unless name is a group.
void check_group(const std::string& name);

/// What is being explained.
struct Target {
  /// "answer": the sum of the log-probabilities of the answer's tokens, teacher-forced (the
  /// closing <|im_end|> excluded); "first": the first answer token at the last prompt position;
  /// "token": the token `token` at the last prompt position.
  std::string kind = "answer";
  /// The word scored when kind == "token" (must be in the vocabulary).
  std::string token;
};

/// Samples prepared for explanation, in one right-padded batch.
struct Examples {
  /// The samples, in batch order.
  std::vector<mm::Sample> samples;
  /// Teacher-forced batch (prompt + answer + <|im_end|>).
  mm::Batch batch;
  /// Prompt length of each sample (the answer starts there).
  std::vector<std::int64_t> prompt_lengths;
  /// Token text of every position of each sample (prompt and answer, no padding).
  std::vector<std::vector<std::string>> tokens;
  /// Token modality name ("text", "special", "image", "video", "audio") of every position.
  std::vector<std::vector<std::string>> modality;
  /// Per sample, the positions of each group (every name of group_names(), possibly empty).
  std::vector<std::map<std::string, std::vector<std::int64_t>>> groups;
  /// Per sample, the (position, token id) pairs whose log-probabilities make up the score.
  std::vector<std::vector<std::pair<std::int64_t, std::int64_t>>> target_tokens;
  /// The target these were prepared for.
  Target target;

  /// Number of samples.
  std::int64_t size() const { return static_cast<std::int64_t>(samples.size()); }
  /// The last prompt position of sample i.
  std::int64_t last(std::int64_t i) const { return prompt_lengths[i] - 1; }
  /// Positions of group name in sample i; throws UnknownNameError for an unknown group.
  const std::vector<std::int64_t>& positions(std::int64_t i, const std::string& name) const;
  /// The examples of a subset of samples (in the given order), re-collated.
  Examples subset(const std::vector<std::int64_t>& indices) const;
};

/// Builds Examples from samples; throws UnknownNameError when target.token is not a word of the
/// vocabulary and ConfigError when samples is empty.
Examples prepare_examples(const std::vector<mm::Sample>& samples, const mm::Tokenizer& tokenizer,
                          const mm::MultimodalModel& model, const Target& target = {});

/// Samples first .. first + count - 1 of a task's split; throws ConfigError when the split is
/// shorter.
std::vector<mm::Sample> load_samples(const mm::Task& task, mm::Split split, std::int64_t first,
                                     std::int64_t count);

/// Throws ConfigError unless the model has a tower for every modality the task needs.
void check_task_fits(const mm::Task& task, const mm::MultimodalModel& model);

/// Per-sample score [B] (float64) from logits [B, L, V]: the sum of the target tokens'
/// log-probabilities. Differentiable.
torch::Tensor target_score(const torch::Tensor& logits, const Examples& examples);

/// The differentiable inputs of each modality, the tensors that attributions land on.
struct InputTensors {
  /// [B, L, hidden] token embeddings at every position (media positions hold the token's own
  /// embedding, which the model replaces by tower output).
  torch::Tensor text;
  /// [Ni, temporal_patch_size, 3, H, W] normalised pixels of the images (undefined if none).
  torch::Tensor image;
  /// [Nv, T, 3, H, W] normalised pixels of the videos (undefined if none).
  torch::Tensor video;
  /// [Na, mel_bins, frames] log-mel spectrograms of the audio clips (undefined if none).
  torch::Tensor audio;

  /// The tensor of a modality ("text", "image", "video", "audio"); undefined when absent.
  torch::Tensor& get(const std::string& modality);
  /// Const access.
  const torch::Tensor& get(const std::string& modality) const;
};

/// The modalities "text", "image", "video", "audio" present in the examples.
std::vector<std::string> input_modalities(const Examples& examples);

/// The clean inputs of the examples (no autograd history).
InputTensors clean_inputs(mm::MultimodalModel& model, const Examples& examples);

/// Baseline choices per modality.
struct BaselineOptions {
  /// Images and videos: "black", "grey", "blur" (a 7 x 7 box blur) or "zero" (zero normalised
  /// pixels, i.e. the dataset mean colour).
  std::string image = "black";
  /// Audio: "zero" (zero log-mel: a quiet, flat spectrum at the middle of the normalised range)
  /// or "silence" (the log-mel of a silent clip, the floor of the range; IG paths from it are
  /// steep on the built-in model, see RESULTS).
  std::string audio = "zero";
  /// Text: "pad" (the <|endoftext|> embedding) or "zero".
  std::string text = "pad";
  /// Which text positions get the text baseline: "question" (the user's words; the chat
  /// template keeps its clean tokens, as is usual for LLM attribution) or "prompt" (every text
  /// and special token of the prompt).
  std::string text_positions = "question";
};

/// The baseline inputs; text is replaced only at options.text_positions, so the template (by
/// default), the answer and the media positions keep their clean values.
InputTensors baseline_inputs(mm::MultimodalModel& model, const Examples& examples,
                             const InputTensors& clean, const BaselineOptions& options);

/// Mask [B, L] (bool) of the prompt positions that text attribution covers (text and special
/// tokens of the prompt; not media, answer or padding).
torch::Tensor text_attribution_mask(const Examples& examples);

/// Logits of the examples with the given inputs in place of the model's own: gradients flow back
/// into inputs' tensors. Undefined members keep the model's own values. The examples may be
/// repeated (see repeat_examples) as long as the inputs match them.
torch::Tensor forward_with_inputs(mm::MultimodalModel& model, const Examples& examples,
                                  const InputTensors& inputs);

/// Each sample repeated `times` times in a row (for batched interpolation steps).
Examples repeat_examples(const Examples& examples, std::int64_t times);

/// Plain logits of the examples (no grad).
torch::Tensor forward_logits(mm::MultimodalModel& model, const Examples& examples);

/// The model a study runs on.
struct ModelRef {
  /// The model (hooks are attached and removed by the methods).
  mm::MultimodalModel& model;
  /// Its tokenizer.
  const mm::Tokenizer& tokenizer;
  /// A name for reports ("cs-tiny-vl" or the folder).
  std::string name;
};

/// Which samples a study reads.
struct SampleSelection {
  /// Task name (mm::make_task).
  std::string task = "scene_vqa";
  /// "train", "validation" or "test".
  std::string split = "test";
  /// First sample index.
  std::int64_t first = 0;
  /// Number of samples.
  std::int64_t count = 1;
  /// Samples per forward pass (results do not depend on it).
  std::int64_t batch_size = 8;
};

/// Parses a split name; throws UnknownNameError.
mm::Split parse_split(const std::string& name);

/// Loads the selected samples (checking that the model can read the task).
std::vector<mm::Sample> select_samples(const ModelRef& ref, const SampleSelection& selection);

}  // namespace clearsight::interp
