#include "clearsight/miner/evaluate.h"

#include <gtest/gtest.h>

#include "clearsight/core/error.h"
#include "clearsight/mm/trainer.h"
#include "test_util.h"

namespace clearsight::miner {
namespace {

mm::LoadedModel& vl() {
  static mm::LoadedModel loaded = mm::load_model_with_tokenizer("cs-tiny-vl");
  return loaded;
}

Selection empty_selection(std::int64_t layers, std::int64_t neurons) {
  Selection s;
  s.modalities = {"image", "text"};
  s.masks = torch::zeros({2, layers, neurons}, torch::kBool);
  return s;
}

SelectionEvalOptions small() {
  SelectionEvalOptions o;
  o.tasks = {"scene_vqa"};
  o.samples = 6;
  o.random_seeds = 1;
  return o;
}

TEST(MinerEvaluate, AnEmptySelectionChangesNothing) {
  auto& model = *vl().model;
  const auto s = empty_selection(model.config().num_hidden_layers, model.neurons_per_layer());
  const auto r = evaluate_selection(model, vl().tokenizer, s, small());
  const auto& row = r["tasks"]["scene_vqa"];
  EXPECT_EQ(row["original"].get<double>(), row["ablated"].get<double>());
  EXPECT_EQ(row["original"].get<double>(), row["random_mean"].get<double>());
  EXPECT_EQ(r["neurons"].get<std::int64_t>(), 0);
  EXPECT_EQ(r["mean_relative_drop"].get<double>(), 0.0);
}

TEST(MinerEvaluate, ComplementOfNothingAblatesEverything) {
  auto& model = *vl().model;
  auto s = empty_selection(model.config().num_hidden_layers, model.neurons_per_layer());
  auto o = small();
  o.complementary = true;
  o.random_seeds = 0;
  const auto r = evaluate_selection(model, vl().tokenizer, s, o);
  EXPECT_EQ(r["ablated_fraction"].get<double>(), 1.0);
  EXPECT_TRUE(r["mean_relative_drop_random"].is_null());
  // Every MLP neuron off: the model loses what it knew.
  EXPECT_LT(r["tasks"]["scene_vqa"]["ablated"].get<double>(),
            r["tasks"]["scene_vqa"]["original"].get<double>());
}

TEST(MinerEvaluate, ChosenNeuronsFollowTheModalities) {
  auto s = empty_selection(2, 4);
  s.masks[0][0][1] = true;
  s.masks[1][1][2] = true;
  EXPECT_EQ(chosen_neurons(s, {}).sum().item<std::int64_t>(), 2);
  EXPECT_TRUE(chosen_neurons(s, {"image"})[0][1].item<bool>());
  EXPECT_FALSE(chosen_neurons(s, {"image"})[1][2].item<bool>());
  EXPECT_THROW(chosen_neurons(s, {"audio"}), UnknownNameError);
}

TEST(MinerEvaluate, MismatchedSelectionsAndOptionsFail) {
  auto& model = *vl().model;
  const auto wrong = empty_selection(3, 7);
  EXPECT_THROW(evaluate_selection(model, vl().tokenizer, wrong, small()), ShapeError);
  const auto s = empty_selection(model.config().num_hidden_layers, model.neurons_per_layer());
  auto o = small();
  o.tasks = {"scene_vq"};
  EXPECT_THROW(evaluate_selection(model, vl().tokenizer, s, o), UnknownNameError);
  o = small();
  o.split = "train";
  EXPECT_THROW(evaluate_selection(model, vl().tokenizer, s, o), ConfigError);
  o = small();
  o.value = "median";
  EXPECT_THROW(evaluate_selection(model, vl().tokenizer, s, o), UnknownNameError);
}

}  // namespace
}  // namespace clearsight::miner
