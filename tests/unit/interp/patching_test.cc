#include "clearsight/interp/patching.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "clearsight/core/error.h"
#include "clearsight/mm/trainer.h"
#include "test_util.h"

namespace clearsight::interp {
namespace {

mm::LoadedModel& vl() {
  static mm::LoadedModel loaded = mm::load_model_with_tokenizer("cs-tiny-vl");
  return loaded;
}

mm::LoadedModel& audio() {
  static mm::LoadedModel loaded = mm::load_model_with_tokenizer("cs-tiny-audio");
  return loaded;
}

const Target kFirst{.kind = "first", .token = {}};

Examples prepare_vl(std::int64_t index) {
  const auto samples = load_samples(*mm::make_task("scene_vqa"), mm::Split::kTest, index, 1);
  return prepare_examples(samples, vl().tokenizer, *vl().model, kFirst);
}

std::string resid(std::int64_t layer) {
  return "blocks." + std::to_string(layer) + ".hook_resid_pre";
}

// The hooks every test caches: each layer's residual stream, heads and the final norm output.
std::vector<std::string> hooks_of(const mm::MultimodalModel& model) {
  std::vector<std::string> hooks;
  for (std::int64_t l = 0; l < model.config().num_hidden_layers; ++l) {
    hooks.push_back(resid(l));
    hooks.push_back("blocks." + std::to_string(l) + ".attn.hook_z");
  }
  hooks.push_back("hook_final");
  return hooks;
}

struct Pair {
  Examples single;
  InputTensors clean, corrupted;
  std::map<std::string, torch::Tensor> clean_cache;
  double clean_metric = 0, corrupted_metric = 0;
  std::int64_t foil = 0;
};

Pair make_pair(mm::MultimodalModel& model, Examples single, const std::string& corrupt) {
  Pair p;
  p.single = std::move(single);
  p.clean = clean_inputs(model, p.single);
  p.corrupted = corrupted_inputs(model, p.single, p.clean, corrupt);
  auto [clean_logits, cache] = run_with_cache(model, p.single, p.clean, hooks_of(model));
  p.clean_cache = cache;
  const auto [corrupt_logits, unused] = run_with_cache(model, p.single, p.corrupted, {});
  const auto [position, token] = p.single.target_tokens[0][0];
  auto ranked = corrupt_logits[0][position].clone();
  ranked[token] = -1e30;
  p.foil = ranked.argmax().item<std::int64_t>();
  p.clean_metric = patch_metric(clean_logits, p.single, "logit_diff", p.foil)[0].item<double>();
  p.corrupted_metric =
      patch_metric(corrupt_logits, p.single, "logit_diff", p.foil)[0].item<double>();
  return p;
}

TEST(InterpPatching, CorruptionChangesTheMediaOnly) {
  auto& model = *vl().model;
  const auto single = prepare_vl(0);
  const auto clean = clean_inputs(model, single);
  const auto blank = corrupted_inputs(model, single, clean, "blank");
  EXPECT_TRUE(torch::equal(blank.text, clean.text));
  EXPECT_FALSE(torch::equal(blank.image, clean.image));
  const auto swap = corrupted_inputs(model, single, clean, "swap");
  EXPECT_FALSE(torch::equal(swap.text, clean.text));
  EXPECT_TRUE(torch::equal(swap.image, clean.image));
  const auto donor = prepare_vl(1);
  const auto other = corrupted_inputs(model, single, clean, "other", &donor);
  EXPECT_TRUE(torch::equal(other.image, clean_inputs(model, donor).image));
  EXPECT_THROW(corrupted_inputs(model, single, clean, "shuffle"), ConfigError);
  EXPECT_THROW(corrupted_inputs(model, single, clean, "other"), ConfigError);
  EXPECT_THROW(corrupted_inputs(model, single, clean, "blnk"), UnknownNameError);
}

TEST(InterpPatching, CleanIntoItselfChangesNothing) {
  auto& model = *vl().model;
  model.eval();
  auto p = make_pair(model, prepare_vl(0), "blank");
  std::vector<PatchCell> cells;
  const auto length = p.single.prompt_lengths[0];
  for (std::int64_t l = 0; l < model.config().num_hidden_layers; ++l) {
    for (std::int64_t j = 0; j < length; j += 3) cells.push_back({resid(l), j, -1});
    cells.push_back({"blocks." + std::to_string(l) + ".attn.hook_z", -1, 1});
  }
  const auto values =
      patch_cells(model, p.single, p.clean, p.clean_cache, cells, "logit_diff", p.foil, 16);
  for (std::int64_t k = 0; k < values.size(0); ++k) {
    EXPECT_NEAR(values[k].item<double>(), p.clean_metric, 1e-4) << cells[k].hook;
  }
}

TEST(InterpPatching, PatchingEverythingGivesTheCleanResult) {
  auto& model = *vl().model;
  model.eval();
  auto p = make_pair(model, prepare_vl(0), "blank");
  ASSERT_GT(std::abs(p.clean_metric - p.corrupted_metric), 1e-3);
  // The whole residual stream at any layer, or the last layer's stream at the scored position.
  const auto [position, token] = p.single.target_tokens[0][0];
  const auto last = model.config().num_hidden_layers - 1;
  const std::vector<PatchCell> cells = {
      {resid(0), -1, -1}, {resid(last), -1, -1}, {"hook_final", position, -1}};
  const auto values =
      patch_cells(model, p.single, p.corrupted, p.clean_cache, cells, "logit_diff", p.foil, 2);
  for (std::int64_t k = 0; k < 3; ++k) {
    EXPECT_NEAR(values[k].item<double>(), p.clean_metric, 1e-3) << cells[k].hook;
  }
  // A position nothing reads (after the scored one) gives the corrupted result.
  const std::vector<PatchCell> late = {{"hook_final", position + 1, -1}};
  EXPECT_NEAR(
      patch_cells(model, p.single, p.corrupted, p.clean_cache, late, "logit_diff", p.foil, 1)[0]
          .item<double>(),
      p.corrupted_metric, 1e-4);
}

TEST(InterpPatching, AttributionIsExactWhereTheMetricIsLinear) {
  auto& model = *vl().model;
  model.eval();
  auto p = make_pair(model, prepare_vl(2), "blank");
  // logits = lm_head(hook_final): logit_diff is linear in the final norm's output.
  const auto [position, token] = p.single.target_tokens[0][0];
  const std::vector<PatchCell> cells = {
      {"hook_final", position, -1}, {"hook_final", -1, -1}, {"hook_final", 0, -1}};
  const auto real =
      patch_cells(model, p.single, p.corrupted, p.clean_cache, cells, "logit_diff", p.foil, 3) -
      p.corrupted_metric;
  const auto estimate =
      attribution_cells(model, p.single, p.corrupted, p.clean_cache, cells, "logit_diff", p.foil);
  for (std::int64_t k = 0; k < 3; ++k) {
    EXPECT_NEAR(estimate[k].item<double>(), real[k].item<double>(),
                1e-3 * (1 + std::abs(real[k].item<double>())));
  }
  EXPECT_GT(std::abs(real[0].item<double>()), 1e-3);
  // Through the nonlinear layers it is only an estimate, but a correlated one.
  const auto nonlinear = attribution_cells(model, p.single, p.corrupted, p.clean_cache,
                                           {{resid(1), -1, -1}}, "logit_diff", p.foil);
  EXPECT_TRUE(std::isfinite(nonlinear[0].item<double>()));
}

TEST(InterpPatching, RowsPerPassDoNotChangeResults) {
  auto& model = *vl().model;
  model.eval();
  auto p = make_pair(model, prepare_vl(1), "blank");
  std::vector<PatchCell> cells;
  for (std::int64_t j = 0; j < p.single.prompt_lengths[0]; ++j) cells.push_back({resid(1), j, -1});
  for (std::int64_t h = 0; h < model.config().num_attention_heads; ++h) {
    cells.push_back({"blocks.2.attn.hook_z", -1, h});
  }
  const auto one =
      patch_cells(model, p.single, p.corrupted, p.clean_cache, cells, "prob", p.foil, 1);
  const auto many =
      patch_cells(model, p.single, p.corrupted, p.clean_cache, cells, "prob", p.foil, 7);
  EXPECT_TRUE(torch::allclose(one, many, 1e-5, 1e-6));
}

TEST(InterpPatching, BadCellsThrow) {
  auto& model = *vl().model;
  auto p = make_pair(model, prepare_vl(0), "blank");
  EXPECT_THROW(patch_cells(model, p.single, p.corrupted, p.clean_cache, {{resid(0), 1, 1}}, "prob",
                           p.foil, 1),
               ConfigError);
  EXPECT_THROW(patch_cells(model, p.single, p.corrupted, p.clean_cache,
                           {{"blocks.0.hook_mlp_out", 1, -1}}, "prob", p.foil, 1),
               ConfigError);
  EXPECT_THROW(patch_cells(model, p.single, p.corrupted, p.clean_cache, {{resid(0), 100000, -1}},
                           "prob", p.foil, 1),
               ShapeError);
  EXPECT_THROW(patch_cells(model, p.single, p.corrupted, p.clean_cache, {{resid(0), 0, -1}},
                           "logit_dif", p.foil, 1),
               UnknownNameError);
}

TEST(InterpPatching, StudyWritesGridsAndIsBatchInvariant) {
  ModelRef ref{*vl().model, vl().tokenizer, "cs-tiny-vl"};
  SampleSelection selection{
      .task = "scene_vqa", .split = "test", .first = 0, .count = 2, .batch_size = 8};
  PatchOptions options;
  options.components = {"resid_pre", "heads"};
  options.progress = false;
  options.rows = 64;
  testing::TempDir tmp;
  const auto dir = (tmp / "patch_study").string();
  const auto result = run_patching(ref, selection, options, dir);
  const auto layers = vl().model->config().num_hidden_layers;
  ASSERT_EQ(result["grid"].size(), static_cast<std::size_t>(layers));
  EXPECT_EQ(result["grid_component"], "resid_pre");
  EXPECT_TRUE(std::filesystem::exists(dir + "/patching.safetensors"));
  EXPECT_TRUE(std::filesystem::exists(dir + "/report.html"));
  EXPECT_TRUE(std::filesystem::exists(dir + "/patch_resid_pre.svg"));
  // Layer 0: patching a media position brings back part of the clean answer; the cells sum to
  // about the whole effect only in aggregate, so check bounds and the attribution's sign.
  bool any_effect = false;
  for (const auto& row : result["grid"]) {
    for (const auto& v : row) {
      if (v.is_number() && std::abs(v.get<double>()) > 0.05) any_effect = true;
    }
  }
  EXPECT_TRUE(any_effect);
  EXPECT_TRUE(result["components"]["resid_pre"]["attribution_correlation"].is_number());
  options.rows = 5;
  const auto again = run_patching(ref, selection, options, tmp / "patch_rows");
  for (std::size_t l = 0; l < result["grid"].size(); ++l) {
    for (std::size_t j = 0; j < result["grid"][l].size(); ++j) {
      const auto& x = result["grid"][l][j];
      const auto& y = again["grid"][l][j];
      ASSERT_EQ(x.is_null(), y.is_null());
      if (x.is_number()) {
        EXPECT_NEAR(x.get<double>(), y.get<double>(), 1e-4);
      }
    }
  }
}

TEST(InterpPatching, AudioShuffleCorruption) {
  auto& model = *audio().model;
  model.eval();
  const auto samples = load_samples(*mm::make_task("sound_event"), mm::Split::kTest, 0, 1);
  const auto single = prepare_examples(samples, audio().tokenizer, model, kFirst);
  const auto clean = clean_inputs(model, single);
  const auto shuffled = corrupted_inputs(model, single, clean, "shuffle");
  EXPECT_EQ(shuffled.audio.sizes(), clean.audio.sizes());
  EXPECT_FALSE(torch::equal(shuffled.audio, clean.audio));
  // A permutation: every frame's values survive.
  EXPECT_NEAR(shuffled.audio.sum().item<double>(), clean.audio.sum().item<double>(), 1e-2);
}

}  // namespace
}  // namespace clearsight::interp
