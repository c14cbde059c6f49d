#include "clearsight/interp/probe.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <set>

#include "clearsight/core/error.h"
#include "clearsight/mm/trainer.h"
#include "test_util.h"

namespace clearsight::interp {
namespace {

// The built-in vision-language model, loaded once for the suite.
mm::LoadedModel& vl() {
  static mm::LoadedModel loaded = mm::load_model_with_tokenizer("cs-tiny-vl");
  return loaded;
}

ModelRef vl_ref() { return {*vl().model, vl().tokenizer, "cs-tiny-vl"}; }

// Labels of x [n, d] from a random linear map: argmax over 3 classes (linearly separable).
torch::Tensor linear_labels(const torch::Tensor& x, const torch::Tensor& w) {
  return torch::matmul(x, w).argmax(1);
}

TEST(InterpProbe, SeparableSyntheticFeaturesReachFullAccuracy) {
  torch::manual_seed(11);
  const auto w = torch::randn({16, 3});
  const auto x_train = torch::randn({600, 16}) * 3 + 1;
  const auto x_test = torch::randn({300, 16}) * 3 + 1;
  ProbeTrainOptions opt;
  opt.epochs = 400;
  opt.lr = 0.1;
  opt.l2 = 0.0;
  const auto probe = train_probe(x_train, linear_labels(x_train, w), 3, opt);
  EXPECT_GT(probe.accuracy(x_train, linear_labels(x_train, w)), 0.99);
  EXPECT_GT(probe.accuracy(x_test, linear_labels(x_test, w)), 0.97);
  // Mini-batch training gets there too.
  opt.batch_size = 64;
  opt.epochs = 60;
  const auto mini = train_probe(x_train, linear_labels(x_train, w), 3, opt);
  EXPECT_GT(mini.accuracy(x_test, linear_labels(x_test, w)), 0.97);
}

TEST(InterpProbe, TrainingIsDeterministicUnderASeed) {
  torch::manual_seed(3);
  const auto x = torch::randn({200, 8});
  const auto y = torch::randint(0, 4, {200}, torch::kInt64);
  ProbeTrainOptions opt;
  opt.batch_size = 32;
  opt.epochs = 5;
  opt.seed = 7;
  const auto a = train_probe(x, y, 4, opt);
  const auto b = train_probe(x, y, 4, opt);
  EXPECT_TRUE(a.weight.equal(b.weight));
  EXPECT_TRUE(a.bias.equal(b.bias));
  opt.seed = 8;
  EXPECT_FALSE(train_probe(x, y, 4, opt).weight.equal(a.weight));
  EXPECT_THROW(train_probe(x, y, 3, opt), ConfigError);
  EXPECT_THROW(train_probe(x, y.narrow(0, 0, 10), 4, opt), ShapeError);
}

TEST(InterpProbe, ShuffledLabelsKeepClassSharesAndStayAtChance) {
  torch::manual_seed(5);
  // Imbalanced classes (shares 0.5, 0.3, 0.2) on features that are linear in the label.
  auto make = [](std::int64_t n) {
    const auto u = torch::rand({n});
    auto y = torch::zeros({n}, torch::kInt64);
    y.masked_fill_(u > 0.5, 1);
    y.masked_fill_(u > 0.8, 2);
    const auto x = torch::randn({n, 12}) + torch::one_hot(y, 3).to(torch::kFloat32).repeat({1, 4});
    return std::make_pair(x, y);
  };
  const auto [x_train, y_train] = make(2000);
  const auto [x_test, y_test] = make(1000);
  const auto c_train = shuffled_labels(y_train, 1);
  const auto c_test = shuffled_labels(y_test, 2);
  EXPECT_TRUE(torch::bincount(c_train).equal(torch::bincount(y_train)));
  EXPECT_TRUE(shuffled_labels(y_train, 1).equal(c_train));
  EXPECT_FALSE(c_train.equal(y_train));
  const double chance = majority_accuracy(y_train, y_test);
  EXPECT_NEAR(chance, (y_test == 0).to(torch::kFloat64).mean().item<double>(), 1e-12);
  const auto real = train_probe(x_train, y_train, 3);
  const auto control = train_probe(x_train, c_train, 3);
  const double acc = real.accuracy(x_test, y_test);
  const double control_acc = control.accuracy(x_test, c_test);
  EXPECT_GT(acc, chance + 0.3);
  EXPECT_NEAR(control_acc, chance, 0.05);
}

TEST(InterpProbe, HooksResolveAndUnknownNamesThrow) {
  auto& model = *vl().model;
  EXPECT_EQ(resolve_hooks(model, default_layer_hooks()),
            (std::vector<std::string>{"hook_embed", "blocks.0.hook_resid_post",
                                      "blocks.1.hook_resid_post", "blocks.2.hook_resid_post",
                                      "blocks.3.hook_resid_post"}));
  EXPECT_EQ(resolve_hooks(model, {"mlp.hook_post"}).size(), 4u);
  EXPECT_EQ(resolve_hooks(model, {"blocks.2.mlp.hook_post", "blocks.2.mlp.hook_post"}),
            (std::vector<std::string>{"blocks.2.mlp.hook_post"}));
  EXPECT_THROW(resolve_hooks(model, {"hook_resid_postt"}), UnknownNameError);
  EXPECT_THROW(resolve_hooks(model, {}), ConfigError);
  EXPECT_EQ(modality_tasks(model),
            (std::vector<std::string>{"scene_vqa", "text_choice", "motion_qa"}));
  ProbeOptions options;
  options.progress = false;
  options.train_samples = 2;
  options.test_samples = 2;
  options.label = "colour";
  EXPECT_THROW(probe_layers(vl_ref(), options), UnknownNameError);
  options.label = "modality";
  options.hooks = {"mlp.hook_postt"};
  EXPECT_THROW(probe_layers(vl_ref(), options), UnknownNameError);
  options.hooks = {};
  options.label = "answer";
  options.pool = "imgae";
  EXPECT_THROW(probe_layers(vl_ref(), options), UnknownNameError);
  options.pool = "answer";  // would show the answer to the probe
  EXPECT_THROW(probe_layers(vl_ref(), options), ConfigError);
  options.pool = "last";
  options.question_type = "flavour";
  EXPECT_THROW(probe_layers(vl_ref(), options), ConfigError);
}

TEST(InterpProbe, FeaturesDoNotDependOnTheBatch) {
  // The shortest of three prompts, alone and then padded inside a batch with longer ones.
  std::vector<mm::Sample> samples;
  for (const auto* name : {"text_choice", "scene_vqa", "motion_qa"}) {
    samples.push_back(load_samples(*mm::make_task(name), mm::Split::kValidation, 0, 1)[0]);
  }
  const auto lengths = prepare_examples(samples, vl().tokenizer, *vl().model).prompt_lengths;
  const auto shortest = std::min_element(lengths.begin(), lengths.end()) - lengths.begin();
  std::swap(samples[0], samples[static_cast<std::size_t>(shortest)]);
  ASSERT_LT(*std::min_element(lengths.begin(), lengths.end()),
            *std::max_element(lengths.begin(), lengths.end()));
  FeatureOptions fo;
  fo.hooks = resolve_hooks(*vl().model, {"hook_embed", "hook_resid_post", "mlp.hook_post"});
  fo.positions_per_prompt = 0;
  const auto alone = collect_features(vl_ref(), {samples[0]}, fo);
  fo.batch_size = 3;
  const auto batched = collect_features(vl_ref(), samples, fo);
  const auto rows = alone.rows();
  ASSERT_GT(rows, 0);
  EXPECT_EQ(rows, lengths[static_cast<std::size_t>(shortest)]);
  for (std::int64_t r = 0; r < rows; ++r) ASSERT_EQ(batched.sample[r], 0);
  for (std::size_t h = 0; h < fo.hooks.size(); ++h) {
    const double diff =
        (alone.values[h] - batched.values[h].narrow(0, 0, rows)).abs().max().item<double>();
    // Relative to the activations' scale: the residual stream reaches a few hundred, where
    // float32 rounding of differently blocked matrix products alone is ~1e-7 relative.
    const double scale = std::max(1.0, alone.values[h].abs().max().item<double>());
    EXPECT_LT(diff / scale, 1e-5) << fo.hooks[h] << ": " << diff << " of " << scale;
  }
  EXPECT_EQ(alone.modality,
            std::vector<std::string>(batched.modality.begin(), batched.modality.begin() + rows));
  // The per-prompt cap draws from every modality present; max_examples bounds the rows.
  fo.positions_per_prompt = 9;
  const auto capped = collect_features(vl_ref(), samples, fo);
  EXPECT_EQ(capped.rows(), 27);
  std::set<std::string> kinds(capped.modality.begin(), capped.modality.end());
  EXPECT_EQ(kinds, (std::set<std::string>{"text", "special", "image", "video"}));
  fo.max_examples = 10;
  EXPECT_EQ(collect_features(vl_ref(), samples, fo).rows(), 10);
}

TEST(InterpProbe, ModalityProbeIsFarAboveItsControl) {
  ProbeOptions options;
  options.progress = false;
  options.train_samples = 16;
  options.test_samples = 16;
  options.positions_per_prompt = 12;
  options.train.epochs = 100;
  const auto result = probe_layers(vl_ref(), options);
  ASSERT_EQ(result.layers.size(), 5u);
  EXPECT_EQ(result.classes, (std::vector<std::string>{"text", "special", "image", "video"}));
  EXPECT_EQ(result.train_prompts, 48);
  EXPECT_EQ(result.test_prompts, 48);
  EXPECT_EQ(result.test_examples, 48 * 12);
  // Modality is plain in the embeddings and fades with depth (image and video tokens come from
  // one tower and are the hardest to tell apart), but every layer stays far above its control.
  EXPECT_GT(result.accuracy[0], result.chance[0] + 0.4);
  for (std::size_t l = 0; l < result.layers.size(); ++l) {
    EXPECT_GT(result.accuracy[l], result.control_accuracy[l] + 0.25) << result.layers[l];
    EXPECT_NEAR(result.control_accuracy[l], result.chance[l], 0.1) << result.layers[l];
    EXPECT_NEAR(result.selectivity[l], result.accuracy[l] - result.control_accuracy[l], 1e-12);
  }
}

TEST(InterpProbe, AnswerProbeWritesResultAndReport) {
  testing::TempDir dir;
  ProbeOptions options;
  options.progress = false;
  options.label = "answer";
  options.question_type = "color";
  options.hooks = {"hook_resid_post"};
  options.train_samples = 24;
  options.test_samples = 8;
  options.train.epochs = 50;
  const auto j = run_probe(vl_ref(), options, dir.path());
  for (const auto* key :
       {"accuracy", "control_accuracy", "selectivity", "chance", "layers", "counts", "classes"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_EQ(j["layers"].size(), 4u);
  EXPECT_EQ(j["counts"]["train_prompts"], 24);
  EXPECT_EQ(j["counts"]["test_examples"], 8);
  std::ifstream in(dir / "result.json");
  const auto stored = nlohmann::json::parse(in);
  EXPECT_EQ(stored["accuracy"], j["accuracy"]);
  EXPECT_TRUE(std::filesystem::exists(dir / "report.md"));
  EXPECT_TRUE(std::filesystem::exists(dir / "probes.safetensors"));
  // The colour asked about is the class.
  for (const auto& c : j["classes"]) {
    EXPECT_TRUE(vl().tokenizer.contains(c.get<std::string>()));
  }
}

}  // namespace
}  // namespace clearsight::interp
