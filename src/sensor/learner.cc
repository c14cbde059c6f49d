#include "clearsight/sensor/learner.h"

#include "clearsight/core/error.h"
#include "clearsight/core/safetensors.h"
#include "clearsight/nn/module_io.h"
#include "clearsight/sensor/camera.h"
#include "clearsight/sensor/imitation.h"

namespace clearsight::sensor {
namespace {

namespace fs = std::filesystem;

/// Sets requires_grad(false) on a module's parameters for a scope.
class Frozen {
 public:
  explicit Frozen(torch::nn::Module& m) : parameters_(m.parameters()) {
    for (auto& p : parameters_) p.requires_grad_(false);
  }
  ~Frozen() {
    for (auto& p : parameters_) p.requires_grad_(true);
  }

 private:
  std::vector<torch::Tensor> parameters_;
};

void save_behavior(const fs::path& dir, wm::Behavior& b) {
  fs::create_directories(dir);
  nn::save_parameters(*b.actors(), dir / "actors.safetensors");
  nn::save_parameters(*b.critic(), dir / "critic.safetensors");
  nn::save_parameters(*b.target_critic(), dir / "target_critic.safetensors");
  nn::save_optimizer(b.actor_optimizer().adam, dir / "actor_optimizer.pt");
  nn::save_optimizer(b.critic_optimizer().adam, dir / "critic_optimizer.pt");
  safetensors::save(dir / "behavior.safetensors",
                    {{"updates", torch::tensor(b.updates, torch::kInt64)}});
}

void load_behavior(const fs::path& dir, wm::Behavior& b, bool optimizers) {
  nn::load_parameters(*b.actors(), dir / "actors.safetensors");
  nn::load_parameters(*b.critic(), dir / "critic.safetensors");
  nn::load_parameters(*b.target_critic(), dir / "target_critic.safetensors");
  if (!optimizers) return;
  nn::load_optimizer(b.actor_optimizer().adam, dir / "actor_optimizer.pt");
  nn::load_optimizer(b.critic_optimizer().adam, dir / "critic_optimizer.pt");
  b.updates =
      safetensors::File::open(dir / "behavior.safetensors").get("updates").item<std::int64_t>();
}

/// Random rows of x, at most n (torch's generator: part of the resumable state).
torch::Tensor subsample(const torch::Tensor& x, std::int64_t n) {
  if (x.size(0) <= n) return x;
  return x.index_select(0, torch::randperm(x.size(0), torch::kLong).narrow(0, 0, n));
}

}  // namespace

SensorLearner::SensorLearner(const SensorTrainConfig& c, std::int64_t motor_size)
    : sensor_(c.sensor),
      agent_config_(c.agent),
      motor_(motor_size),
      joint_(c.sensor.learning == "joint"),
      agent_(c.agent.model, c.agent.behavior, motor_size + kCameraConditionSize,
             kCameraConditionSize,
             {{"motor", motor_size, true},
              {"sensor", kCameraConditionSize, c.sensor.sensor_policy && joint_}}),
      epsilon_(c.sensor.epsilon_init, c.sensor.epsilon_min, c.sensor.epsilon_max,
               c.sensor.target_accuracy, c.sensor.epsilon_rate, c.sensor.adaptive_epsilon) {
  if (!joint_) {
    sensor_learner_ = std::make_unique<wm::Behavior>(
        agent_.model(), c.agent.behavior,
        std::vector<wm::ActionPart>{{"motor", motor_size, false},
                                    {"sensor", kCameraConditionSize, true}});
  }
  const auto in = discriminator_input_size(agent_.model()->rssm()->feature_size(),
                                           c.sensor.expert_actions, motor_size);
  discriminators_ = DiscriminatorEnsemble(in, c.sensor.ensemble, c.sensor.disc_hidden);
  disc_opt_ = std::make_unique<wm::ClippedAdam>(*discriminators_, c.sensor.disc_lr,
                                                c.agent.behavior.eps, c.agent.behavior.grad_clip);
  const auto& d = c.sensor.max_camera_delta;
  dynamics_ = camera_dynamics(motor_size, {d.at(0), d.at(1), d.at(2)}, c.sensor.sensor_every);
}

torch::Tensor SensorLearner::policy_action(const torch::Tensor& features, bool explore) {
  torch::NoGradGuard no_grad;
  auto a = explore ? agent_.behavior().actors()->sample(features).first
                   : agent_.behavior().actors()->mode(features);
  if (sensor_learner_) {
    const auto s = explore ? sensor_learner_->actors()->sample(features).first
                           : sensor_learner_->actors()->mode(features);
    a = torch::cat({a.narrow(1, 0, motor_), s.narrow(1, motor_, kCameraConditionSize)}, 1);
  }
  return a;
}

void SensorLearner::save_networks(const fs::path& dir) {
  agent_.save_networks(dir);
  nn::save_parameters(*discriminators_, dir / "discriminators.safetensors");
  if (sensor_learner_) {
    nn::save_parameters(*sensor_learner_->actors(), dir / "sensor_actors.safetensors");
  }
}

void SensorLearner::save(const fs::path& dir) {
  agent_.save(dir / "agent");
  nn::save_parameters(*discriminators_, dir / "discriminators.safetensors");
  nn::save_optimizer(disc_opt_->adam, dir / "discriminator_optimizer.pt");
  if (sensor_learner_) save_behavior(dir / "sensor_learner", *sensor_learner_);
}

void SensorLearner::load(const fs::path& dir) {
  agent_.load(dir / "agent");
  nn::load_parameters(*discriminators_, dir / "discriminators.safetensors");
  nn::load_optimizer(disc_opt_->adam, dir / "discriminator_optimizer.pt");
  if (sensor_learner_) load_behavior(dir / "sensor_learner", *sensor_learner_, true);
}

void SensorLearner::update(const wm::SequenceBatch& batch, const wm::SequenceBatch& expert_batch,
                           wm::MetricsWindow& window) {
  const auto& s = sensor_;
  const auto& a = agent_config_;
  const auto motor_size = motor_;
  auto& agent = agent_;
  wm::SequenceBatch model_batch = batch;
  if (s.expert_actions) {
    // The expert's episodes train the model too (they carry actions).
    auto cat = [](const torch::Tensor& x, const torch::Tensor& y) { return torch::cat({x, y}); };
    model_batch.images = cat(batch.images, expert_batch.images);
    model_batch.prev_actions = cat(batch.prev_actions, expert_batch.prev_actions);
    model_batch.rewards = cat(batch.rewards, expert_batch.rewards);
    model_batch.conditions = cat(batch.conditions, expert_batch.conditions);
    model_batch.is_first = cat(batch.is_first, expert_batch.is_first);
    model_batch.terminals = cat(batch.terminals, expert_batch.terminals);
  }
  wm::AgentMetrics m;
  const auto post =
      wm::update_world_model(agent.model(), agent.model_optimizer(), model_batch, m.model);
  const auto start = post.narrow_batch(0, a.batch).flatten_time();
  const auto cond = batch.conditions.flatten(0, 1);
  const auto expert_x = expert_inputs(agent.model(), expert_batch, s.expert_actions, motor_size);
  double imitation = 0, exploration = 0;
  const wm::ImaginedReward reward = [&](const wm::Imagination& imag) {
    const auto x = imagined_inputs(imag, s.expert_actions, motor_size);
    return imitation_reward(discriminators_, x, s.aggregate, epsilon_.value(), &imitation,
                            &exploration);
  };
  torch::Tensor policy_x;
  const auto collect = [&](const wm::Imagination& imag) {
    const auto x = imagined_inputs(imag, s.expert_actions, motor_size);
    policy_x = x.reshape({-1, x.size(-1)});
  };
  {
    Frozen frozen(*discriminators_);
    const bool moves = s.sensor_policy && joint_;
    m.behavior = agent.behavior().update(start, cond, moves ? dynamics_ : wm::ConditionStep{},
                                         reward, collect);
    if (sensor_learner_) {
      const auto sm = sensor_learner_->update(start, cond, dynamics_, reward);
      window.add("sensor_actor_loss", sm.actor_loss);
      window.add("sensor_imagined_return", sm.imagined_return);
    }
  }
  const auto n = std::min<std::int64_t>({expert_x.size(0), policy_x.size(0), 1024});
  const auto d =
      discriminators_->loss(subsample(expert_x, n), subsample(policy_x, n), s.gradient_penalty);
  window.add("disc_grad_norm", disc_opt_->step(d.total));
  epsilon_.update(d.accuracy);
  wm::add_agent_metrics(window, m);
  window.add("disc_loss", d.logistic);
  window.add("disc_penalty", d.penalty);
  window.add("disc_accuracy", d.accuracy);
  window.add("expert_logit", d.expert_logit);
  window.add("policy_logit", d.policy_logit);
  window.add("imitation_reward", imitation);
  window.add("exploration_reward", exploration);
  window.add("epsilon", epsilon_.value());
}

}  // namespace clearsight::sensor
