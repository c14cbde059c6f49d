#include "clearsight/wm/loop.h"

#include <cmath>
#include <numeric>
#include <sstream>

#include "clearsight/core/error.h"

namespace clearsight::wm {

using Json = nlohmann::json;

Json LoopState::to_json() const {
  return {{"step", step},
          {"episodes", episodes},
          {"updates", updates},
          {"episode_return", episode_return},
          {"best_eval", std::isfinite(best_eval) ? Json(best_eval) : Json(nullptr)},
          {"last_eval", last_eval},
          {"seconds", seconds},
          {"recent_returns", std::vector<double>(recent_returns.begin(), recent_returns.end())}};
}

void LoopState::from_json(const Json& j) {
  step = j.at("step").get<std::int64_t>();
  episodes = j.at("episodes").get<std::int64_t>();
  updates = j.at("updates").get<std::int64_t>();
  episode_return = j.at("episode_return").get<double>();
  best_eval = j.at("best_eval").is_null() ? -std::numeric_limits<double>::infinity()
                                          : j.at("best_eval").get<double>();
  last_eval = j.at("last_eval").get<double>();
  seconds = j.at("seconds").get<double>();
  const auto r = j.at("recent_returns").get<std::vector<double>>();
  recent_returns.assign(r.begin(), r.end());
}

void LoopState::end_episode() {
  ++episodes;
  recent_returns.push_back(episode_return);
  if (recent_returns.size() > 10) recent_returns.pop_front();
  episode_return = 0;
}

double LoopState::recent_mean() const {
  if (recent_returns.empty()) return 0.0;
  return std::accumulate(recent_returns.begin(), recent_returns.end(), 0.0) /
         static_cast<double>(recent_returns.size());
}

void MetricsWindow::add(const std::string& name, double value) {
  sum_[name] += value;
  count_[name] += 1;
}

void MetricsWindow::write_into(Json& record) {
  for (const auto& [name, total] : sum_) record[name] = total / count_[name];
  sum_.clear();
  count_.clear();
}

void add_agent_metrics(MetricsWindow& w, const AgentMetrics& m) {
  const auto& wm = m.model;
  w.add("loss", wm.loss);
  w.add("image_loss", wm.image_loss);
  w.add("reward_loss", wm.reward_loss);
  w.add("kl", wm.kl);
  w.add("kl_loss", wm.kl_loss);
  w.add("model_grad_norm", wm.grad_norm);
  w.add("prior_entropy", wm.prior_entropy);
  w.add("posterior_entropy", wm.posterior_entropy);
  if (wm.continuation_loss != 0) w.add("continuation_loss", wm.continuation_loss);
  const auto& b = m.behavior;
  w.add("actor_loss", b.actor_loss);
  w.add("critic_loss", b.critic_loss);
  w.add("imagined_return", b.imagined_return);
  w.add("imagined_reward", b.imagined_reward);
  w.add("actor_entropy", b.actor_entropy);
  w.add("value", b.value);
}

std::string rng_to_string(const RngEngine& rng) {
  std::ostringstream out;
  out << rng;
  return out.str();
}

void rng_from_string(RngEngine& rng, const std::string& text) {
  std::istringstream in(text);
  in >> rng;
  CS_CHECK_AS(FormatError, !in.fail(), "a checkpoint's generator state is malformed");
}

}  // namespace clearsight::wm
