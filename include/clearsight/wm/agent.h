// The world-model agent: the model, its optimiser and the behaviour, updated together on
// sequence batches, and the filter that turns each new frame into an action while collecting
// or evaluating (posterior update, then the actor, plus exploration noise).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>

#include "clearsight/wm/behavior.h"
#include "clearsight/wm/config.h"
#include "clearsight/wm/replay.h"
#include "clearsight/wm/world_model.h"

namespace clearsight::wm {

/// Scalars of one agent update (model, then behaviour).
struct AgentMetrics {
  WorldModelMetrics model;
  BehaviorMetrics behavior;
};

/// The online belief of one environment: the last posterior state and the action taken since.
struct FilterState {
  RssmState state;
  torch::Tensor prev_action;
};

/// World model + actor-critic; acting goes through a FilterState per environment.
class WorldModelAgent {
 public:
  /// Builds every network for actions of action_size and conditions of condition_size; parts
  /// split the actions into policies (default: one motor policy over all of them).
  WorldModelAgent(WorldModelConfig model, BehaviorConfig behavior, std::int64_t action_size,
                  std::int64_t condition_size = 0, std::vector<ActionPart> parts = {});
  /// One model update on batch, then one behaviour update from its posterior states (when
  /// train_behavior).
  AgentMetrics update(const SequenceBatch& batch, bool train_behavior = true);
  /// The belief at the start of an episode: zero state and zero previous action.
  FilterState initial_filter();
  /// Filters frame (S x S x 3 bytes) into filter with its previous action and the condition
  /// (sampling the posterior when sample, else its mode) and returns the features [1, F].
  torch::Tensor observe(FilterState& filter, std::span<const std::uint8_t> frame,
                        std::span<const float> condition, bool sample);
  /// Filters frame (S x S x 3 bytes) into filter with its previous action and the condition,
  /// then writes the action (and keeps it in filter): the actor's sample plus Gaussian noise of
  /// expl_noise when explore (sampling the posterior), else the modes (no randomness).
  void act(FilterState& filter, std::span<const std::uint8_t> frame,
           std::span<const float> condition, bool explore, std::span<double> action);
  /// Saves networks, optimisers and the update count into dir.
  void save(const std::filesystem::path& dir);
  /// Restores what save wrote; throws IoError/FormatError/ShapeError.
  void load(const std::filesystem::path& dir);
  /// Saves only the networks (for evaluation) into dir.
  void save_networks(const std::filesystem::path& dir) const;
  /// Loads networks saved by save_networks or save.
  void load_networks(const std::filesystem::path& dir);

  /// The world model.
  WorldModel& model() { return model_; }
  /// The behaviour.
  Behavior& behavior() { return *behavior_; }
  /// The world model's optimiser.
  ClippedAdam& model_optimizer() { return *model_opt_; }
  /// Size of the conditions.
  std::int64_t condition_size() const { return condition_size_; }
  /// Size of the actions.
  std::int64_t action_size() const { return action_size_; }

 private:
  WorldModelConfig model_config_;
  BehaviorConfig behavior_config_;
  std::int64_t action_size_, condition_size_;
  WorldModel model_{nullptr};
  std::unique_ptr<ClippedAdam> model_opt_;
  std::unique_ptr<Behavior> behavior_;
};

/// Saves a filter state as safetensors.
void save_filter(const std::filesystem::path& path, const FilterState& filter);
/// Loads a filter state; throws IoError/FormatError.
FilterState load_filter(const std::filesystem::path& path);

}  // namespace clearsight::wm
