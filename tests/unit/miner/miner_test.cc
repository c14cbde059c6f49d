#include "clearsight/miner/miner.h"

#include "clearsight/miner/analysis.h"

#include <gtest/gtest.h>

#include "clearsight/core/error.h"
#include "clearsight/mm/presets.h"
#include "test_util.h"

namespace clearsight::miner {
namespace {

mm::Tokenizer tokenizer() { return mm::Tokenizer::from_words({"what", "color", "red"}); }

TEST(MinerStage1, MasksFromTokenIds) {
  const auto tok = tokenizer();
  const auto ids = torch::tensor(mm::build_prompt(tok, "what color", {.image = true}, {.image = 4}),
                                 torch::kInt64);
  const auto masks = modality_masks(ids, tok);
  EXPECT_EQ(masks.sizes(), (std::vector<std::int64_t>{kNumModalities, ids.size(0)}));
  EXPECT_EQ(masks[modality_index("image")].sum().item<std::int64_t>(), 4);
  EXPECT_EQ(masks[modality_index("video")].sum().item<std::int64_t>(), 0);
  EXPECT_EQ(masks[modality_index("prompt")].sum().item<std::int64_t>(), ids.size(0));
  // Every position is exactly one of text, special, image, video, audio.
  EXPECT_TRUE(masks.narrow(0, 0, 5).to(torch::kInt64).sum(0).eq(1).all().item<bool>());
  EXPECT_TRUE(masks[5].equal(masks[0].logical_or(masks[1])));
  // "<|im_start|> system you are a helpful assistant <|im_end|> <|im_start|> user ..."
  EXPECT_TRUE(masks[1][0].item<bool>());
  EXPECT_TRUE(masks[0][1].item<bool>());
  EXPECT_THROW(modality_index("imag"), UnknownNameError);
}

// A cache of one layer with 4 positions (0, 1 text; 2, 3 image) and 3 neurons.
nn::ActivationCache crafted_cache(const torch::Tensor& pattern) {
  nn::ActivationCache cache;
  cache.add("blocks.0.mlp.hook_post",
            torch::tensor({{1.0, -1.0, 0.0}, {3.0, -1.0, 0.5}, {0.0, 2.0, 1.0}, {0.0, 4.0, 1.0}})
                .unsqueeze(0));
  cache.add("blocks.0.attn.hook_pattern", pattern.unsqueeze(0).unsqueeze(0));
  return cache;
}

torch::Tensor crafted_masks() {
  auto masks = torch::zeros({kNumModalities, 4}, torch::kBool);
  masks[0].narrow(0, 0, 2).fill_(true);
  masks[2].narrow(0, 2, 2).fill_(true);
  masks[5].narrow(0, 0, 2).fill_(true);
  masks[6].fill_(true);
  return masks;
}

TEST(MinerStage2, StatisticsAreMinMaxNormalisedPerLayer) {
  const auto pattern = torch::tensor({{1.0, 0.0, 0.0, 0.0},
                                      {0.5, 0.5, 0.0, 0.0},
                                      {0.25, 0.25, 0.25, 0.25},
                                      {0.25, 0.25, 0.25, 0.25}});
  const auto s = score_sample(crafted_cache(pattern), crafted_masks(), 1);
  EXPECT_EQ(s.scores.sizes(), (std::vector<std::int64_t>{kNumMetrics, kNumModalities, 1, 3}));
  EXPECT_TRUE(s.present[0].item<bool>());
  EXPECT_FALSE(s.present[3].item<bool>());
  const int text = 0, image = 2, mean = metric_index("mean"), max = metric_index("max");
  const int prob = metric_index("prob");
  // Text positions: neuron means (2, -1, 0.25) -> normalised (1, 0, 1.25/3).
  EXPECT_NEAR(s.scores[mean][text][0][0].item<double>(), 1.0, 1e-12);
  EXPECT_NEAR(s.scores[mean][text][0][1].item<double>(), 0.0, 1e-12);
  EXPECT_NEAR(s.scores[mean][text][0][2].item<double>(), 1.25 / 3.0, 1e-12);
  // Image positions: means (0, 3, 1) and maxima (0, 4, 1).
  EXPECT_NEAR(s.scores[mean][image][0][2].item<double>(), 1.0 / 3.0, 1e-12);
  EXPECT_NEAR(s.scores[max][image][0][1].item<double>(), 1.0, 1e-12);
  // prob: fraction of positive activations, text (1, 0, 0.5).
  EXPECT_NEAR(s.scores[prob][text][0][2].item<double>(), 0.5, 1e-12);
  // Absent modalities stay zero.
  EXPECT_EQ(s.scores.select(1, 3).abs().sum().item<double>(), 0.0);
}

TEST(MinerStage2, AttentionWeightedScoresUseTheModalityBlock) {
  // Within the text block, key 0 receives 1.5 of 2 units of attention, key 1 receives 0.5:
  // attn_k = 0.75 * x0 + 0.25 * x1 = (1.5, -1, 0.125) -> normalised (1, 0, 1.125/2.5).
  const auto pattern = torch::tensor({{1.0, 0.0, 0.0, 0.0},
                                      {0.5, 0.5, 0.0, 0.0},
                                      {0.25, 0.25, 0.25, 0.25},
                                      {0.25, 0.25, 0.25, 0.25}});
  const auto s = score_sample(crafted_cache(pattern), crafted_masks(), 1);
  const int k = metric_index("attn_k");
  EXPECT_NEAR(s.scores[k][0][0][2].item<double>(), 1.125 / 2.5, 1e-12);
  // Queries 0 and 1 each give 1 unit to the text block: attn_q = mean of the rows.
  const int q = metric_index("attn_q");
  EXPECT_NEAR(s.scores[q][0][0][2].item<double>(),
              s.scores[metric_index("mean")][0][0][2].item<double>(), 1e-12);
}

TEST(MinerStage2, FaithfulModeRecomputesNonCausalAttention) {
  auto cache = crafted_cache(torch::eye(4));
  cache.add("blocks.0.attn.hook_q", torch::zeros({1, 2, 4, 8}));
  cache.add("blocks.0.attn.hook_k", torch::zeros({1, 2, 4, 8}));
  ScoreOptions options;
  options.faithful = true;
  const auto s = score_sample(cache, crafted_masks(), 1, options);
  // Zero q/k: uniform non-causal attention; the double softmax keeps it uniform, so
  // 1^T S^T X = column sums of X / M * M ... = sum over positions of X: text (4, -2, 0.5).
  EXPECT_NEAR(s.scores[metric_index("attn_k")][0][0][2].item<double>(), 2.5 / 6.0, 1e-9);
  EXPECT_TRUE(score_hooks(true)("blocks.2.attn.hook_q"));
  EXPECT_FALSE(score_hooks(false)("blocks.2.attn.hook_q"));
  EXPECT_FALSE(score_hooks(false)("vision.blocks.0.mlp.hook_post"));
}

SampleScores random_sample(std::uint64_t seed, bool with_image) {
  torch::manual_seed(seed);
  SampleScores s;
  s.scores = torch::rand({kNumMetrics, kNumModalities, 2, 6}, torch::kFloat64);
  s.present = torch::ones({kNumModalities}, torch::kBool);
  s.present[3] = false;
  s.present[4] = false;
  s.present[2] = with_image;
  return s;
}

TEST(MinerStage3, ShardsMergeToTheSingleRunAndFilesRoundTrip) {
  testing::TempDir dir;
  ScoreAccumulator whole("scene_vqa", 2, 6), a("scene_vqa", 2, 6), b("scene_vqa", 2, 6);
  for (std::uint64_t i = 0; i < 12; ++i) {
    const auto s = random_sample(i, i % 3 != 0);
    whole.add(s);
    (i < 5 ? a : b).add(s);
  }
  a.merge(b);
  EXPECT_TRUE(torch::allclose(a.mean(), whole.mean(), 0, 1e-15));
  EXPECT_TRUE(a.counts().equal(whole.counts()));
  EXPECT_EQ(whole.counts()[2].item<std::int64_t>(), 8);
  EXPECT_EQ(whole.snapshots().count(10), 1u);
  whole.save(dir / "scores.safetensors", {{"model", "test"}});
  const auto back = ScoreAccumulator::load(dir / "scores.safetensors");
  EXPECT_TRUE(back.mean().equal(whole.mean()));
  EXPECT_EQ(back.samples(), 12);
  EXPECT_EQ(back.dataset(), "scene_vqa");
  EXPECT_EQ(back.snapshots().count(10), 1u);
  EXPECT_THROW(a.merge(ScoreAccumulator("speech", 2, 6)), ConfigError);
  testing::write_bytes(dir / "bad.safetensors", "nope");
  EXPECT_THROW(ScoreAccumulator::load(dir / "bad.safetensors"), FormatError);
  // Across datasets: image only occurs in the first.
  ScoreAccumulator other("text_choice", 2, 6);
  other.add(random_sample(99, false));
  const auto [combined, present] = combine_datasets({whole, other});
  EXPECT_TRUE(present[2].item<bool>());
  EXPECT_FALSE(present[3].item<bool>());
  EXPECT_TRUE(torch::allclose(combined.select(1, 2), whole.mean().select(1, 2)));
  EXPECT_TRUE(torch::allclose(combined.select(1, 0),
                              (whole.mean().select(1, 0) + other.mean().select(1, 0)) / 2));
}

TEST(MinerStage4, StrategiesPickTheExpectedNeurons) {
  // 2 layers x 10 neurons; modality text prefers neurons 0-4, image prefers 5-9 (layer 1 more).
  auto scores = torch::zeros({kNumMetrics, kNumModalities, 2, 10}, torch::kFloat64);
  for (int n = 0; n < 10; ++n) {
    for (int l = 0; l < 2; ++l) {
      const double base = 0.1 * n + 0.5 * l;
      scores[metric_index("mean")][0][l][n] = n < 5 ? 1.0 + base : base;
      scores[metric_index("mean")][2][l][n] = n >= 5 ? 1.0 + base : base;
    }
  }
  auto present = torch::zeros({kNumModalities}, torch::kBool);
  present[0] = present[2] = true;
  SelectOptions o;
  o.weights = {0, 1, 0, 0, 0};
  o.ratio = 0.2;  // K = 4.
  auto sel = select_neurons(scores, present, o);
  EXPECT_EQ(sel.modalities, (std::vector<std::string>{"text", "image"}));
  EXPECT_EQ(sel.mask("text").sum().item<std::int64_t>(), 2);
  EXPECT_EQ(sel.neuron_names("text"),
            (std::vector<std::string>{"blocks.1.mlp.hook_post[3]", "blocks.1.mlp.hook_post[4]"}));
  EXPECT_EQ(sel.neuron_names("image"),
            (std::vector<std::string>{"blocks.1.mlp.hook_post[8]", "blocks.1.mlp.hook_post[9]"}));
  const auto names = [](std::initializer_list<const char*> list) {
    std::vector<std::string> out;
    for (const char* n : list) out.emplace_back(n);
    return out;
  };
  // LU_MA: K / L = 2 per layer, modalities competing within the layer: image's 1.8, 1.9 beat
  // text's best 1.4 in layer 0, and 2.3, 2.4 beat 1.9 in layer 1.
  o.strategy = "LU_MA";
  sel = select_neurons(scores, present, o);
  EXPECT_EQ(sel.union_mask()[0].sum().item<std::int64_t>(), 2);
  EXPECT_EQ(sel.union_mask()[1].sum().item<std::int64_t>(), 2);
  EXPECT_TRUE(sel.neuron_names("text").empty());
  EXPECT_EQ(sel.neuron_names("image"),
            names({"blocks.0.mlp.hook_post[8]", "blocks.0.mlp.hook_post[9]",
                   "blocks.1.mlp.hook_post[8]", "blocks.1.mlp.hook_post[9]"}));
  // uniform: K / (M L) = 1 per (layer, modality): each modality's best in each layer.
  o.strategy = "uniform";
  o.ratio = 0.2;
  sel = select_neurons(scores, present, o);
  EXPECT_EQ(sel.masks.sum().item<std::int64_t>(), 4);
  EXPECT_EQ(sel.neuron_names("text"),
            names({"blocks.0.mlp.hook_post[4]", "blocks.1.mlp.hook_post[4]"}));
  EXPECT_EQ(sel.neuron_names("image"),
            names({"blocks.0.mlp.hook_post[9]", "blocks.1.mlp.hook_post[9]"}));
  // adaptive: the K best summed scores (1 + 0.2 n + l: layer 1's neurons 6-9), each owned by
  // the modality scoring it highest (image, for n >= 5).
  o.strategy = "adaptive";
  sel = select_neurons(scores, present, o);
  EXPECT_EQ(sel.masks.sum().item<std::int64_t>(), 4);
  EXPECT_TRUE(sel.neuron_names("text").empty());
  EXPECT_EQ(sel.neuron_names("image"),
            names({"blocks.1.mlp.hook_post[6]", "blocks.1.mlp.hook_post[7]",
                   "blocks.1.mlp.hook_post[8]", "blocks.1.mlp.hook_post[9]"}));
  o.strategy = "random";
  const auto r1 = select_neurons(scores, present, o);
  EXPECT_EQ(r1.union_mask().sum().item<std::int64_t>(), 4);
  EXPECT_TRUE(r1.masks.equal(select_neurons(scores, present, o).masks));
  o.seed = 1;
  EXPECT_FALSE(r1.masks.equal(select_neurons(scores, present, o).masks));
  EXPECT_EQ(random_like(sel, 3).union_mask().sum().item<std::int64_t>(), 4);
  o.strategy = "LA_MUU";
  EXPECT_THROW(select_neurons(scores, present, o), UnknownNameError);
  o.strategy = "LA_MU";
  o.split = "prompt";
  EXPECT_THROW(select_neurons(scores, present, o), ConfigError);  // Prompt never occurred.
}

TEST(MinerDeactivation, OverwritesSelectedNeuronsOnEveryForward) {
  torch::manual_seed(0);
  const auto tok = tokenizer();
  auto config = mm::preset_config("cs-tiny-vl", tok.size());
  config.num_hidden_layers = 2;
  config.intermediate_size = 16;
  mm::MultimodalModel model(config);
  Selection sel;
  sel.modalities = {"text", "image"};
  sel.masks = torch::zeros({2, 2, 16}, torch::kBool);
  sel.masks[0][0][3] = true;
  sel.masks[1][1][7] = true;
  mm::MmInputs in;
  in.input_ids = torch::tensor(mm::build_prompt(tok, "what color", {}, {})).unsqueeze(0);
  auto run = [&] {
    return model.run_with_cache([&] { return model.forward(in); }, nn::ends_with("mlp.hook_post"))
        .second;
  };
  {
    auto handles = deactivate(model, sel, {});
    const auto cache = run();
    EXPECT_EQ(cache["blocks.0.mlp.hook_post"].select(-1, 3).abs().sum().item<float>(), 0.0f);
    EXPECT_EQ(cache["blocks.1.mlp.hook_post"].select(-1, 7).abs().sum().item<float>(), 0.0f);
    EXPECT_NE(cache["blocks.0.mlp.hook_post"].select(-1, 4).abs().sum().item<float>(), 0.0f);
  }
  {
    DeactivateOptions only_image;
    only_image.modalities = {"image"};
    only_image.complementary = true;
    auto handles = deactivate(model, sel, only_image);
    const auto cache = run();
    // Everything but image neuron (1, 7) is zero in layer 1; all of layer 0 is zero.
    EXPECT_EQ(cache["blocks.0.mlp.hook_post"].abs().sum().item<float>(), 0.0f);
    EXPECT_NE(cache["blocks.1.mlp.hook_post"].select(-1, 7).abs().sum().item<float>(), 0.0f);
  }
  {
    DeactivateOptions to_mean;
    to_mean.value = "mean";
    to_mean.means = torch::full({2, 16}, 0.5);
    auto handles = deactivate(model, sel, to_mean);
    const auto cache = run();
    EXPECT_TRUE(cache["blocks.0.mlp.hook_post"].select(-1, 3).eq(0.5).all().item<bool>());
    DeactivateOptions bad;
    bad.value = "mean";
    EXPECT_THROW(deactivate(model, sel, bad), ShapeError);
  }
  // Hooks are gone with their handles.
  const auto clean = run();
  EXPECT_NE(clean["blocks.0.mlp.hook_post"].select(-1, 3).abs().sum().item<float>(), 0.0f);
}

}  // namespace
}  // namespace clearsight::miner

