// The `clearsight mm` commands as a user runs them, on a model trained for two steps.
#include <gtest/gtest.h>

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

  // Bad inputs: one clear line each, non-zero exit.
  r = testing::run_cli("mm ask --model " + run + "/model --audio " + image + " \"hi\"", dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("has no audio tower"), std::string::npos) << r.err;
  write_png(dir / "big.png", std::vector<std::uint8_t>(64 * 64 * 3, 7), 64, 64);
  r = testing::run_cli(
      "mm ask --model " + run + "/model --image " + (dir / "big.png").string() + " \"hi\"", dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("expects 32x32 images"), std::string::npos) << r.err;
  r = testing::run_cli("mm eval --model " + (dir / "nope").string(), dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("neither a directory nor a built-in model"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace clearsight
