#include "clearsight/wm/replay.h"

#include <gtest/gtest.h>

#include "clearsight/core/error.h"
#include "clearsight/il/demos.h"
#include "test_util.h"

namespace clearsight::wm {
namespace {

// Episode e of length n: rewards e * 1000 + t mark where each row came from.
Episode marked_episode(int e, std::int64_t n) {
  Episode ep;
  ep.images = torch::full({n, 4, 4, 3}, e, torch::kUInt8);
  ep.prev_actions = torch::zeros({n, 2});
  ep.rewards = torch::arange(n, torch::kFloat32) + 1000.0f * static_cast<float>(e);
  ep.conditions = torch::zeros({n, 0});
  ep.terminals = torch::zeros({n}, torch::kBool);
  return ep;
}

TEST(WmReplay, WindowsNeverCrossAnEpisodeBoundary) {
  SequenceReplay replay;
  replay.add(marked_episode(0, 12));
  replay.add(marked_episode(1, 5));  // Shorter than a window: never sampled.
  replay.add(marked_episode(2, 9));
  RngEngine rng(3);
  for (int i = 0; i < 50; ++i) {
    const auto b = replay.sample(8, 6, rng);
    ASSERT_EQ(b.rewards.sizes(), (std::vector<std::int64_t>{8, 6}));
    for (int k = 0; k < 8; ++k) {
      const auto r = b.rewards[k];
      const double first = r[0].item<double>();
      const int episode = static_cast<int>(first / 1000);
      EXPECT_NE(episode, 1);
      for (int t = 1; t < 6; ++t) EXPECT_EQ(r[t].item<double>(), first + t);
      // is_first only where the window starts at the episode's first row.
      EXPECT_EQ(b.is_first[k][0].item<bool>(), first == episode * 1000);
      EXPECT_FALSE(b.is_first[k].narrow(0, 1, 5).any().item<bool>());
      EXPECT_TRUE((b.images[k] == episode).all().item<bool>());
    }
  }
}

TEST(WmReplay, CrossingWindowsMarkTheJoinWithIsFirst) {
  SequenceReplay replay;
  replay.add(marked_episode(0, 3));
  replay.add(marked_episode(1, 3));
  RngEngine rng(0);
  EXPECT_FALSE(replay.can_sample(5));
  EXPECT_TRUE(replay.can_sample(5, true));
  EXPECT_THROW(replay.sample(1, 5, rng), RuntimeError);
  for (int i = 0; i < 20; ++i) {
    const auto b = replay.sample(1, 5, rng, true);
    for (int t = 0; t < 5; ++t) {
      const double r = b.rewards[0][t].item<double>();
      const bool start_of_episode = r == 0.0 || r == 1000.0;
      EXPECT_EQ(b.is_first[0][t].item<bool>(), start_of_episode) << "t " << t << " r " << r;
    }
  }
}

TEST(WmReplay, EpisodesRoundTripThroughTheDirectoryAndLaterOnesAreDropped) {
  testing::TempDir dir;
  {
    SequenceReplay replay(dir / "replay");
    for (int e = 0; e < 3; ++e) replay.add(marked_episode(e, 4 + e));
  }
  SequenceReplay all(dir / "replay");
  all.load_directory();
  ASSERT_EQ(all.episodes(), 3);
  EXPECT_EQ(all.steps(), 4 + 5 + 6);
  EXPECT_TRUE(torch::equal(all.episode(2).rewards, marked_episode(2, 6).rewards));
  SequenceReplay first_two(dir / "replay");
  first_two.load_directory(2);
  EXPECT_EQ(first_two.episodes(), 2);
  EXPECT_FALSE(std::filesystem::exists(dir / "replay" / "episode-000002.safetensors"));
  SequenceReplay too_many(dir / "replay");
  EXPECT_THROW(too_many.load_directory(5), IoError);
}

TEST(WmReplay, BadEpisodesAndFilesGiveClearErrors) {
  SequenceReplay replay;
  auto e = marked_episode(0, 4);
  e.rewards = torch::zeros({3});
  EXPECT_THROW(replay.add(e), ShapeError);
  auto nan = marked_episode(0, 4);
  nan.prev_actions[1][0] = std::nan("");
  EXPECT_THROW(replay.add(nan), NumericError);
  replay.add(marked_episode(0, 4));
  auto other = marked_episode(1, 4);
  other.images = torch::zeros({4, 8, 8, 3}, torch::kUInt8);
  EXPECT_THROW(replay.add(other), ShapeError);
  testing::TempDir dir;
  testing::write_bytes(dir / "bad.safetensors", "not a safetensors file");
  EXPECT_THROW(load_episode(dir / "bad.safetensors"), FormatError);
}

TEST(WmReplay, EpisodeBuilderKeepsStepsInOrder) {
  EpisodeBuilder b(2, 2, 1, 1);
  const std::vector<std::uint8_t> frame(12, 7);
  for (int t = 0; t < 3; ++t) {
    const float a = static_cast<float>(t), c = 10.0f + t;
    b.add(frame, {&a, 1}, static_cast<float>(t), {&c, 1}, t == 2);
  }
  const auto e = b.episode();
  EXPECT_EQ(e.length(), 3);
  EXPECT_EQ(e.conditions[2][0].item<float>(), 12.0f);
  EXPECT_TRUE(e.terminals[2].item<bool>());
  EpisodeBuilder copy(2, 2, 1, 1);
  copy.assign(e);
  EXPECT_TRUE(torch::equal(copy.episode().rewards, e.rewards));
  const std::vector<std::uint8_t> wrong(5);
  const float a = 0;
  EXPECT_THROW(b.add(wrong, {&a, 1}, 0, {&a, 1}, false), ShapeError);
}

TEST(WmReplay, DemoEpisodesShiftActionsAndRewardsAndResizeFrames) {
  il::DemoDataset d;
  const std::int64_t t = 5;
  d.observations = torch::zeros({t, 3});
  d.next_observations = torch::zeros({t, 3});
  d.actions = torch::arange(t * 2, torch::kFloat32).view({t, 2});
  d.rewards = torch::arange(t, torch::kFloat32);
  d.terminals = torch::zeros({t}, torch::kBool);
  d.timeouts = torch::zeros({t}, torch::kBool);
  d.timeouts[2] = true;
  d.timeouts[4] = true;
  d.images = torch::full({t, 8, 8, 3}, 100, torch::kUInt8);
  d.camera_poses = torch::zeros({t, 3});
  il::DemoView side;
  side.name = "side";
  side.images = torch::full({t, 8, 8, 3}, 200, torch::kUInt8);
  side.camera_poses = torch::zeros({t, 3});
  d.views.push_back(side);
  d.derive_episodes();
  const auto episodes = demo_episodes(d, 1, 4, 2, "demo:test");
  ASSERT_EQ(episodes.size(), 2u);
  const auto& e = episodes[1];
  EXPECT_EQ(e.length(), 2);
  EXPECT_EQ(e.images.sizes(), (std::vector<std::int64_t>{2, 4, 4, 3}));
  EXPECT_TRUE((e.images == 200).all().item<bool>());
  // Row 0 of the second episode (transition 3) starts with a zero action and reward; row 1 holds
  // the action and reward of transition 3.
  EXPECT_EQ(e.prev_actions[0][0].item<float>(), 0.0f);
  EXPECT_EQ(e.prev_actions[1][0].item<float>(), 6.0f);
  EXPECT_EQ(e.rewards[1].item<float>(), 3.0f);
  EXPECT_EQ(e.source, "demo:test");
  EXPECT_THROW(demo_episodes(d, 2, 4, 2, "demo:test"), ConfigError);
  EXPECT_THROW(demo_episodes(d, 0, 4, 3, "demo:test"), ShapeError);
  d.images = torch::Tensor();
  d.camera_poses = torch::Tensor();
  d.views.clear();
  EXPECT_THROW(demo_episodes(d, 0, 4, 2, "demo:test"), ConfigError);
}

}  // namespace
}  // namespace clearsight::wm