namespace clearsight::miner {
namespace {

TEST(MinerAnalysis, LinearCkaIsInvariantToRotationAndScale) {
  torch::manual_seed(0);
  const auto x = torch::randn({50, 8}, torch::kFloat64);
  EXPECT_NEAR(linear_cka(x, x), 1.0, 1e-9);
  const auto q = std::get<0>(torch::linalg_qr(torch::randn({8, 8}, torch::kFloat64)));
  EXPECT_NEAR(linear_cka(x, 3.0 * torch::matmul(x, q)), 1.0, 1e-9);
  EXPECT_LT(linear_cka(x, torch::randn({50, 8}, torch::kFloat64)), 0.5);
  EXPECT_THROW(linear_cka(x, torch::randn({49, 8})), ShapeError);
}

TEST(MinerAnalysis, LayerSharesSumToOnePerModality) {
  Selection sel;
  sel.modalities = {"text", "image"};
  sel.masks = torch::zeros({2, 3, 4}, torch::kBool);
  sel.masks[0][0][0] = sel.masks[0][2][1] = true;
  sel.masks[1][2][1] = sel.masks[1][2][2] = true;
  const auto s = layer_shares(sel);
  EXPECT_TRUE(torch::allclose(s.share.sum(1), torch::ones({2}, torch::kFloat64)));
  EXPECT_DOUBLE_EQ(s.share[1][2].item<double>(), 1.0);
  EXPECT_EQ(s.shared[2].item<std::int64_t>(), 1);
}

}  // namespace
}  // namespace clearsight::miner

