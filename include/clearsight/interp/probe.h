// Linear probes by layer: multinomial logistic regression on hidden states collected at hook
// points, trained on one split and tested on another, with a shuffled-label control task
// (selectivity, Hewitt & Liang 2019) and the majority-class rate as chance.
#pragma once

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "clearsight/interp/examples.h"

namespace clearsight::interp {

// ---- Hook points and tasks --------------------------------------------------------------------

/// Full hook names for specifications: a full name ("hook_embed", "blocks.2.mlp.hook_post") is
/// kept, a per-block suffix ("hook_resid_post", "mlp.hook_post") expands to blocks.{l}.<suffix>
/// for every layer; duplicates are dropped. Throws UnknownNameError for a name the model lacks.
std::vector<std::string> resolve_hooks(const mm::MultimodalModel& model,
                                       const std::vector<std::string>& specs);

/// The default hook specifications: hook_embed and every block's hook_resid_post.
std::vector<std::string> default_layer_hooks();

/// The question-answering tasks the model can read (captioning left out: its prompts have the
/// same positions as scene_vqa's): for cs-tiny-vl scene_vqa, text_choice, motion_qa; for
/// cs-tiny-audio text_choice, speech, sound_event.
std::vector<std::string> modality_tasks(const mm::MultimodalModel& model);

// ---- Feature collection -----------------------------------------------------------------------

/// How hidden states are collected.
struct FeatureOptions {
  /// Full hook names (see resolve_hooks).
  std::vector<std::string> hooks;
  /// Empty: one row per prompt position; a group name (group_names(), e.g. "last", "image"):
  /// one row per sample, the mean over the group's positions (samples without any are skipped).
  std::string pool;
  /// Per-position rows: at most this many positions per prompt (0 = all), drawn in turn from
  /// each modality present so that small modalities are not crowded out.
  std::int64_t positions_per_prompt = 16;
  /// At most this many rows in all (collection stops there), bounding memory.
  std::int64_t max_examples = 20000;
  /// Prompts per forward pass (the features do not depend on it).
  std::int64_t batch_size = 8;
  /// Seed of the position subsampling (each prompt's draw depends on its task and index only).
  std::uint64_t seed = 0;
  /// Show a progress bar.
  bool progress = false;
  /// Label of the progress bar.
  std::string label = "features";
};

/// Hidden states of many positions at several hook points, stored as float32 on the CPU.
struct Features {
  /// Full hook names, in the order of values.
  std::vector<std::string> hooks;
  /// Per hook [rows, d] float32.
  std::vector<torch::Tensor> values;
  /// Per row, the modality of its position ("text", "special", "image", "video", "audio"); for
  /// pooled rows, the pooled group's name.
  std::vector<std::string> modality;
  /// Per row, the index of its sample in the samples passed to collect_features.
  std::vector<std::int64_t> sample;
  /// Per row, the position in the prompt (-1 for pooled rows).
  std::vector<std::int64_t> position;
  /// Samples read (a prefix of the samples when max_examples stopped the collection).
  std::int64_t prompts = 0;

  /// Number of rows.
  std::int64_t rows() const { return static_cast<std::int64_t>(modality.size()); }
  /// The values of a hook; throws UnknownNameError.
  const torch::Tensor& at(const std::string& hook) const;
};

/// Runs the model over the samples in batches (prompt positions are unaffected by the padding
/// and by the teacher-forced answer) and collects the hooks' activations at prompt positions.
Features collect_features(const ModelRef& ref, const std::vector<mm::Sample>& samples,
                          const FeatureOptions& options);

// ---- Probes ------------------------------------------------------------------------------------

/// Training settings of one probe.
struct ProbeTrainOptions {
  /// Passes over the training rows (full batch: Adam steps).
  std::int64_t epochs = 300;
  /// Rows per Adam step; 0 = full batch.
  std::int64_t batch_size = 0;
  /// Adam learning rate.
  double lr = 0.05;
  /// L2 penalty on the weights (not the bias), added to the mean cross-entropy.
  double l2 = 1e-4;
  /// Seed of the mini-batch order.
  std::uint64_t seed = 0;
};

/// A trained multinomial logistic probe on standardised features.
struct LinearProbe {
  /// [d] training mean.
  torch::Tensor mean;
  /// [d] training standard deviation (1 where a feature is constant).
  torch::Tensor scale;
  /// [classes, d].
  torch::Tensor weight;
  /// [classes].
  torch::Tensor bias;

