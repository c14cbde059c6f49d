#include "clearsight/sensor/imitation.h"

#include "clearsight/core/error.h"
#include "clearsight/il/demos.h"
#include "clearsight/sensor/camera.h"

namespace clearsight::sensor {

ExpertData load_expert(const std::vector<std::string>& files, const std::string& env,
                       std::int64_t view, std::int64_t image_size, std::int64_t motor_size,
                       bool with_actions) {
  CS_CHECK_AS(ConfigError, !files.empty(), "SENSOR needs expert demonstrations (--demos F.h5)");
  ExpertData out;
  double total = 0;
  bool first = true;
  for (const auto& file : files) {
    const auto demos = il::load_demos(file, env);
    auto episodes = wm::demo_episodes(demos, view, image_size, motor_size, "demo:" + file);
    const auto poses = demos.view_camera_poses(view);
    const auto starts = demos.episode_starts();
    if (first) {
      out.pose = {poses[0][0].item<double>(), poses[0][1].item<double>(),
                  poses[0][2].item<double>()};
      first = false;
    }
    for (std::size_t i = 0; i < episodes.size(); ++i) {
      auto& e = episodes[i];
      const auto rows = poses.narrow(0, starts[i], e.length());
      std::vector<float> c;
      c.reserve(static_cast<std::size_t>(e.length() * 3));
      for (std::int64_t t = 0; t < e.length(); ++t) {
        const auto cc = camera_condition(
            {rows[t][0].item<double>(), rows[t][1].item<double>(), rows[t][2].item<double>()});
        c.insert(c.end(), cc.begin(), cc.end());
      }
      e.conditions = torch::from_blob(c.data(), {e.length(), 3}, torch::kFloat32).clone();
      auto motor = with_actions ? e.prev_actions : torch::zeros_like(e.prev_actions);
      e.prev_actions = torch::cat({motor, torch::zeros({e.length(), kCameraConditionSize})}, 1);
      out.replay.add(std::move(e));
    }
    out.episodes += demos.episodes();
    for (double r : demos.meta.episode_returns) total += r;
  }
  out.expert_return = total / static_cast<double>(out.episodes);
  return out;
}

std::int64_t discriminator_input_size(std::int64_t feature_size, bool with_actions,
                                      std::int64_t motor_size) {
  return feature_size + (with_actions ? motor_size : feature_size);
}

torch::Tensor expert_inputs(wm::WorldModel& model, const wm::SequenceBatch& expert,
                            bool with_actions, std::int64_t motor_size) {
  torch::NoGradGuard no_grad;
  const auto embed = model->embed(expert.images);
  const auto post =
      model->rssm()->observe(embed, expert.prev_actions, expert.conditions, expert.is_first).first;
  const auto f = post.features();  // [B, T, F]
  const auto t = f.size(1);
  CS_CHECK_AS(ShapeError, t >= 2, "expert windows need at least 2 steps");
  torch::Tensor x;
  if (with_actions) {
    // The action taken in frame t is the one stored before frame t + 1.
    x = torch::cat(
        {f.narrow(1, 0, t - 1), expert.prev_actions.narrow(1, 1, t - 1).narrow(2, 0, motor_size)},
        -1);
  } else {
    x = torch::cat({f.narrow(1, 0, t - 1), f.narrow(1, 1, t - 1)}, -1);
  }
  return x.reshape({-1, x.size(-1)});
}

torch::Tensor imagined_inputs(const wm::Imagination& imagination, bool with_actions,
                              std::int64_t motor_size) {
  const auto f = imagination.features();  // [N, H + 1, F]
  const auto h = imagination.actions.size(1);
  if (with_actions) {
    return torch::cat({f.narrow(1, 0, h), imagination.actions.narrow(2, 0, motor_size)}, -1);
  }
  return torch::cat({f.narrow(1, 0, h), f.narrow(1, 1, h)}, -1);
}

torch::Tensor imitation_reward(DiscriminatorEnsemble& discriminators, const torch::Tensor& inputs,
                               const std::string& aggregate, double epsilon, double* imitation,
                               double* exploration) {
  const auto r = discriminators->reward(inputs, aggregate);
  const auto d = discriminators->disagreement(inputs);
  if (imitation != nullptr) *imitation = r.detach().mean().item<double>();
  if (exploration != nullptr) *exploration = d.detach().mean().item<double>();
  return r + epsilon * d;
}

}  // namespace clearsight::sensor
