// The `clearsight mm` commands as a user runs them, on a model trained for two steps.
#include <gtest/gtest.h>
#include <stb/stb_image_write.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "clearsight/core/atomic_file.h"
#include "clearsight/core/image.h"
#include "cli_runner.h"

namespace clearsight {
namespace {

TEST(IntegrationMmCli, TasksSamplesAndHooks) {
  testing::TempDir dir;
  auto r = testing::run_cli("mm tasks", dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("scene_vqa      TextVQA"), std::string::npos) << r.out;
  r = testing::run_cli("mm sample --task motion_qa --index 2 --out " + dir.path().string(), dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(read_png(dir / "motion_qa_test_2_frame3.png").width, 32);
  r = testing::run_cli("mm hooks cs-tiny-audio", dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("audio.blocks.1.mlp.hook_post\n"), std::string::npos);
  EXPECT_NE(r.out.find("blocks.3.mlp.hook_post\n"), std::string::npos);
  r = testing::run_cli("mm sample --task scene_vq", dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("did you mean 'scene_vqa'"), std::string::npos) << r.err;
}

TEST(IntegrationMmCli, TrainResumeEvalAndAsk) {
  testing::TempDir dir;
  const std::string run = (dir / "run").string();
  const std::string common =
      " --set tasks=scene_vqa,text_choice --set batch_size=2 --set eval_samples=2"
      " --set warmup_steps=1 --set text_steps=1 --set text_batch_size=2";
  auto r =
      testing::run_cli("mm train --out " + run + " --set steps=2 --set stop_after=1" + common, dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("stopped early"), std::string::npos) << r.out;
  r = testing::run_cli("mm train --out " + run + " --set steps=2" + common, dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("resuming"), std::string::npos) << r.err;
  const auto summary = nlohmann::json::parse(read_file(dir / "run" / "summary.json"));
  EXPECT_EQ(summary["steps"], 3);  // One text-stage step, then two of the mix.

  r = testing::run_cli("mm eval --model " + run +
                           "/model --task scene_vqa --samples 4 "
                           "--blank-media --json",
                       dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto scores = nlohmann::json::parse(r.out);
  EXPECT_EQ(scores["scene_vqa"]["samples"], 4);
  EXPECT_TRUE(scores["scene_vqa"].contains("substring_accuracy"));
  EXPECT_TRUE(scores["scene_vqa"].contains("media_blanked"));

  r = testing::run_cli("mm sample --task scene_vqa --index 0 --out " + dir.path().string(), dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string image = (dir / "scene_vqa_test_0.png").string();
  r = testing::run_cli(
      "mm ask --model " + run + "/model --image " + image + " \"what color is the circle\"", dir);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
  // Words outside the vocabulary are named (on stderr, and in the JSON), not silently <|unk|>.
  r = testing::run_cli(
      "mm ask --model cs-tiny-vl --image " + image + " \"what colour is the zorblax circle\"", dir);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("zorblax"), std::string::npos) << r.err;
  const auto asked = testing::cli_json(testing::run_cli(
      "mm ask --model cs-tiny-vl --image " + image + " \"what is the zorblax\" --json", dir));
  EXPECT_EQ(asked["unknown_words"], nlohmann::json::array({"zorblax"})) << asked;
  EXPECT_TRUE(asked["answer"].is_string());

  // Bad inputs: one clear line each, non-zero exit.
  r = testing::run_cli("mm ask --model " + run + "/model --audio " + image + " \"hi\"", dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("has no audio tower"), std::string::npos) << r.err;
  // An image of another size is resized (and said so); a JPEG reads as well as a PNG.
  write_png(dir / "big.png", std::vector<std::uint8_t>(64 * 64 * 3, 7), 64, 64);
  r = testing::run_cli(
      "mm ask --model " + run + "/model --image " + (dir / "big.png").string() + " \"hi\"", dir);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("resized to the 32x32"), std::string::npos) << r.err;
  const std::vector<std::uint8_t> grey(48 * 40 * 3, 128);
  ASSERT_EQ(stbi_write_jpg((dir / "grey.jpg").c_str(), 48, 40, 3, grey.data(), 90), 1);
  r = testing::run_cli(
      "mm ask --model " + run + "/model --image " + (dir / "grey.jpg").string() + " \"hi\"", dir);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  testing::write_bytes(dir / "fake.jpg", "\xff\xd8 not a jpeg");
  r = testing::run_cli(
      "mm ask --model " + run + "/model --image " + (dir / "fake.jpg").string() + " \"hi\"", dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("is not a readable image"), std::string::npos) << r.err;
  r = testing::run_cli("mm ask --model " + run + "/model --video " + image + " \"hi\"", dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("takes videos of 4 frames"), std::string::npos) << r.err;
  r = testing::run_cli("mm eval --model " + (dir / "nope").string(), dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("neither a directory nor a built-in model"), std::string::npos) << r.err;
}

// A synthetic task exported as JSONL, then scored as a dataset of one's own: the same score as
// the task itself.
TEST(IntegrationMmCli, ExportAndEvalData) {
  testing::TempDir dir;
  const std::string data = (dir / "vqa").string();
  auto r = testing::run_cli("mm export --task scene_vqa --samples 10 --out " + data, dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = testing::run_cli("mm export --task scene_vqa --samples 10 --out " + data, dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("already exists"), std::string::npos) << r.err;
  r = testing::run_cli("mm eval --model cs-tiny-vl --data " + data + "/data.jsonl --json " +
                           "--predictions " + (dir / "pred.jsonl").string(),
                       dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto got = nlohmann::json::parse(r.out);
  EXPECT_EQ(got["samples"], 10);
  r = testing::run_cli("mm eval --model cs-tiny-vl --task scene_vqa --samples 10 --json", dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto want = nlohmann::json::parse(r.out);
  EXPECT_DOUBLE_EQ(got["metrics"]["substring_accuracy"]["score"].get<double>(),
                   want["scene_vqa"]["substring_accuracy"].get<double>());
  const auto lines = read_file(dir / "pred.jsonl");
  EXPECT_EQ(std::count(lines.begin(), lines.end(), '\n'), 10);
  const auto first = nlohmann::json::parse(lines.substr(0, lines.find('\n')));
  EXPECT_EQ(first["id"], "scene_vqa/test/0");
  EXPECT_TRUE(first.contains("score"));
  r = testing::run_cli("mm tasks --json", dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)[0]["task"], "scene_vqa");
}

}  // namespace
}  // namespace clearsight
