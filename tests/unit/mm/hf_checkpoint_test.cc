#include "clearsight/mm/hf_checkpoint.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "clearsight/core/atomic_file.h"
#include "clearsight/core/error.h"
#include "clearsight/core/safetensors.h"
#include "clearsight/mm/mrope.h"
#include "clearsight/mm/whisper_features.h"
#include "test_util.h"

namespace clearsight::mm {
namespace {

namespace fs = std::filesystem;

const fs::path kFixtures = fs::path(CS_SOURCE_DIR) / "tests/fixtures/qwen2";
// The transformers-made fixtures (tests/reference/make_hf_fixtures.py on a machine with
// PyTorch 2.x and transformers); until they exist the spec-written reference stands in.
const fs::path kHfFixtures = fs::path(CS_SOURCE_DIR) / "tests/fixtures/qwen2-hf";

std::map<std::string, torch::Tensor> load(const fs::path& path) {
  return safetensors::File::open(path).all();
}

// Largest |a - b| / (max |b| + tiny) over the tensor: error relative to the tensor's scale.
double relative_error(const torch::Tensor& a, const torch::Tensor& b) {
  const auto x = a.to(torch::kFloat64), y = b.to(torch::kFloat64);
  return (x - y).abs().max().item<double>() / (y.abs().max().item<double>() + 1e-30);
}

// Compares named outputs at the 1e-4 relative bar and remembers the worst error.
struct ParityCheck {
  double worst = 0;
  void operator()(const std::string& what, const torch::Tensor& got, const torch::Tensor& want) {
    ASSERT_EQ(got.sizes(), want.sizes()) << what;
    const double err = relative_error(got, want);
    worst = std::max(worst, err);
    EXPECT_LT(err, 1e-4) << what;
  }
};

struct VlRun {
  std::shared_ptr<MultimodalModel> model;
  std::map<std::string, torch::Tensor> inputs, expected;
  MmInputs mm;
};

VlRun vl_run(const fs::path& expected_dir) {
  VlRun r;
  r.model = load_hf_model(kFixtures / "qwen2_vl");
  r.inputs = load(kFixtures / "qwen2_vl/inputs.safetensors");
  r.expected = load(expected_dir / "expected.safetensors");
  const auto& e = r.expected;
  r.mm.input_ids = e.at("input_ids").to(torch::kInt64);
  r.mm.attention_mask = e.at("attention_mask").to(torch::kBool);
  r.mm.pixel_values = e.at("pixel_values");
  r.mm.image_grid_thw = e.at("image_grid_thw").to(torch::kInt64);
  r.mm.pixel_values_videos = e.at("pixel_values_videos");
  r.mm.video_grid_thw = e.at("video_grid_thw").to(torch::kInt64);
  return r;
}

void check_vl_parity(const fs::path& expected_dir) {
  auto r = vl_run(expected_dir);
  const auto& e = r.expected;
  const auto [positions, deltas] = r.model->positions(r.mm);
  const auto real = r.mm.attention_mask.unsqueeze(0).expand_as(positions);
  EXPECT_TRUE(positions.masked_select(real).equal(e.at("position_ids").masked_select(real)));
  EXPECT_TRUE(deltas.equal(e.at("rope_deltas").to(torch::kInt64)));

  torch::NoGradGuard no_grad;
  auto [logits, cache] = r.model->run_with_cache([&] { return r.model->forward(r.mm); });
  const auto mask = r.mm.attention_mask.unsqueeze(-1);
  const auto masked = [&](const torch::Tensor& t) { return t.masked_select(mask.expand_as(t)); };
  ParityCheck check;
  check("logits", masked(logits), masked(e.at("logits")));
  check("hook_embed", masked(cache["hook_embed"]), masked(e.at("hook_embed")));
  for (int i = 0; i < r.model->config().num_hidden_layers; ++i) {
    const auto b = "blocks." + std::to_string(i) + ".";
    check(b + "mlp.hook_post", masked(cache[b + "mlp.hook_post"]),
          masked(e.at(b + "mlp.hook_post")));
    check(b + "hook_resid_post", masked(cache[b + "hook_resid_post"]),
          masked(e.at(b + "hook_resid_post")));
  }
  // The towers, called directly on each modality.
  const auto image_patches = r.model->qwen2_vision(r.mm.pixel_values, r.mm.image_grid_thw);
  check("visual.image_embeds", r.model->projector(image_patches).squeeze(0),
        e.at("visual.image_embeds"));
  check("visual.image.blocks.last", image_patches.squeeze(0),
        e.at("visual.image.blocks." + std::to_string(r.model->config().qwen2_vision.depth - 1)));
  const auto video_patches = r.model->qwen2_vision(r.mm.pixel_values_videos, r.mm.video_grid_thw);
  check("visual.video_embeds", r.model->projector(video_patches).squeeze(0),
        e.at("visual.video_embeds"));
  std::printf("[parity] %s: max relative error %.2e\n", expected_dir.string().c_str(), check.worst);
}

TEST(MmHfCheckpoint, Qwen2VlMatchesTheSpecReference) { check_vl_parity(kFixtures / "qwen2_vl"); }

TEST(MmHfCheckpoint, Qwen2VlMatchesTransformers) {
  if (!fs::exists(kHfFixtures / "qwen2_vl/expected.safetensors")) {
    GTEST_SKIP() << "waiting for the transformers fixtures: run tests/reference/"
                    "make_hf_fixtures.py on a machine with PyTorch 2.x and transformers";
  }
  check_vl_parity(kHfFixtures / "qwen2_vl");
}

void check_audio_parity(const fs::path& expected_dir) {
  const auto model = load_hf_model(kFixtures / "qwen2_audio");
  const auto e = load(expected_dir / "expected.safetensors");
  MmInputs in;
  in.input_ids = e.at("input_ids").to(torch::kInt64);
  in.attention_mask = e.at("attention_mask").to(torch::kBool);
  in.input_features = e.at("input_features");
  in.feature_attention_mask = e.at("feature_attention_mask").to(torch::kInt64);
  torch::NoGradGuard no_grad;
  auto [logits, cache] = model->run_with_cache([&] { return model->forward(in); });
  const auto mask = in.attention_mask.unsqueeze(-1);
  const auto masked = [&](const torch::Tensor& t) { return t.masked_select(mask.expand_as(t)); };
  ParityCheck check;
  check("logits", masked(logits), masked(e.at("logits")));
  for (int i = 0; i < model->config().num_hidden_layers; ++i) {
    const auto b = "blocks." + std::to_string(i) + ".";
    check(b + "mlp.hook_post", masked(cache[b + "mlp.hook_post"]),
          masked(e.at(b + "mlp.hook_post")));
  }
  const auto frames = model->qwen2_audio(in.input_features, in.feature_attention_mask);
  check("audio_tower.output", frames, e.at("audio_tower.output"));
  const auto n = e.at("multi_modal_projector.output").size(0);
  check("multi_modal_projector.output", model->projector(frames)[0].narrow(0, 0, n),
        e.at("multi_modal_projector.output"));
  std::printf("[parity] %s: max relative error %.2e\n", expected_dir.string().c_str(), check.worst);
}

TEST(MmHfCheckpoint, Qwen2AudioMatchesTheSpecReference) {
  check_audio_parity(kFixtures / "qwen2_audio");
}

TEST(MmHfCheckpoint, Qwen2AudioMatchesTransformers) {
  if (!fs::exists(kHfFixtures / "qwen2_audio/expected.safetensors")) {
    GTEST_SKIP() << "waiting for the transformers fixtures: run tests/reference/"
                    "make_hf_fixtures.py on a machine with PyTorch 2.x and transformers";
  }
  check_audio_parity(kHfFixtures / "qwen2_audio");
}

TEST(MmHfCheckpoint, WhisperFeaturesMatchTheReference) {
  const auto inputs = load(kFixtures / "qwen2_audio/inputs.safetensors");
  const auto e = load(kFixtures / "qwen2_audio/expected.safetensors");
  const auto config =
      load_whisper_feature_extractor(kFixtures / "qwen2_audio/preprocessor_config.json");
  const auto f = whisper_features({inputs.at("waveform.0")}, config);
  ASSERT_EQ(f.input_features.sizes(), e.at("input_features").sizes());
  EXPECT_LT((f.input_features - e.at("input_features")).abs().max().item<double>(), 1e-5);
  EXPECT_TRUE(f.feature_attention_mask.equal(e.at("feature_attention_mask").to(torch::kInt64)));
  const auto [conv, tokens] = qwen2_audio_lengths(f.feature_attention_mask.sum(1));
  EXPECT_EQ(conv.item<std::int64_t>(), e.at("audio_feat_lengths").item<std::int64_t>());
  EXPECT_EQ(tokens.item<std::int64_t>(), e.at("audio_output_lengths").item<std::int64_t>());
  EXPECT_EQ(qwen2_audio_lengths(torch::tensor({3000}, torch::kInt64)).second.item<std::int64_t>(),
            750);
}

TEST(MmHfCheckpoint, MropeTextOnlyIsOneDimensional) {
  const auto ids = torch::tensor({{5, 6, 7, 8}}, torch::kInt64);
  const auto mask = torch::tensor({{1, 1, 1, 0}}, torch::kBool);
  const auto [pos, deltas] = mrope_positions(ids, mask, {}, {}, MropeTokens{9, 10, 11, 2});
  EXPECT_TRUE(pos[0].equal(torch::tensor({{0, 1, 2, 1}}, torch::kInt64)));
  EXPECT_TRUE(pos[1].equal(pos[0]) && pos[2].equal(pos[0]));
  EXPECT_EQ(deltas.item<std::int64_t>(), 3 - 4);
}

TEST(MmHfCheckpoint, MropeImageBlockTakesItsGrid) {
  // text, <vision_start>, 2 x 3 merged image tokens (grid 1 x 4 x 6), text.
  std::vector<std::int64_t> row = {5, 11};
  for (int i = 0; i < 6; ++i) row.push_back(9);
  row.push_back(7);
  const auto ids = torch::tensor(row, torch::kInt64).unsqueeze(0);
  const auto grid = torch::tensor({{1, 4, 6}}, torch::kInt64);
  const auto [pos, deltas] = mrope_positions(ids, {}, grid, {}, MropeTokens{9, 10, 11, 2});
  EXPECT_TRUE(pos[0].equal(torch::tensor({{0, 1, 2, 2, 2, 2, 2, 2, 5}}, torch::kInt64)));
  EXPECT_TRUE(pos[1].equal(torch::tensor({{0, 1, 2, 2, 2, 3, 3, 3, 5}}, torch::kInt64)));
  EXPECT_TRUE(pos[2].equal(torch::tensor({{0, 1, 2, 3, 4, 2, 3, 4, 5}}, torch::kInt64)));
  EXPECT_EQ(deltas.item<std::int64_t>(), 6 - 9);
  // A grid whose block is longer than the pads, and grids left over, are errors.
  EXPECT_THROW(mrope_positions(ids, {}, torch::tensor({{1, 4, 8}}, torch::kInt64), {},
                               MropeTokens{9, 10, 11, 2}),
               ShapeError);
  EXPECT_THROW(mrope_positions(ids, {}, torch::tensor({{1, 4, 6}, {1, 2, 2}}, torch::kInt64), {},
                               MropeTokens{9, 10, 11, 2}),
               ShapeError);
}

TEST(MmHfCheckpoint, NewerWeightNamesLoadTheSameModel) {
  testing::TempDir dir;
  fs::copy_file(kFixtures / "qwen2_vl/config.json", dir / "config.json");
  std::vector<std::pair<std::string, torch::Tensor>> renamed;
  for (auto& [name, t] : load(kFixtures / "qwen2_vl/model.safetensors")) {
    std::string n = name;
    if (n.rfind("model.", 0) == 0) n = "model.language_model." + n.substr(6);
    if (n.rfind("visual.", 0) == 0) n = "model." + n;
    renamed.emplace_back(n, t);
  }
  safetensors::save(dir / "model.safetensors", renamed, {{"format", "pt"}});
  const auto a = load_hf_model(kFixtures / "qwen2_vl");
  const auto b = load_hf_model(dir.path());
  const auto pa = a->named_parameters(), pb = b->named_parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (const auto& p : pa) EXPECT_TRUE(p.value().equal(pb[p.key()])) << p.key();
}

TEST(MmHfCheckpoint, BadFoldersGiveErrorsNamingTheProblem) {
  testing::TempDir dir;
  const auto message = [&](auto&& fn) -> std::string {
    try {
      fn();
    } catch (const Error& e) {
      return e.what();
    }
    return "no error";
  };
  EXPECT_NE(message([&] { load_hf_model(dir / "missing"); }).find("does not exist"),
            std::string::npos);
  auto config = nlohmann::json::parse(read_file(kFixtures / "qwen2_vl/config.json"));
  const auto write = [&](const nlohmann::json& c) { atomic_write(dir / "config.json", c.dump()); };
  auto c = config;
  c["model_type"] = "llama";
  write(c);
  EXPECT_NE(message([&] { load_hf_config(dir / "config.json"); }).find("llama"), std::string::npos);
  for (const char* field : {"num_attention_heads", "num_key_value_heads", "hidden_size"}) {
    c = config;
    c[field] = 0;
    if (c.contains("text_config")) c["text_config"][field] = 0;
    write(c);
    EXPECT_NE(message([&] { load_hf_config(dir / "config.json"); }).find(field), std::string::npos)
        << field;
  }
  c = config;
  c["vision_config"]["num_heads"] = 0;
  write(c);
  EXPECT_NE(message([&] { load_hf_config(dir / "config.json"); }).find("vision_config.num_heads"),
            std::string::npos);
  // Weights: a missing model file, then a truncated one, then an extra tensor.
  write(config);
  EXPECT_NE(message([&] { load_hf_model(dir.path()); }).find("model.safetensors"),
            std::string::npos);
  const auto bytes = read_file(kFixtures / "qwen2_vl/model.safetensors");
  testing::write_bytes(dir / "model.safetensors", bytes.substr(0, bytes.size() / 2));
  EXPECT_NE(message([&] { load_hf_model(dir.path()); }), "no error");
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  for (auto& [name, t] : load(kFixtures / "qwen2_vl/model.safetensors")) {
    tensors.emplace_back(name, t);
  }
  tensors.emplace_back("visual.unknown.weight", torch::zeros({2}));
  safetensors::save(dir / "model.safetensors", tensors, {});
  EXPECT_NE(message([&] { load_hf_model(dir.path()); }).find("visual.unknown.weight"),
            std::string::npos);
}

}  // namespace
}  // namespace clearsight::mm
