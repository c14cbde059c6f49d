#include "clearsight/miner/analysis.h"

#include <gtest/gtest.h>

#include "clearsight/mm/data.h"
#include "clearsight/mm/trainer.h"

namespace clearsight::miner {
namespace {

namespace fs = std::filesystem;

// The last token's attention is a distribution over the prompt, and the base modalities partition
// the prompt: its flows to them sum to 1 in every layer. One entry is recomputed from a cache of
// the same prompt; the similarity of identical prompts' modality means is well defined.
TEST(MinerAnalysis, LastTokenFlowIsADistributionOverTheModalities) {
  auto loaded = mm::load_model_with_tokenizer(
      (fs::path(CS_SOURCE_DIR) / "assets/models/cs-tiny-vl").string());
  auto& model = *loaded.model;
  const auto flow = measure_flow(model, loaded.tokenizer, {"scene_vqa"}, mm::Split::kTest, 3);
  EXPECT_EQ(flow.prompts, 3);
  EXPECT_EQ(flow.modalities, (std::vector<std::string>{"text", "special", "image"}));
  const auto layers = model.config().num_hidden_layers;
  ASSERT_EQ(flow.last_token_flow.sizes(), (std::vector<std::int64_t>{3, layers}));
  for (std::int64_t l = 0; l < layers; ++l) {
    EXPECT_NEAR(flow.last_token_flow.select(1, l).sum().item<double>(), 1.0, 1e-5) << l;
  }
  // The flow to the image at layer 0 over one prompt, from the cache by hand.
  const auto one = measure_flow(model, loaded.tokenizer, {"scene_vqa"}, mm::Split::kTest, 1);
  const auto task = mm::make_task("scene_vqa");
  const auto batch =
      mm::collate({task->sample(mm::Split::kTest, 0)}, loaded.tokenizer, model.media_tokens(),
                  model.config().audio_config.max_samples, false);
  torch::NoGradGuard no_grad;
  auto [logits, cache] =
      model.run_with_cache([&] { return model.forward(batch.inputs); },
                           [](const std::string& n) { return n == "blocks.0.attn.hook_pattern"; });
  const auto pattern = cache["blocks.0.attn.hook_pattern"][0];  // [H, L, L]
  const auto ids = batch.inputs.input_ids[0];
  const auto image_id = loaded.tokenizer.id("<|image_pad|>");
  double by_hand = 0;
  for (std::int64_t h = 0; h < pattern.size(0); ++h) {
    for (std::int64_t j = 0; j < ids.size(0); ++j) {
      if (ids[j].item<std::int64_t>() == image_id) {
        by_hand += pattern[h][ids.size(0) - 1][j].item<double>() / pattern.size(0);
      }
    }
  }
  EXPECT_NEAR(one.last_token_flow[2][0].item<double>(), by_hand, 1e-6);
  ASSERT_TRUE(flow.cosine.count("text~image"));
  const auto cosine = flow.cosine.at("text~image");
  EXPECT_EQ(cosine.size(0), layers);
  EXPECT_LE(cosine.abs().max().item<double>(), 1.0 + 1e-9);
}

}  // namespace
}  // namespace clearsight::miner
