// Synthetic demonstration datasets for the il tests: episodes whose next_observations[t] is
// observations[t + 1], dimensions of very different scales, optional frames.
#pragma once

#include <random>

#include "clearsight/core/rng.h"
#include "clearsight/il/demos.h"
#include "clearsight/version.h"

namespace clearsight::il::testing {

/// Scale of observation dimension j (1, 10, 0.1, 100, 3, 1, 10...).
inline double dimension_scale(std::int64_t j) {
  constexpr double kScales[] = {1.0, 10.0, 0.1, 100.0, 3.0};
  return kScales[j % 5];
}

/// episodes x length transitions; states are N(3 * scale_j, scale_j^2) (never exactly 0); even
/// episodes end by termination, odd ones by timeout; episode 1 is marked non-expert.
inline DemoDataset make_dataset(int episodes, int length, int obs, int act, bool images,
                                std::uint64_t seed = 1) {
  RngEngine rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::uniform_real_distribution<double> uniform(-0.5, 0.5);
  const std::int64_t t = static_cast<std::int64_t>(episodes) * length;
  DemoDataset d;
  d.observations = torch::empty({t, obs});
  d.next_observations = torch::empty({t, obs});
  d.actions = torch::empty({t, act});
  d.rewards = torch::empty({t});
  d.terminals = torch::zeros({t}, torch::kBool);
  d.timeouts = torch::zeros({t}, torch::kBool);
  auto o = d.observations.accessor<float, 2>();
  auto n = d.next_observations.accessor<float, 2>();
  auto a = d.actions.accessor<float, 2>();
  auto r = d.rewards.accessor<float, 1>();
  std::vector<float> state(static_cast<std::size_t>(obs));
  auto draw_state = [&] {
    for (int j = 0; j < obs; ++j) {
      state[j] = static_cast<float>(dimension_scale(j) * (3.0 + normal(rng)));
    }
  };
  std::int64_t row = 0;
  for (int e = 0; e < episodes; ++e) {
    draw_state();
    for (int s = 0; s < length; ++s, ++row) {
      for (int j = 0; j < obs; ++j) o[row][j] = state[j];
      draw_state();
      for (int j = 0; j < obs; ++j) n[row][j] = state[j];
      for (int j = 0; j < act; ++j) a[row][j] = static_cast<float>(uniform(rng));
      r[row] = static_cast<float>(1.0 + normal(rng));
    }
    (e % 2 == 0 ? d.terminals : d.timeouts)[row - 1] = true;
  }
  if (images) {
    d.images = torch::randint(0, 256, {t, 6, 8, 3}, torch::kUInt8);
    d.camera_poses = torch::tensor({3.0f, 90.0f, -45.0f}).repeat({t, 1});
    d.camera_poses.index_put_({torch::indexing::Slice(), 1}, torch::arange(t).to(torch::kFloat32));
  }
  d.meta.env = "Hopper-v4";
  d.meta.expert = "tests/expert";
  d.meta.expert_return = 123.5;
  d.meta.seed = 7;
  d.meta.noise_seed = 11;
  d.meta.deterministic = false;
  d.meta.clearsight_version = kVersion;
  d.derive_episodes();
  if (episodes > 1) d.meta.episode_expert[1] = 0;
  return d;
}

}  // namespace clearsight::il::testing
