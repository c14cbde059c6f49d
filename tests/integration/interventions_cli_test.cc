// The intervention commands of issue #16 (explain patch, sae train/eval, miner eval), at reduced
// sizes (the documented sizes are timed in docs/RESULTS.md).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "clearsight/miner/selection_io.h"
#include "cli_runner.h"

namespace clearsight {
namespace {

TEST(IntegrationInterventionsCli, PatchPrintsTheResidualGrid) {
  testing::TempDir dir;
  const auto out = (dir / "patch").string();
  const auto js = testing::cli_json(testing::run_cli(
      "explain patch --model cs-tiny-vl --task scene_vqa --samples 2 --corrupt blank "
      "--components resid_pre,heads --out " +
          out + " --json",
      dir));
  ASSERT_TRUE(js["grid"].is_array());
  EXPECT_EQ(js["grid"].size(), 4u);
  EXPECT_EQ(js["grid"][0].size(), js["positions"].size());
  EXPECT_TRUE(js["components"]["heads"]["grid"].is_array());
  EXPECT_TRUE(std::filesystem::exists(out + "/report.html"));
  EXPECT_TRUE(std::filesystem::exists(out + "/patching.safetensors"));
  // Audio: shuffled frames on the audio model.
  const auto audio = testing::cli_json(testing::run_cli(
      "explain patch --model cs-tiny-audio --task sound_event --samples 1 --corrupt shuffle "
      "--components resid_pre --no-attribution --out " +
          (dir / "audio").string() + " --json",
      dir));
  EXPECT_EQ(audio["corrupt"], "shuffle");
}

TEST(IntegrationInterventionsCli, SaeTrainWritesSaelensAndEvalReadsIt) {
  testing::TempDir dir;
  const auto out = (dir / "sae").string();
  const auto js = testing::cli_json(testing::run_cli(
      "sae train --model cs-tiny-vl --hook blocks.1.hook_resid_post --features 128 --steps 40 "
      "--batch-tokens 128 --buffer-tokens 1024 --eval-samples 8 --out " +
          out + " --json",
      dir));
  for (const auto* key : {"explained_variance", "l0", "dead_fraction"}) {
    EXPECT_TRUE(js[key].is_number()) << key;
  }
  EXPECT_TRUE(std::filesystem::exists(out + "/cfg.json"));
  EXPECT_TRUE(std::filesystem::exists(out + "/sae_weights.safetensors"));
  const auto ev = testing::cli_json(testing::run_cli(
      "sae eval --model cs-tiny-vl --sae " + out + " --eval-samples 8 --json", dir));
  EXPECT_NEAR(ev["explained_variance"].get<double>(), js["explained_variance"].get<double>(), 1e-6);
  // An SAE trained on another model is a one-line error (the widths match by chance here).
  const auto bad = testing::run_cli(
      "sae eval --model cs-tiny-audio --sae " + out + " --task sound_event --eval-samples 2", dir);
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("clearsight: "), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find("trained on cs-tiny-vl"), std::string::npos) << bad.err;
}

TEST(IntegrationInterventionsCli, MinerEvalOfASavedSelection) {
  testing::TempDir dir;
  miner::Selection s;
  s.modalities = {"image", "text"};
  s.masks = torch::zeros({2, 4, 512}, torch::kBool);
  s.masks[0][2].narrow(0, 0, 40).fill_(true);
  const auto file = dir / "selection.safetensors";
  miner::save_selection(s, file, "cs-tiny-vl");
  const auto js = testing::cli_json(testing::run_cli(
      "miner eval --model cs-tiny-vl --selection " + file.string() +
          " --tasks scene_vqa --samples 8 --random-seeds 1 --modalities image --json",
      dir));
  EXPECT_EQ(js["neurons"].get<std::int64_t>(), 40);
  EXPECT_TRUE(js["tasks"]["scene_vqa"]["random_mean"].is_number());
  // Positions: all but the 40 neurons off at the prompt's audio positions (none in scene_vqa)
  // is the identity; at its text, special and image positions it breaks the answers.
  const auto eval_at = [&](const std::string& positions) {
    return testing::cli_json(testing::run_cli(
        "miner eval --model cs-tiny-vl --selection " + file.string() +
            " --tasks scene_vqa --samples 8 --random-seeds 0 --modalities image --complementary "
            "--positions " +
            positions + " --json",
        dir))["tasks"]["scene_vqa"];
  };
  const auto none = eval_at("audio");
  EXPECT_EQ(none["ablated"].get<double>(), none["original"].get<double>());
  const auto prompt = eval_at("text,special,image");
  EXPECT_LT(prompt["ablated"].get<double>(), prompt["original"].get<double>());
  const auto unknown = testing::run_cli("miner eval --model cs-tiny-vl --selection " +
                                            file.string() + " --samples 2 --positions imgae",
                                        dir);
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.err.find("image"), std::string::npos) << unknown.err;
  miner::Selection wrong = s;
  wrong.masks = torch::zeros({2, 3, 512}, torch::kBool);
  miner::save_selection(wrong, dir / "wrong.safetensors", "other");
  const auto bad = testing::run_cli("miner eval --model cs-tiny-vl --selection " +
                                        (dir / "wrong.safetensors").string() + " --samples 2",
                                    dir);
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("layers"), std::string::npos) << bad.err;
}

