#include "clearsight/nn/hooked_module.h"

#include <gtest/gtest.h>

#include "clearsight/core/error.h"
#include "clearsight/nn/transformer.h"

namespace clearsight::nn {
namespace {

// Two decoder blocks with embeddings: a minimal hooked language model for the tests.
class TinyLm : public HookedModule {
 public:
  TinyLm() : rotary(16, 64, 10000.0) {
    AttentionOptions a;
    a.hidden = 32;
    a.heads = 2;
    a.kv_heads = 1;
    embed = register_module("embed", torch::nn::Embedding(50, 32));
    hook_embed = register_module("hook_embed", HookPoint());
    blocks = register_module("blocks", torch::nn::ModuleList());
    for (int i = 0; i < 2; ++i) blocks->push_back(DecoderBlock(a, 48, 1e-6));
    setup_hooks();
  }
  torch::Tensor forward(const torch::Tensor& ids, KVCache* cache = nullptr) {
    const auto past = cache ? cache->length : 0;
    const auto positions =
        (torch::arange(ids.size(1), torch::kInt64) + past).unsqueeze(0).expand({ids.size(0), -1});
    auto x = hook_embed(embed(ids));
    for (std::size_t i = 0; i < blocks->size(); ++i) {
      x = blocks[i]->as<DecoderBlock>()->forward(x, positions, {}, rotary, cache,
                                                 static_cast<int>(i));
    }
    if (cache) cache->length += ids.size(1);
    return x;
  }
  torch::nn::Embedding embed{nullptr};
  HookPoint hook_embed{nullptr};
  torch::nn::ModuleList blocks{nullptr};
  Rotary rotary;
};

TEST(NnHooks, NamesFollowModulePaths) {
  TinyLm lm;
  const auto& names = lm.hook_names();
  EXPECT_EQ(names.front(), "hook_embed");
  for (const char* n :
       {"blocks.0.hook_resid_pre", "blocks.0.attn.hook_pattern", "blocks.1.mlp.hook_post",
        "blocks.1.hook_resid_post", "blocks.0.attn.hook_z"}) {
    EXPECT_TRUE(lm.has_hook(n)) << n;
  }
  EXPECT_EQ(names.size(), 1u + 2u * 12u);
  try {
    auto handle = lm.add_hook(
        "blocks.0.mlp.hook_pots",
        [](const torch::Tensor&, const std::string&) { return std::optional<torch::Tensor>(); });
    FAIL();
  } catch (const UnknownNameError& e) {
    EXPECT_NE(std::string(e.what()).find("did you mean 'blocks.0.mlp.hook_post'"),
              std::string::npos);
  }
}

TEST(NnHooks, IdentityHooksAreBitExactAndScopedHooksGoAway) {
  TinyLm lm;
  torch::manual_seed(0);
  const auto ids = torch::randint(50, {2, 7});
  const auto clean = lm.forward(ids);
  {
    auto handles = lm.add_hooks(
        [](const std::string&) { return true; },
        [](const torch::Tensor&, const std::string&) { return std::optional<torch::Tensor>(); });
    EXPECT_EQ(handles.size(), lm.hook_names().size());
    EXPECT_TRUE(torch::equal(lm.forward(ids), clean));
    // A replacing hook that returns its input unchanged is also exact.
    auto same = lm.add_hook(
        "blocks.1.mlp.hook_post",
        [](const torch::Tensor& x, const std::string&) { return std::optional<torch::Tensor>(x); });
    EXPECT_TRUE(torch::equal(lm.forward(ids), clean));
  }
  EXPECT_EQ(lm.hook_point("blocks.1.mlp.hook_post")->hook_count(), 0u);
}

TEST(NnHooks, ReplacingANeuronEqualsZeroingItsDownProjectionColumn) {
  TinyLm lm;
  torch::manual_seed(1);
  const auto ids = torch::randint(50, {1, 6});
  torch::Tensor patched;
  {
    auto h = lm.add_hook("blocks.0.mlp.hook_post", [](const torch::Tensor& x, const std::string&) {
      auto y = x.clone();
      y.select(-1, 5).zero_();
      return std::optional<torch::Tensor>(y);
    });
    patched = lm.forward(ids);
  }
  {
    torch::NoGradGuard no_grad;
    lm.blocks[0]->as<DecoderBlock>()->mlp->down_proj->weight.select(1, 5).zero_();
  }
  EXPECT_TRUE(torch::allclose(lm.forward(ids), patched, 1e-5, 1e-6));
}

TEST(NnHooks, RunWithCacheRecordsInOrderAndFilters) {
  TinyLm lm;
  const auto ids = torch::randint(50, {1, 5});
  auto [out, cache] =
      lm.run_with_cache([&] { return lm.forward(ids); }, ends_with("mlp.hook_post"));
  EXPECT_EQ(cache.names(),
            (std::vector<std::string>{"blocks.0.mlp.hook_post", "blocks.1.mlp.hook_post"}));
  EXPECT_EQ(cache["blocks.1.mlp.hook_post"].sizes(), (std::vector<std::int64_t>{1, 5, 48}));
  EXPECT_FALSE(cache["blocks.0.mlp.hook_post"].requires_grad());
  EXPECT_EQ(cache.stack("blocks.", "mlp.hook_post").sizes(),
            (std::vector<std::int64_t>{2, 1, 5, 48}));
  EXPECT_THROW(cache["blocks.0.attn.hook_pattern"], UnknownNameError);
  auto [out_all, all] = lm.run_with_cache([&] { return lm.forward(ids); });
  EXPECT_EQ(all.size(), lm.hook_names().size());
  EXPECT_EQ(all.names().front(), "hook_embed");
  const auto pattern = all["blocks.0.attn.hook_pattern"];
  EXPECT_EQ(pattern.sizes(), (std::vector<std::int64_t>{1, 2, 5, 5}));
  // Causal and normalised.
  EXPECT_TRUE(torch::allclose(pattern.sum(-1), torch::ones({1, 2, 5}), 1e-5, 1e-5));
  EXPECT_EQ(pattern.triu(1).abs().sum().item<float>(), 0.0f);
  EXPECT_GT(all.bytes(), 0);
  // Hooks are gone afterwards.
  EXPECT_EQ(lm.hook_point("hook_embed")->hook_count(), 0u);
}

TEST(NnHooks, RunWithHooksRemovesHooksEvenOnError) {
  TinyLm lm;
  const auto ids = torch::randint(50, {1, 4});
  int calls = 0;
  auto counter = [&calls](const torch::Tensor&, const std::string&) {
    ++calls;
    return std::optional<torch::Tensor>();
  };
  lm.run_with_hooks({{"blocks.0.hook_resid_post", counter}, {"blocks.1.hook_resid_post", counter}},
                    [&] { return lm.forward(ids); });
  EXPECT_EQ(calls, 2);
  EXPECT_THROW(lm.run_with_hooks({{"hook_embed", counter}},
                                 [&]() -> torch::Tensor { CS_THROW(Error, "boom"); }),
               Error);
  EXPECT_EQ(lm.hook_point("hook_embed")->hook_count(), 0u);
  auto bad = lm.add_hook("hook_embed", [](const torch::Tensor& x, const std::string&) {
    return std::optional<torch::Tensor>(x.narrow(-1, 0, 3));
  });
  EXPECT_THROW(lm.forward(ids), ShapeError);
}

TEST(NnHooks, KvCacheEqualsFullRecomputation) {
  TinyLm lm;
  torch::NoGradGuard no_grad;
  const auto ids = torch::randint(50, {2, 9});
  const auto full = lm.forward(ids);
  KVCache cache;
  const auto prefix = lm.forward(ids.narrow(1, 0, 6), &cache);
  std::vector<torch::Tensor> steps{prefix};
  for (int t = 6; t < 9; ++t) steps.push_back(lm.forward(ids.narrow(1, t, 1), &cache));
  EXPECT_TRUE(torch::allclose(torch::cat(steps, 1), full, 1e-5, 1e-5));
  EXPECT_EQ(cache.length, 9);
}

TEST(NnNeuronRef, ParseAndPrintRoundTrip) {
  const auto ref = NeuronRef::parse("blocks.3.mlp.hook_post[12]");
  EXPECT_EQ(ref.hook, "blocks.3.mlp.hook_post");
  EXPECT_EQ(ref.index, 12);
  EXPECT_EQ(ref.to_string(), "blocks.3.mlp.hook_post[12]");
  EXPECT_EQ(NeuronRef::parse(ref.to_string()), ref);
  for (const char* bad : {"blocks.3.mlp.hook_post", "[3]", "x[]", "x[-1]", "x[1a]", "x[1"}) {
    EXPECT_THROW(NeuronRef::parse(bad), ConfigError) << bad;
  }
}

}  // namespace
}  // namespace clearsight::nn
