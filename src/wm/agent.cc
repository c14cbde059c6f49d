#include "clearsight/wm/agent.h"

#include <fstream>

#include "clearsight/core/atomic_file.h"
#include "clearsight/core/error.h"
#include "clearsight/core/safetensors.h"
#include "clearsight/nn/module_io.h"

namespace clearsight::wm {
namespace {

namespace fs = std::filesystem;

/// actor.safetensors for the first part (the motor policy), actor-<name>.safetensors after it.
std::string actor_file(std::size_t i, const ActionPart& part) {
  return i == 0 ? "actor.safetensors" : "actor-" + part.name + ".safetensors";
}

}  // namespace

WorldModelAgent::WorldModelAgent(WorldModelConfig model, BehaviorConfig behavior,
                                 std::int64_t action_size, std::int64_t condition_size,
                                 std::vector<ActionPart> parts)
    : model_config_(std::move(model)),
      behavior_config_(std::move(behavior)),
      action_size_(action_size),
      condition_size_(condition_size) {
  model_ = WorldModel(model_config_, action_size, condition_size);
  model_opt_ = std::make_unique<ClippedAdam>(*model_, model_config_.lr, model_config_.eps,
                                             model_config_.grad_clip);
  behavior_ = std::make_unique<Behavior>(model_, behavior_config_, std::move(parts));
}

AgentMetrics WorldModelAgent::update(const SequenceBatch& batch, bool train_behavior) {
  AgentMetrics m;
  const auto post = update_world_model(model_, *model_opt_, batch, m.model);
  if (train_behavior) {
    torch::Tensor condition;
    if (batch.conditions.defined()) condition = batch.conditions.flatten(0, 1);
    m.behavior = behavior_->update(post.flatten_time(), condition);
  }
  return m;
}

FilterState WorldModelAgent::initial_filter() {
  return {model_->rssm()->initial(1), torch::zeros({1, action_size_})};
}

torch::Tensor WorldModelAgent::observe(FilterState& filter, std::span<const std::uint8_t> frame,
                                       std::span<const float> condition, bool sample) {
  torch::NoGradGuard no_grad;
  const auto s = model_config_.image_size;
  CS_CHECK_AS(ShapeError, static_cast<std::int64_t>(frame.size()) == s * s * 3,
              "the agent expects ", s, "x", s, "x3 frames, got ", frame.size(), " bytes");
  CS_CHECK_AS(ShapeError, static_cast<std::int64_t>(condition.size()) == condition_size_,
              "the agent expects conditions of ", condition_size_, ", got ", condition.size());
  const auto pixels =
      torch::from_blob(const_cast<std::uint8_t*>(frame.data()), {1, 1, s, s, 3}, torch::kUInt8);
  const auto embed = model_->embed(pixels).select(1, 0);
  torch::Tensor c;
  if (condition_size_ > 0) {
    c = torch::from_blob(const_cast<float*>(condition.data()), {1, condition_size_},
                         torch::kFloat32)
            .clone();
  }
  filter.state = model_->rssm()->obs_step(filter.state, filter.prev_action, c, embed, sample).first;
  return filter.state.features();
}

void WorldModelAgent::act(FilterState& filter, std::span<const std::uint8_t> frame,
                          std::span<const float> condition, bool explore,
                          std::span<double> action) {
  CS_CHECK_AS(ShapeError, static_cast<std::int64_t>(action.size()) == action_size_,
              "the agent expects actions of ", action_size_, ", got ", action.size());
  const auto features = observe(filter, frame, condition, explore);
  torch::NoGradGuard no_grad;
  torch::Tensor a;
  if (explore) {
    a = behavior_->actors()->sample(features).first;
    if (behavior_config_.expl_noise > 0) {
      a = (a + behavior_config_.expl_noise * torch::randn_like(a)).clamp(-1.0, 1.0);
    }
  } else {
    a = behavior_->actors()->mode(features);
  }
  filter.prev_action = a;
  const auto* p = a.data_ptr<float>();
  for (std::int64_t i = 0; i < action_size_; ++i) action[i] = p[i];
}

void WorldModelAgent::save_networks(const fs::path& dir) const {
  fs::create_directories(dir);
  nn::save_parameters(*model_, dir / "world_model.safetensors");
  for (std::size_t i = 0; i < behavior_->actors()->parts().size(); ++i) {
    const auto& part = behavior_->actors()->parts()[i];
    if (part.learned) {
      nn::save_parameters(*behavior_->actors()->actor(i), dir / actor_file(i, part));
    }
  }
  nn::save_parameters(*behavior_->critic(), dir / "critic.safetensors");
  nn::save_parameters(*behavior_->target_critic(), dir / "target_critic.safetensors");
}

void WorldModelAgent::load_networks(const fs::path& dir) {
  nn::load_parameters(*model_, dir / "world_model.safetensors");
  for (std::size_t i = 0; i < behavior_->actors()->parts().size(); ++i) {
    const auto& part = behavior_->actors()->parts()[i];
    if (part.learned) {
      nn::load_parameters(*behavior_->actors()->actor(i), dir / actor_file(i, part));
    }
  }
  nn::load_parameters(*behavior_->critic(), dir / "critic.safetensors");
  nn::load_parameters(*behavior_->target_critic(), dir / "target_critic.safetensors");
}

void WorldModelAgent::save(const fs::path& dir) {
  save_networks(dir);
  nn::save_optimizer(model_opt_->adam, dir / "model_optimizer.pt");
  nn::save_optimizer(behavior_->actor_optimizer().adam, dir / "actor_optimizer.pt");
  nn::save_optimizer(behavior_->critic_optimizer().adam, dir / "critic_optimizer.pt");
  safetensors::save(dir / "behavior.safetensors",
                    {{"updates", torch::tensor(behavior_->updates, torch::kInt64)}});
}

void WorldModelAgent::load(const fs::path& dir) {
  load_networks(dir);
  nn::load_optimizer(model_opt_->adam, dir / "model_optimizer.pt");
  nn::load_optimizer(behavior_->actor_optimizer().adam, dir / "actor_optimizer.pt");
  nn::load_optimizer(behavior_->critic_optimizer().adam, dir / "critic_optimizer.pt");
  const auto file = safetensors::File::open(dir / "behavior.safetensors");
  behavior_->updates = file.get("updates").item<std::int64_t>();
}

void save_filter(const fs::path& path, const FilterState& filter) {
  const auto& s = filter.state;
  std::vector<std::pair<std::string, torch::Tensor>> t{
      {"deter", s.deter}, {"stoch", s.stoch}, {"prev_action", filter.prev_action}};
  if (s.mean.defined()) {
    t.emplace_back("mean", s.mean);
    t.emplace_back("std", s.std);
  }
  if (s.logits.defined()) t.emplace_back("logits", s.logits);
  safetensors::save(path, t);
}

FilterState load_filter(const fs::path& path) {
  auto t = safetensors::load(path);
  const auto get = [&](const char* name, bool required) {
    auto it = t.find(name);
    CS_CHECK_AS(FormatError, it != t.end() || !required, "'", path.string(), "' lacks '", name,
                "'");
    return it != t.end() ? it->second : torch::Tensor();
  };
  FilterState f;
  f.state.deter = get("deter", true);
  f.state.stoch = get("stoch", true);
  f.state.mean = get("mean", false);
  f.state.std = get("std", false);
  f.state.logits = get("logits", false);
  f.prev_action = get("prev_action", true);
  return f;
}

}  // namespace clearsight::wm
