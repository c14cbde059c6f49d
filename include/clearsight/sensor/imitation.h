// Latent imitation: expert pixel episodes in the world model's convention (with the expert's
// camera as their condition), the discriminator inputs of expert and imagined latents, and the
// imitation reward with its adaptive exploration term.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "clearsight/envs/render.h"
#include "clearsight/sensor/discriminator.h"
#include "clearsight/wm/imagination.h"
#include "clearsight/wm/replay.h"
#include "clearsight/wm/world_model.h"

namespace clearsight::sensor {

/// Expert episodes ready for the world model and the discriminators.
struct ExpertData {
  /// Episodes with conditions = the expert camera, actions [motor, 0, 0, 0] (zeros when the
  /// expert's actions are not used).
  wm::SequenceReplay replay;
  /// The expert camera (the first frame's pose of the chosen view).
  envs::CameraPose pose;
  /// Episodes and mean return recorded in the files.
  std::int64_t episodes = 0;
  double expert_return = 0;
};

/// Loads demonstration files for env (view of each file), frames resized to image_size.
/// Throws what load_demos throws, ConfigError for a missing view or frames, ShapeError when the
/// files disagree with the environment's action size.
ExpertData load_expert(const std::vector<std::string>& files, const std::string& env,
                       std::int64_t view, std::int64_t image_size, std::int64_t motor_size,
                       bool with_actions);

/// Discriminator inputs of expert windows (encoded by the same world model, no gradients):
/// [feature_t, motor action a_t] when with_actions, else [feature_t, feature_{t+1}], for
/// t = 0 .. T - 2, flattened to [B (T - 1), in].
torch::Tensor expert_inputs(wm::WorldModel& model, const wm::SequenceBatch& expert,
                            bool with_actions, std::int64_t motor_size);

/// The same inputs for each imagined transition t -> t + 1: [N, H, in] (with gradients).
torch::Tensor imagined_inputs(const wm::Imagination& imagination, bool with_actions,
                              std::int64_t motor_size);

/// Size of the discriminator input for features of feature_size.
std::int64_t discriminator_input_size(std::int64_t feature_size, bool with_actions,
                                      std::int64_t motor_size);

/// The reward of imagined transitions: the aggregated discriminator logit plus epsilon times the
/// members' disagreement; parts written into imitation / exploration (means) when not null.
torch::Tensor imitation_reward(DiscriminatorEnsemble& discriminators, const torch::Tensor& inputs,
                               const std::string& aggregate, double epsilon,
                               double* imitation = nullptr, double* exploration = nullptr);

}  // namespace clearsight::sensor