namespace clearsight::miner {
namespace {

// Min-max normalisation over the neurons (last axis), written independently of the library's
// min_max: (x - min) / (max - min), 0 where all neurons are equal.
torch::Tensor reference_min_max(const torch::Tensor& x) {
  auto out = torch::zeros(x.sizes(), x.options());  // Contiguous, whatever x's strides.
  const auto rows = x.contiguous().reshape({-1, x.size(-1)});
  auto flat = out.view({-1, x.size(-1)});
  for (std::int64_t r = 0; r < rows.size(0); ++r) {
    double lo = rows[r][0].item<double>(), hi = lo;
    for (std::int64_t n = 0; n < rows.size(1); ++n) {
      lo = std::min(lo, rows[r][n].item<double>());
      hi = std::max(hi, rows[r][n].item<double>());
    }
    if (hi <= lo) continue;
    for (std::int64_t n = 0; n < rows.size(1); ++n) {
      flat[r][n] = (rows[r][n].item<double>() - lo) / (hi - lo);
    }
  }
  return out;
}

TEST(MinerStage2, MinMaxNormalisesEachRowAndZeroesConstantOnes) {
  const auto x = torch::tensor({{2.0, 4.0, 6.0}, {3.0, 3.0, 3.0}}, torch::kFloat64);
  const auto want = torch::tensor({{0.0, 0.5, 1.0}, {0.0, 0.0, 0.0}}, torch::kFloat64);
  EXPECT_TRUE(torch::allclose(min_max(x), want));
  EXPECT_TRUE(torch::allclose(reference_min_max(x), want));
}

// The metrics written as whole-tensor ops, straight from their definitions, for one prompt.
torch::Tensor reference_scores(const torch::Tensor& x, const torch::Tensor& pattern,
                               const torch::Tensor& masks) {
  // x [Y, L, N], pattern [Y, H, L, L], masks [G, L] -> [5, G, Y, N].
  const auto xd = x.to(torch::kFloat64);
  const auto a = pattern.to(torch::kFloat64).mean(1);  // [Y, L, L]
  const auto m = masks.to(torch::kFloat64);            // [G, L]
  const auto counts = m.sum(-1, true).clamp_min(1);    // [G, 1]
  const auto mean = torch::matmul(m, xd) / counts;     // [Y, G, N]
  const auto prob = torch::matmul(m, (xd > 0).to(torch::kFloat64)) / counts;
  auto max = torch::zeros_like(mean);
  for (std::int64_t g = 0; g < m.size(0); ++g) {
    const auto idx = masks[g].nonzero().flatten();
    if (idx.numel() > 0) max.select(1, g).copy_(std::get<0>(xd.index_select(1, idx).max(1)));
  }
  auto weights = [&](const torch::Tensor& attention) {
    const auto w = torch::matmul(m, attention) * m;
    const auto total = w.sum(-1, true);
    return torch::where(total > 0, w / total.clamp_min(1e-300), (m / counts).expand_as(w));
  };
  const auto attn_k = torch::matmul(weights(a), xd);
  const auto attn_q = torch::matmul(weights(a.transpose(-1, -2)), xd);
  const auto present = masks.any(1).to(torch::kFloat64).view({1, -1, 1, 1});
  return reference_min_max(torch::stack({prob, mean, max, attn_k, attn_q}).permute({0, 2, 1, 3})) *
         present;
}

TEST(MinerStage2, LoopScorerMatchesTheTensorDefinitions) {
  torch::manual_seed(3);
  const int layers = 2;
  const std::int64_t batch = 2, length = 9, neurons = 6, heads = 3;
  auto masks = torch::zeros({batch, kNumModalities, length}, torch::kBool);
  // Prompt 0: special, text x3, image x4, special. Prompt 1: two positions of padding at the end.
  const std::vector<std::vector<int>> kinds = {{1, 0, 0, 0, 2, 2, 2, 2, 1},
                                               {1, 0, 4, 4, 4, 0, 1, -1, -1}};
  for (std::int64_t b = 0; b < batch; ++b) {
    for (std::int64_t i = 0; i < length; ++i) {
      const int k = kinds[b][i];
      if (k < 0) continue;
      masks[b][k][i] = true;
      masks[b][5][i] = k <= 1;
      masks[b][6][i] = true;
    }
  }
  for (const auto dtype : {torch::kFloat32, torch::kFloat64}) {
    nn::ActivationCache cache;
    std::vector<torch::Tensor> xs, ps;
    for (int l = 0; l < layers; ++l) {
      xs.push_back(torch::randn({batch, length, neurons}, dtype));
      // Causal, row-normalised attention patterns.
      auto logits = torch::randn({batch, heads, length, length}, dtype);
      logits = logits.masked_fill(torch::ones({length, length}, torch::kBool).triu(1), -1e9);
      ps.push_back(torch::softmax(logits, -1));
      cache.add("blocks." + std::to_string(l) + ".mlp.hook_post", xs.back());
      cache.add("blocks." + std::to_string(l) + ".attn.hook_pattern", ps.back());
    }
    const auto scores = score_batch(cache, masks, layers);
    for (std::int64_t b = 0; b < batch; ++b) {
      const auto expected = reference_scores(torch::stack({xs[0][b], xs[1][b]}),
                                             torch::stack({ps[0][b], ps[1][b]}), masks[b]);
      const double tol = dtype == torch::kFloat32 ? 1e-5 : 1e-12;
      EXPECT_TRUE(torch::allclose(scores[b].scores, expected, tol, tol))
          << "prompt " << b << " dtype " << dtype << " max diff "
          << (scores[b].scores - expected).abs().max().item<double>();
      EXPECT_TRUE(scores[b].present.equal(masks[b].any(1)));
    }
  }
}

TEST(MinerStage3, AddBatchEqualsAddingEachPromptsScores) {
  torch::manual_seed(5);
  const int layers = 2;
  const std::int64_t batch = 3, length = 6, neurons = 5;
  auto masks = torch::zeros({batch, kNumModalities, length}, torch::kBool);
  for (std::int64_t b = 0; b < batch; ++b) {
    for (std::int64_t i = 0; i < length - b; ++i) {  // Prompt b has b padding positions.
      const int kind = i == 0 ? 1 : (i < 3 ? 0 : (b == 1 ? 4 : 2));
      masks[b][kind][i] = true;
      masks[b][5][i] = kind <= 1;
      masks[b][6][i] = true;
    }
  }
  nn::ActivationCache cache;
  for (int l = 0; l < layers; ++l) {
    cache.add("blocks." + std::to_string(l) + ".mlp.hook_post",
              torch::randn({batch, length, neurons}));
    cache.add("blocks." + std::to_string(l) + ".attn.hook_pattern",
              torch::softmax(torch::randn({batch, 2, length, length}), -1));
  }
  ScoreAccumulator one_by_one("t", layers, neurons), fused("t", layers, neurons);
  for (const auto& s : score_batch(cache, masks, layers)) one_by_one.add(s);
  fused.add_batch(cache, masks, layers);
  EXPECT_TRUE(torch::allclose(fused.mean(), one_by_one.mean(), 1e-12, 1e-12));
  EXPECT_TRUE(fused.counts().equal(one_by_one.counts()));
  EXPECT_EQ(fused.samples(), 3);
  // A non-finite activation anywhere in the batch adds nothing.
  nn::ActivationCache bad;
  for (int l = 0; l < layers; ++l) {
    auto x = cache["blocks." + std::to_string(l) + ".mlp.hook_post"].clone();
    if (l == 1) x[2][1][3] = std::numeric_limits<float>::quiet_NaN();
    bad.add("blocks." + std::to_string(l) + ".mlp.hook_post", x);
    bad.add("blocks." + std::to_string(l) + ".attn.hook_pattern",
            cache["blocks." + std::to_string(l) + ".attn.hook_pattern"]);
  }
  const auto before = fused.mean().clone();
  EXPECT_THROW(fused.add_batch(bad, masks, layers), NumericError);
  EXPECT_TRUE(fused.mean().equal(before));
  EXPECT_EQ(fused.samples(), 3);
  EXPECT_THROW(fused.add_batch(cache, masks, 3), std::exception);  // No blocks.2 in the cache.
}

TEST(MinerStage2, BatchedScoringEqualsOnePromptAtATime) {
  torch::manual_seed(7);
  const auto tok = mm::Tokenizer::from_words({"what", "color", "is", "the", "circle", "red"});
  auto config = mm::preset_config("cs-tiny-vl", tok.size());
  config.num_hidden_layers = 2;
  config.intermediate_size = 32;
  mm::MultimodalModel model(config);
  model.eval();
  torch::NoGradGuard no_grad;
  const std::vector<std::string> prompts = {"what color", "what color is the circle red red",
                                            "red"};
  std::vector<torch::Tensor> ids;
  std::int64_t longest = 0;
  for (const auto& p : prompts) {
    ids.push_back(torch::tensor(mm::build_prompt(tok, p, {}, {}), torch::kInt64));
    longest = std::max(longest, ids.back().size(0));
  }
  mm::MmInputs batch;
  batch.input_ids = torch::zeros({3, longest}, torch::kInt64);
  batch.attention_mask = torch::zeros({3, longest}, torch::kBool);
  std::vector<torch::Tensor> masks;
  for (int b = 0; b < 3; ++b) {
    const auto n = ids[b].size(0);
    batch.input_ids[b].narrow(0, 0, n).copy_(ids[b]);
    batch.attention_mask[b].narrow(0, 0, n).fill_(true);
    masks.push_back(modality_masks(batch.input_ids[b], tok).logical_and(batch.attention_mask[b]));
  }
  auto [logits, cache] =
      model.run_with_cache([&] { return model.forward(batch); }, score_hooks(false));
  const auto batched = score_batch(cache, torch::stack(masks), 2);
  for (int b = 0; b < 3; ++b) {
    mm::MmInputs one;
    one.input_ids = ids[b].unsqueeze(0);
    auto [l1, c1] = model.run_with_cache([&] { return model.forward(one); }, score_hooks(false));
    const auto single = score_sample(c1, modality_masks(ids[b], tok), 2);
    EXPECT_TRUE(torch::allclose(batched[b].scores, single.scores, 1e-5, 1e-6)) << "prompt " << b;
    EXPECT_TRUE(batched[b].present.equal(single.present));
  }
}

}  // namespace
}  // namespace clearsight::miner
