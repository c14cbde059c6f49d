// The `clearsight demos` commands as a user runs them.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "clearsight/core/image.h"
#include "clearsight/il/demos.h"
#include "clearsight/il/noise.h"
#include "clearsight/version.h"
#include "cli_runner.h"

namespace clearsight {
namespace {

/// A small clean Hopper-v4 file: 3 episodes of 20 steps, 11 observations, 3 actions.
void write_clean_file(const std::filesystem::path& path) {
  torch::manual_seed(0);
  il::DemoDataset d;
  const std::int64_t t = 60;
  d.observations = torch::randn({t, 11}) * 2 + 1;
  d.next_observations = torch::randn({t, 11});
  d.actions = torch::rand({t, 3}) * 2 - 1;
  d.rewards = torch::ones({t});
  d.terminals = torch::zeros({t}, torch::kBool);
  d.timeouts = torch::zeros({t}, torch::kBool);
  d.terminals[19] = true;
  d.timeouts[39] = true;
  d.timeouts[59] = true;
  d.meta.env = "Hopper-v4";
  d.meta.expert = "test";
  d.meta.expert_return = 20.0;
  d.meta.clearsight_version = kVersion;
  il::save_demos(path, d);
}

TEST(IntegrationDemosCli, InspectSummarisesAFile) {
  testing::TempDir dir;
  const auto file = dir / "hopper.h5";
  write_clean_file(file);
  auto r = testing::run_cli("demos inspect " + file.string() + " --json", dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto doc = nlohmann::json::parse(r.out);
  EXPECT_EQ(doc["env"], "Hopper-v4");
  EXPECT_EQ(doc["transitions"], 60);
  EXPECT_EQ(doc["episodes"], 3);
  EXPECT_EQ(doc["terminals"], 1);
  EXPECT_EQ(doc["timeouts"], 2);
  EXPECT_DOUBLE_EQ(doc["return"]["mean"].get<double>(), 20.0);
  EXPECT_EQ(doc["observations"]["std"].size(), 11u);
  EXPECT_EQ(doc["noise_spec"], "none");
  EXPECT_EQ(doc["attributes"]["expert"], "test");
  r = testing::run_cli("demos inspect " + file.string(), dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Hopper-v4 demonstrations"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("episodes      3"), std::string::npos) << r.out;
  r = testing::run_cli("demos inspect " + file.string() + " --env Walker2d-v4", dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("clearsight: config error:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("'Walker2d-v4'"), std::string::npos) << r.err;
}

TEST(IntegrationDemosCli, NoiseWritesARecordedNoisyCopy) {
  testing::TempDir dir;
  write_clean_file(dir / "clean.h5");
  auto r = testing::run_cli("demos noise " + (dir / "clean.h5").string() +
                                " --noise gauss:0.3+drop:2,5 --seed 4 --out " +
                                (dir / "noisy.h5").string(),
                            dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("gauss:0.3+drop:2,5"), std::string::npos) << r.out;
  const auto clean = il::load_demos(dir / "clean.h5");
  const auto noisy = il::load_demos(dir / "noisy.h5", "Hopper-v4");
  EXPECT_FALSE(torch::equal(clean.observations, noisy.observations));
  EXPECT_EQ(noisy.observations.select(1, 2).abs().max().item<float>(), 0.0f);
  EXPECT_EQ(noisy.meta.noise_seed, 4u);
  EXPECT_TRUE(torch::equal(clean.actions, noisy.actions));
  r = testing::run_cli("demos inspect --json " + (dir / "noisy.h5").string(), dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["noise_spec"], "gauss:0.3+drop:2,5");

  r = testing::run_cli("demos noise " + (dir / "clean.h5").string() + " --noise mix:0.2 --out " +
                           (dir / "mix.h5").string(),
                       dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("while collecting"), std::string::npos) << r.err;
  r = testing::run_cli("demos noise " + (dir / "clean.h5").string() + " --noise blur:1 --out " +
                           (dir / "mix.h5").string(),
                       dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("unknown noise kind 'blur'"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "mix.h5"));
}

TEST(IntegrationDemosCli, BrokenFilesGiveOneLineTypedErrors) {
  testing::TempDir dir;
  auto r = testing::run_cli("demos inspect " + (dir / "absent.h5").string(), dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("clearsight: io error:"), std::string::npos) << r.err;
  testing::write_bytes(dir / "junk.h5", "this is not an HDF5 file at all");
  r = testing::run_cli("demos inspect " + (dir / "junk.h5").string(), dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("clearsight: format error:"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("HDF5-DIAG"), std::string::npos) << r.err;
}

TEST(IntegrationDemosCli, CollectWritesAFileInspectReads) {
  testing::TempDir dir;
  const auto file = dir / "random.h5";
  auto r = testing::run_cli(
      "--seed 2 demos collect --expert random --env Hopper-v4 --episodes 4 "
      "--max-steps 15 --noise mix:0.5+gauss:0.1 --pixels 16x12 --out " +
          file.string(),
      dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("wrote"), std::string::npos) << r.out;
  const auto d = il::load_demos(file, "Hopper-v4");
  EXPECT_EQ(d.episodes(), 4);
  EXPECT_EQ(d.images.sizes().vec(), (std::vector<std::int64_t>{d.size(), 12, 16, 3}));
  EXPECT_EQ(d.meta.seed, 2u);
  EXPECT_EQ(d.meta.expert, "random");
  int non_expert = 0;
  for (auto flag : d.meta.episode_expert) non_expert += flag ? 0 : 1;
  EXPECT_EQ(non_expert, 2);
  r = testing::run_cli("demos inspect " + file.string() + " --json", dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto doc = nlohmann::json::parse(r.out);
  EXPECT_EQ(doc["noise_spec"], "mix:0.5+gauss:0.1");
  EXPECT_EQ(doc["images"]["shape"][1], 12);
  r = testing::run_cli(
      "demos collect --expert " + (dir / "nowhere").string() + " --out " + (dir / "x.h5").string(),
      dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("clearsight: io error:"), std::string::npos) << r.err;
}

TEST(IntegrationDemosCli, MultiCameraCollectAndContactSheet) {
  testing::TempDir dir;
  const auto file = dir / "walker.h5";
  const std::string expert = std::string(CS_SOURCE_DIR) + "/assets/experts/walker-walk";
  auto r = testing::run_cli("demos collect --expert " + expert +
                                " --episodes 1 --max-steps 5 --pixels 16 --camera 3,90,-45"
                                " --camera 3,0,-20 --out " +
                                file.string(),
                            dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto d = il::load_demos(file, "walker-walk");
  ASSERT_EQ(d.view_count(), 2);
  EXPECT_EQ(d.view_images(1).sizes().vec(), (std::vector<std::int64_t>{5, 16, 16, 3}));
  EXPECT_TRUE(torch::equal(d.view_camera_poses(1)[0], torch::tensor({3.0f, 0.0f, -20.0f})));

  r = testing::run_cli("demos inspect " + file.string() + " --json", dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto doc = nlohmann::json::parse(r.out);
  ASSERT_EQ(doc["views"].size(), 2u);
  EXPECT_EQ(doc["views"][1]["shape"][0], 5);
  EXPECT_EQ(doc["views"][1]["camera_poses"]["first"][1], 0.0);
  EXPECT_EQ(doc["views"][0]["camera_poses"]["last"][1], 90.0);
  EXPECT_EQ(doc["views"][0]["constant_frames"], 0);
  EXPECT_EQ(doc["views"][1]["constant_frames"], 0);
  EXPECT_GT(doc["views"][1]["pixel_mean"].get<double>(), 0.0);

  const auto sheet = dir / "sheet.png";
  r = testing::run_cli(
      "demos inspect " + file.string() + " --frames 4 --contact-sheet " + sheet.string(), dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("view 1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("wrote " + sheet.string()), std::string::npos) << r.out;
  const auto image = read_png(sheet);
  EXPECT_EQ(image.width, 4 * 16);
  EXPECT_EQ(image.height, 2 * 16);

  // Semicolon-joined poses are the same as repeated --camera.
  r = testing::run_cli(
      "demos collect --expert " + expert +
          " --episodes 1 --max-steps 2 --pixels 8 --camera '3,90,-45;3,0,-20;4,45,-30'"
          " --out " +
          (dir / "three.h5").string(),
      dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(il::load_demos(dir / "three.h5").view_count(), 3);

  r = testing::run_cli(
      "demos inspect " + file.string() + " --contact-sheet " + (dir / "sheet.jpg").string(), dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("clearsight: config error:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(".png"), std::string::npos) << r.err;
  write_clean_file(dir / "states.h5");
  r = testing::run_cli("demos inspect " + (dir / "states.h5").string() + " --contact-sheet " +
                           (dir / "x.png").string(),
                       dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("has no images; collect with --pixels"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "x.png"));
  r = testing::run_cli("demos collect --expert " + expert +
                           " --episodes 1 --max-steps 2 --camera 3,90,-45 --camera 3,0,-20 --out " +
                           (dir / "nopix.h5").string(),
                       dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--pixels"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace clearsight