TEST(IntegrationInterventionsCli, MinerBaselineWritesASelectionThatMinerEvalReads) {
  testing::TempDir dir;
  const auto file = dir / "attribution.safetensors";
  const auto js = testing::cli_json(testing::run_cli(
      "miner baseline --model cs-tiny-vl --by attribution --tasks scene_vqa,text_choice "
      "--samples 3 --neurons 12 --out " +
          file.string() + " --json",
      dir));
  EXPECT_EQ(js["neurons"].get<std::int64_t>(), 12);
  std::int64_t total = 0;
  for (const auto& v : js["per_layer"]) total += v.get<std::int64_t>();
  EXPECT_EQ(total, 12);
  const auto selection = miner::load_selection(file);
  ASSERT_EQ(selection.modalities, std::vector<std::string>{"attribution"});
  EXPECT_EQ(selection.masks.sum().item<std::int64_t>(), 12);
  const auto eval = testing::cli_json(
      testing::run_cli("miner eval --model cs-tiny-vl --selection " + file.string() +
                           " --tasks scene_vqa --samples 4 --random-seeds 0 --json",
                       dir));
  EXPECT_EQ(eval["neurons"].get<std::int64_t>(), 12);
  // Bad options: one line, exit 1, no file.
  const auto out = dir / "bad.safetensors";
  for (const auto& args :
       {std::string("--by size"), std::string("--ratio 0"), std::string("--tasks speech")}) {
    const auto r = testing::run_cli(
        "miner baseline --model cs-tiny-vl --samples 2 " + args + " --out " + out.string(), dir);
    EXPECT_EQ(r.exit_code, 1) << args;
    EXPECT_NE(r.err.find("clearsight: "), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_FALSE(std::filesystem::exists(out)) << args;
  }
}

TEST(IntegrationInterventionsCli, BadOptionsAreOneLineErrors) {
  testing::TempDir dir;
  const auto out = (dir / "bad").string();
  auto r = testing::run_cli("explain patch --model cs-tiny-vl --corrupt blnk --out " + out, dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("blank"), std::string::npos) << r.err;
  r = testing::run_cli("explain patch --model cs-tiny-vl --corrupt shuffle --out " + out, dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("audio"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(out));
  r = testing::run_cli(
      "sae train --model cs-tiny-vl --hook blocks.9.hook_resid_post --steps 2 "
      "--out " +
          out,
      dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("clearsight: "), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(out));
  r = testing::run_cli("sae train --model cs-tiny-vl --architecture relu2 --out " + out, dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("topk"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace clearsight
