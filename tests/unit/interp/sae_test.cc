#include "clearsight/interp/sae.h"

#include <gtest/gtest.h>

#include <fstream>

#include "clearsight/core/error.h"
#include "clearsight/core/safetensors.h"
#include "clearsight/mm/trainer.h"
#include "test_util.h"

namespace clearsight::interp {
namespace {

mm::LoadedModel& vl() {
  static mm::LoadedModel loaded = mm::load_model_with_tokenizer("cs-tiny-vl");
  return loaded;
}

// f = relu([x, -x]), x_hat = relu(x) - relu(-x) = x: an exact dictionary of 2 d_in features.
Sae identity_sae(std::int64_t d_in, const std::string& hook) {
  SaeConfig c;
  c.d_in = d_in;
  c.d_sae = 2 * d_in;
  c.hook_name = hook;
  Sae sae = Sae::create(c, 0);
  const auto eye = torch::eye(d_in);
  sae.W_enc = torch::cat({eye, -eye}, 1);
  sae.W_dec = torch::cat({eye, -eye}, 0);
  sae.b_enc = torch::zeros({2 * d_in});
  sae.b_dec = torch::zeros({d_in});
  return sae;
}

TEST(InterpSae, IdentityDictionaryReconstructsExactly) {
  const auto sae = identity_sae(6, "hook_x");
  const auto x = torch::randn({10, 6});
  EXPECT_TRUE(torch::allclose(sae.reconstruct(x), x, 0, 1e-6));
  const auto m = sae_metrics(sae, x);
  EXPECT_NEAR(m.mse, 0.0, 1e-10);
  EXPECT_NEAR(m.explained_variance, 1.0, 1e-9);
  EXPECT_NEAR(m.l0, 6.0, 1e-9);  // one of x_i, -x_i is positive per dim (x has no zeros)
  EXPECT_EQ(m.tokens, 10);
}

TEST(InterpSae, TopkKeepsKFeatures) {
  SaeConfig c;
  c.d_in = 8;
  c.d_sae = 32;
  c.architecture = "topk";
  c.k = 3;
  const auto sae = Sae::create(c, 1);
  const auto f = sae.encode(torch::randn({5, 8}));
  EXPECT_TRUE((f.gt(0).sum(1) <= 3).all().item<bool>());
  EXPECT_TRUE((f >= 0).all().item<bool>());
}

TEST(InterpSae, SaelensRoundTrip) {
  testing::TempDir tmp;
  SaeConfig c;
  c.d_in = 8;
  c.d_sae = 16;
  c.architecture = "topk";
  c.k = 4;
  c.hook_name = "blocks.2.hook_resid_post";
  c.hook_layer = 2;
  c.model_name = "cs-tiny-vl";
  auto sae = Sae::create(c, 7);
  sae.b_enc = torch::randn({16});
  sae.b_dec = torch::randn({8});
  save_saelens(sae, tmp / "sae");
  EXPECT_TRUE(std::filesystem::exists(tmp / "sae" / "cfg.json"));
  const auto loaded = load_saelens(tmp / "sae");
  EXPECT_EQ(loaded.config.architecture, "topk");
  EXPECT_EQ(loaded.config.k, 4);
  EXPECT_EQ(loaded.config.hook_name, c.hook_name);
  EXPECT_EQ(loaded.config.hook_layer, 2);
  for (const auto& [a, b] : {std::pair{sae.W_enc, loaded.W_enc},
                             {sae.W_dec, loaded.W_dec},
                             {sae.b_enc, loaded.b_enc},
                             {sae.b_dec, loaded.b_dec}}) {
    EXPECT_TRUE(torch::equal(a, b));
  }
  const auto x = torch::randn({3, 8});
  EXPECT_TRUE(torch::equal(sae.reconstruct(x), loaded.reconstruct(x)));
}

TEST(InterpSae, ReadsOlderSaelensConfigs) {
  testing::TempDir tmp;
  const auto dir = tmp / "old";
  std::filesystem::create_directories(dir);
  // SAELens < 6: no "architecture", the activation in activation_fn_str and its kwargs.
  std::ofstream(dir / "cfg.json") << R"({"d_in": 4, "d_sae": 6, "activation_fn_str": "topk",
      "activation_fn_kwargs": {"k": 2}, "hook_name": "blocks.0.hook_resid_pre",
      "apply_b_dec_to_input": false, "normalize_activations": "none", "dtype": "float32"})";
  safetensors::save_map(dir / "sae_weights.safetensors", {{"W_enc", torch::randn({4, 6})},
                                                          {"W_dec", torch::randn({6, 4})},
                                                          {"b_enc", torch::zeros({6})},
                                                          {"b_dec", torch::zeros({4})}});
  const auto sae = load_saelens(dir);
  EXPECT_EQ(sae.config.architecture, "topk");
  EXPECT_EQ(sae.config.k, 2);
  EXPECT_EQ(sae.config.hook_layer, 0);
  EXPECT_FALSE(sae.config.apply_b_dec_to_input);
}

