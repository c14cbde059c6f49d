#include "clearsight/miner/study.h"

#include <gtest/gtest.h>

#include <cmath>

#include "clearsight/core/error.h"

namespace clearsight::miner {
namespace {

ConditionScores condition(const std::string& name, double a, double b) {
  ConditionScores c;
  c.condition = name;
  c.scores = {{"scene_vqa", a}, {"speech", b}};
  return c;
}

const std::vector<std::string> kTasks = {"scene_vqa", "speech"};

TEST(MinerStudy, DeactivationTableByHand) {
  const auto original = condition("original", 0.8, 0.5);
  const auto mined = condition("miner", 0.2, 0.5);
  const std::vector<ConditionScores> randoms = {
      condition("random", 0.7, 0.4), condition("random", 0.6, 0.5), condition("random", 0.8, 0.6)};
  const auto t = deactivation_table(original, mined, randoms, kTasks);
  ASSERT_EQ(t.rows.size(), 2u);
  const auto& vqa = t.rows[0];
  EXPECT_EQ(vqa.task, "scene_vqa");
  EXPECT_DOUBLE_EQ(vqa.relative_drop_miner, 0.75);  // (0.8 - 0.2) / 0.8
  EXPECT_NEAR(vqa.random_mean, 0.7, 1e-12);
  EXPECT_NEAR(vqa.random_sd, 0.1, 1e-12);               // sample sd of 0.7, 0.6, 0.8
  EXPECT_NEAR(vqa.relative_drop_random, 0.125, 1e-12);  // (0.8 - 0.7) / 0.8
  const auto& speech = t.rows[1];
  EXPECT_DOUBLE_EQ(speech.relative_drop_miner, 0.0);
  EXPECT_NEAR(speech.random_mean, 0.5, 1e-12);
  EXPECT_NEAR(speech.random_sd, 0.1, 1e-12);
  EXPECT_NEAR(t.mean_relative_drop_miner, 0.375, 1e-12);
  EXPECT_NEAR(t.mean_relative_drop_random, 0.0625, 1e-12);
  // A score that rises is a negative drop; one random seed has no spread.
  const auto better = deactivation_table(original, condition("miner", 1.0, 0.5),
                                         {condition("random", 0.4, 0.5)}, kTasks);
  EXPECT_DOUBLE_EQ(better.rows[0].relative_drop_miner, -0.25);
  EXPECT_EQ(better.rows[0].random_sd, 0.0);
  EXPECT_DOUBLE_EQ(better.rows[0].relative_drop_random, 0.5);
}

TEST(MinerStudy, ZeroOriginalScoresAndMissingTasks) {
  EXPECT_EQ(relative_drop(0.0, 0.3), 0.0);
  EXPECT_DOUBLE_EQ(relative_drop(0.4, 0.1), 0.75);
  const auto t =
      deactivation_table(condition("o", 0.0, 0.5), condition("m", 0.0, 0.25), {}, kTasks);
  EXPECT_EQ(t.rows[0].relative_drop_miner, 0.0);
  EXPECT_DOUBLE_EQ(t.rows[1].relative_drop_miner, 0.5);
  EXPECT_DOUBLE_EQ(t.mean_relative_drop_miner, 0.25);
  ConditionScores partial;
  partial.condition = "partial";
  partial.scores = {{"scene_vqa", 0.1}};
  EXPECT_THROW(deactivation_table(condition("o", 1, 1), partial, {}, kTasks), ConfigError);
  EXPECT_THROW(deactivation_table(condition("o", 1, 1), condition("m", 1, 1), {}, {}), ConfigError);
}

TEST(MinerStudy, SpecificityMatrixByHand) {
  const auto original = condition("original", 0.8, 0.5);
  const std::map<std::string, ConditionScores> only = {
      {"image", condition("only image", 0.4, 0.5)}, {"audio", condition("only audio", 0.8, 0.1)}};
  const auto m = specificity_matrix(original, only, kTasks);
  ASSERT_EQ(m.size(), 2u);
  EXPECT_DOUBLE_EQ(m.at("image").at("scene_vqa"), 0.5);
  EXPECT_DOUBLE_EQ(m.at("image").at("speech"), 0.0);
  EXPECT_DOUBLE_EQ(m.at("audio").at("scene_vqa"), 0.0);
  EXPECT_NEAR(m.at("audio").at("speech"), 0.8, 1e-12);
}

}  // namespace
}  // namespace clearsight::miner
