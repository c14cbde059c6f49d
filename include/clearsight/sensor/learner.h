// SENSOR's learning step: the world-model agent with motor and sensor policies (one joint
// learner, or two decoupled ones), the discriminator ensemble and the adaptive epsilon, updated
// together from an agent batch and an expert batch; plus acting and checkpoints of all of it.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <memory>

#include "clearsight/sensor/config.h"
#include "clearsight/sensor/discriminator.h"
#include "clearsight/wm/agent.h"
#include "clearsight/wm/loop.h"

namespace clearsight::sensor {

/// Everything SENSOR learns.
class SensorLearner {
 public:
  /// Builds the networks for an environment with motor_size motor actions.
  SensorLearner(const SensorTrainConfig& config, std::int64_t motor_size);
  /// One update: the world model (on the agent batch, plus the expert batch when expert actions
  /// are used), the behaviour(s) on the imitation reward in imagination, the discriminators on
  /// expert vs imagined latents, then epsilon; the scalars go into window.
  void update(const wm::SequenceBatch& agent_batch, const wm::SequenceBatch& expert_batch,
              wm::MetricsWindow& window);
  /// The full action [1, motor + 3] of filtered features (samples when explore, else modes).
  torch::Tensor policy_action(const torch::Tensor& features, bool explore);
  /// Saves the networks for evaluation.
  void save_networks(const std::filesystem::path& dir);
  /// Saves networks and optimisers (a checkpoint's part).
  void save(const std::filesystem::path& dir);
  /// Restores what save wrote.
  void load(const std::filesystem::path& dir);

  /// The world-model agent (model, motor and, when joint, sensor policies).
  wm::WorldModelAgent& agent() { return agent_; }
  /// The discriminators.
  DiscriminatorEnsemble& discriminators() { return discriminators_; }
  /// The exploration weight.
  AdaptiveEpsilon& epsilon() { return epsilon_; }
  /// Size of the motor actions.
  std::int64_t motor_size() const { return motor_; }

 private:
  SensorConfig sensor_;
  wm::WmTrainConfig agent_config_;
  std::int64_t motor_;
  bool joint_;
  wm::WorldModelAgent agent_;
  std::unique_ptr<wm::Behavior> sensor_learner_;
  DiscriminatorEnsemble discriminators_{nullptr};
  std::unique_ptr<wm::ClippedAdam> disc_opt_;
  AdaptiveEpsilon epsilon_;
  wm::ConditionStep dynamics_;
};

}  // namespace clearsight::sensor