  /// Logits [n, classes] of raw features x [n, d].
  torch::Tensor logits(const torch::Tensor& x) const;
  /// Predicted class ids [n] (int64).
  torch::Tensor predict(const torch::Tensor& x) const;
  /// Fraction of rows whose prediction equals y (int64 [n]).
  double accuracy(const torch::Tensor& x, const torch::Tensor& y) const;
};

/// Trains a probe on x [n, d] with labels y [n] (int64 in [0, classes)); deterministic for a
/// given seed. Throws ShapeError on mismatched inputs.
LinearProbe train_probe(const torch::Tensor& x, const torch::Tensor& y, std::int64_t classes,
                        const ProbeTrainOptions& options = {});

/// Labels y permuted by a fixed permutation drawn from seed (the control task's labels: same
/// class shares, no relation to the features).
torch::Tensor shuffled_labels(const torch::Tensor& y, std::uint64_t seed);

/// Accuracy on test_y of always answering the most frequent class of train_y (chance).
double majority_accuracy(const torch::Tensor& train_y, const torch::Tensor& test_y);

// ---- The study ---------------------------------------------------------------------------------

/// Label kinds: "modality" (per prompt position), "answer" (per sample, the answer word).
const std::vector<std::string>& probe_labels();

/// Settings of a probing study.
struct ProbeOptions {
  /// "modality" or "answer" (probe_labels()).
  std::string label = "modality";
  /// Tasks read; empty = modality_tasks(model) for "modality", and for "answer" scene_vqa
  /// (vision models), sound_event (audio models) or text_choice.
  std::vector<std::string> tasks;
  /// Only samples of this question type ("color", "sound", ...; empty = all).
  std::string question_type;
  /// "answer": the group whose positions are pooled ("last", or the mean over "image", "video",
  /// "audio", ...). Samples whose answer has several words are left out.
  std::string pool = "last";
  /// Hook specifications (resolve_hooks); empty = default_layer_hooks().
  std::vector<std::string> hooks;
  /// Split the probes train on.
  std::string train_split = "train";
  /// Held-out split the probes are tested on.
  std::string test_split = "validation";
  /// Training samples per task (fewer when the filters leave fewer).
  std::int64_t train_samples = 96;
  /// Test samples per task.
  std::int64_t test_samples = 48;
  /// Prompts per forward pass.
  std::int64_t batch_size = 8;
  /// "modality": positions kept per prompt (0 = all).
  std::int64_t positions_per_prompt = 16;
  /// Most rows per split.
  std::int64_t max_examples = 20000;
  /// Probe training.
  ProbeTrainOptions train;
  /// Seed of subsampling, mini-batch order and the control permutations.
  std::uint64_t seed = 0;
  /// Show progress bars.
  bool progress = true;
};

/// Per-layer probe results.
struct ProbeResult {
  /// Full hook names, in order.
  std::vector<std::string> layers;
  /// Class names (index = class id).
  std::vector<std::string> classes;
  /// Tasks read.
  std::vector<std::string> tasks;
  /// Held-out accuracy per layer.
  std::vector<double> accuracy;
  /// Held-out accuracy of the probe trained and tested on shuffled labels.
  std::vector<double> control_accuracy;
  /// accuracy - control_accuracy.
  std::vector<double> selectivity;
  /// Majority-class accuracy on the held-out rows (the same for every layer).
  std::vector<double> chance;
  /// Training accuracy per layer.
  std::vector<double> train_accuracy;
  /// Per class, held-out accuracy (recall) per layer.
  std::map<std::string, std::vector<double>> class_accuracy;
  /// Rows per class in the training and test sets.
  std::map<std::string, std::int64_t> train_counts, test_counts;
  /// Prompts read per split.
  std::int64_t train_prompts = 0, test_prompts = 0;
  /// Rows per split.
  std::int64_t train_examples = 0, test_examples = 0;
  /// The trained probes, per layer.
  std::vector<LinearProbe> probes;

  /// The numbers as JSON (keys as the fields).
  nlohmann::json to_json() const;
};

/// Collects features of both splits and trains a probe and a control probe per layer.
ProbeResult probe_layers(const ModelRef& ref, const ProbeOptions& options);

/// The study: probe_layers, then out_dir/result.json (method, model, options and the fields of
/// ProbeResult), probes.safetensors and a report (accuracy by layer with control and chance).
nlohmann::json run_probe(const ModelRef& ref, const ProbeOptions& options,
                         const std::filesystem::path& out_dir);

}  // namespace clearsight::interp