TEST(InterpSae, BadFoldersGiveClearErrors) {
  testing::TempDir tmp;
  EXPECT_THROW(load_saelens(tmp / "missing"), IoError);
  const auto dir = tmp / "bad";
  std::filesystem::create_directories(dir);
  safetensors::save_map(dir / "sae_weights.safetensors", {{"W_enc", torch::randn({4, 6})},
                                                          {"W_dec", torch::randn({6, 5})},
                                                          {"b_enc", torch::zeros({6})},
                                                          {"b_dec", torch::zeros({4})}});
  std::ofstream(dir / "cfg.json") << R"({"d_in": 4, "d_sae": 6})";
  EXPECT_THROW(load_saelens(dir), FormatError);  // W_dec [6, 5]
  std::ofstream(dir / "cfg.json") << R"({"d_in": 4, "d_sae": 6, "architecture": "jumprelu"})";
  EXPECT_THROW(load_saelens(dir), FormatError);
  std::ofstream(dir / "cfg.json") << "{not json";
  EXPECT_THROW(load_saelens(dir), FormatError);
  std::ofstream(dir / "cfg.json") << R"({"d_in": 4, "d_sae": 6,
      "normalize_activations": "expected_average_only_in"})";
  EXPECT_THROW(load_saelens(dir), FormatError);
}

TEST(InterpSae, SplicedIdentityLeavesTheModelUnchanged) {
  auto& model = *vl().model;
  model.eval();
  const auto samples = load_samples(*mm::make_task("scene_vqa"), mm::Split::kTest, 0, 2);
  const auto examples = prepare_examples(samples, vl().tokenizer, model);
  const auto hidden = model.config().hidden_size;
  const auto clean = forward_logits(model, examples);
  {
    const auto handle = splice_sae(model, identity_sae(hidden, "blocks.1.hook_resid_post"));
    EXPECT_TRUE(torch::allclose(forward_logits(model, examples), clean, 1e-4, 1e-4));
  }
  // A random SAE with the error term kept is the identity as well; without it, it is not.
  SaeConfig c;
  c.d_in = hidden;
  c.d_sae = 64;
  c.hook_name = "blocks.1.hook_resid_post";
  const auto random = Sae::create(c, 3);
  {
    const auto handle = splice_sae(model, random, /*keep_error=*/true);
    EXPECT_TRUE(torch::allclose(forward_logits(model, examples), clean, 1e-4, 1e-4));
  }
  {
    const auto handle = splice_sae(model, random);
    EXPECT_FALSE(torch::allclose(forward_logits(model, examples), clean, 1e-3, 1e-3));
  }
  // hook_z [B, H, L, D] is read flattened to [B, L, H * D] and written back.
  const auto z = torch::randn({2, 8, 5, 16});
  EXPECT_EQ(sae_input(z).sizes(), (std::vector<std::int64_t>{2, 5, 128}));
  {
    const auto handle = splice_sae(model, identity_sae(hidden, "blocks.0.attn.hook_z"));
    EXPECT_TRUE(torch::allclose(forward_logits(model, examples), clean, 1e-4, 1e-4));
  }
}

TEST(InterpSae, TrainingLearnsAReconstruction) {
  testing::TempDir tmp;
  SaeTrainOptions o;
  o.hook = "blocks.1.hook_resid_post";
  o.features = 256;
  o.steps = 150;
  o.batch_tokens = 128;
  o.buffer_tokens = 1024;
  o.lr = 2e-3;
  o.eval_samples = 8;
  o.dashboards = 2;
  o.progress = false;
  const auto result = train_sae({*vl().model, vl().tokenizer, "cs-tiny-vl"}, o, tmp / "run");
  EXPECT_GT(result["explained_variance"].get<double>(), 0.5);
  EXPECT_GT(result["l0"].get<double>(), 0.0);
  EXPECT_LT(result["l0"].get<double>(), 256.0);
  EXPECT_GE(result["dead_fraction"].get<double>(), 0.0);
  EXPECT_EQ(result["tokens_seen"].get<std::int64_t>(), 150 * 128);
  EXPECT_LT(result["loss"]["spliced"].get<double>(), result["loss"]["zero_ablation"].get<double>());
  // The saved folder reproduces the metrics.
  const auto sae = load_saelens(tmp / "run");
  const auto evaluation =
      evaluate_sae({*vl().model, vl().tokenizer, "cs-tiny-vl"}, sae, "scene_vqa", 8);
  EXPECT_NEAR(evaluation.metrics.explained_variance, result["explained_variance"].get<double>(),
              1e-6);
  EXPECT_EQ(result["dashboards"].size(), 2u);
  EXPECT_TRUE(std::filesystem::exists(tmp / "run" / "report.html"));
}

}  // namespace
}  // namespace clearsight::interp
