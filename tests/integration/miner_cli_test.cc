// The `clearsight miner` commands end to end on a model trained for two steps.
#include <gtest/gtest.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "browser.h"
#include "clearsight/core/atomic_file.h"
#include "clearsight/core/safetensors.h"
#include "clearsight/core/strings.h"
#include "clearsight/miner/miner.h"
#include "cli_runner.h"

namespace clearsight {
namespace {

TEST(IntegrationMinerCli, ScoreShardsMergeSelectRunAndReport) {
  testing::TempDir dir;
  const std::string run = (dir / "train").string();
  auto r = testing::run_cli(
      "mm train --out " + run +
          " --set steps=2 --set batch_size=2 --set eval_samples=2"
          " --set tasks=scene_vqa,text_choice --set warmup_steps=1 --set text_steps=0",
      dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string model = run + "/model";
  const auto score = [&](const std::string& shard, const std::string& out) {
    return testing::run_cli("miner score --model " + model +
                                " --task scene_vqa --samples 6 --shard " + shard + " --out " +
                                (dir / out).string(),
                            dir);
  };
  ASSERT_EQ(score("0/1", "all.safetensors").exit_code, 0);
  ASSERT_EQ(score("0/2", "a.safetensors").exit_code, 0);
  ASSERT_EQ(score("1/2", "b.safetensors").exit_code, 0);
  r = testing::run_cli("miner merge " + (dir / "a.safetensors").string() + " " +
                           (dir / "b.safetensors").string() + " --out " +
                           (dir / "merged.safetensors").string(),
                       dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto all = miner::ScoreAccumulator::load(dir / "all.safetensors");
  const auto merged = miner::ScoreAccumulator::load(dir / "merged.safetensors");
  EXPECT_EQ(merged.samples(), 6);
  EXPECT_TRUE(torch::allclose(all.mean(), merged.mean(), 0, 1e-12));
  // Shards of one scoring only, each once; the merged file keeps the model and the source.
  const auto meta = safetensors::File::open(dir / "merged.safetensors").metadata();
  EXPECT_EQ(meta.at("shard"), "0/1");
  EXPECT_EQ(meta.at("split"), "validation");
  EXPECT_EQ(meta.at("model_hash"),
            safetensors::File::open(dir / "a.safetensors").metadata().at("model_hash"));
  const std::vector<std::pair<std::string, std::string>> refused = {
      {"a.safetensors a.safetensors", "has the same content"},
      {"a.safetensors all.safetensors", "holds shards of 1, the others of 2"},
  };
  for (const auto& [inputs, expected] : refused) {
    std::string args;
    for (const auto& name : split(inputs, ' ')) args += (dir / name).string() + " ";
    r = testing::run_cli("miner merge " + args + "--out " + (dir / "m2.safetensors").string(), dir);
    EXPECT_EQ(r.exit_code, 1) << inputs;
    EXPECT_NE(r.err.find(expected), std::string::npos) << r.err;
    EXPECT_FALSE(std::filesystem::exists(dir / "m2.safetensors"));
  }
  r = testing::run_cli("miner select --scores " + (dir / "all.safetensors").string() +
                           " --scores " + (dir / "merged.safetensors").string(),
                       dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("both hold dataset 'scene_vqa'"), std::string::npos) << r.err;
  r = testing::run_cli(
      "miner select --weights 0,0,0,0,0 --scores " + (dir / "merged.safetensors").string(), dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("all zero"), std::string::npos) << r.err;

  r = testing::run_cli("miner select --json --scores " + (dir / "merged.safetensors").string(),
                       dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(nlohmann::json::parse(r.out)["per_layer"].contains("image"));
  r = testing::run_cli(
      "miner select --strategy LA_MX --scores " + (dir / "merged.safetensors").string(), dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("did you mean 'LA_MU'"), std::string::npos) << r.err;
  testing::write_bytes(dir / "bad.safetensors", "not a score file");
  r = testing::run_cli("miner select --scores " + (dir / "bad.safetensors").string(), dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("format error"), std::string::npos) << r.err;

  const std::string out = (dir / "miner").string();
  r = testing::run_cli("miner run --model " + model + " --out " + out +
                           " --score-samples 3 --eval-samples 3 --random-seeds 2",
                       dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto summary = nlohmann::json::parse(read_file(dir / "miner" / "summary.json"));
  EXPECT_TRUE(summary["benchmarks"].contains("scene_vqa"));
  EXPECT_TRUE(summary["specificity_relative_drop"].contains("image"));
  EXPECT_TRUE(std::filesystem::exists(dir / "miner" / "selection.safetensors"));
  // A rerun with other scoring settings does not reuse the stale score files: it is refused,
  // and the run's config.json is left as it was.
  const auto config_before = read_file(dir / "miner" / "config.json");
  r = testing::run_cli("miner run --model " + model + " --out " + out +
                           " --score-samples 4 --eval-samples 3 --random-seeds 2",
                       dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("was scored with score_samples 3, this run asks for 4"), std::string::npos)
      << r.err;
  EXPECT_EQ(read_file(dir / "miner" / "config.json"), config_before);
  r = testing::run_cli("miner run --model " + model + " --out " + out +
                           " --score-samples 3 --eval-samples 3 --random-seeds 2 --faithful",
                       dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("faithful false"), std::string::npos) << r.err;
  r = testing::run_cli("miner report " + out, dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string report = read_file(dir / "miner" / "report" / "report.md");
  EXPECT_NE(report.find("| scene_vqa |"), std::string::npos);
  EXPECT_TRUE(std::filesystem::exists(dir / "miner" / "report" / "flow.svg"));
  // The HTML twin: the page and each of its figures (deactivation bars, specificity and
  // importance heatmaps, layer plots) render with content in headless Chromium.
  const auto html = dir / "miner" / "report" / "report.html";
  ASSERT_TRUE(std::filesystem::exists(html));
  const auto pictures = testing::report_pictures(html);
  for (const std::string figure : {"deactivation.svg", "specificity.svg", "importance-image.svg",
                                   "importance-text.svg", "layers.svg", "flow.svg"}) {
    EXPECT_NE(std::find(pictures.begin(), pictures.end(), figure), pictures.end()) << figure;
  }
  EXPECT_GE(testing::expect_report_renders(html), 6);
  EXPECT_NE(report.find("distinct neurons"), std::string::npos);

  // miner neurons: every selected neuron once, named as a hook reference, with its scores.
  const auto listing = testing::cli_json(testing::run_cli("miner neurons " + out + " --json", dir));
  EXPECT_EQ(listing["distinct"], summary["neurons_selected"]);
  ASSERT_EQ(listing["neurons"].size(), summary["neurons_selected"].get<std::size_t>());
  const auto& first = listing["neurons"][0];
  EXPECT_EQ(first["name"].get<std::string>().rfind("blocks.", 0), 0u) << first;
  EXPECT_NE(first["name"].get<std::string>().find(".mlp.hook_post["), std::string::npos);
  EXPECT_TRUE(first["scores"].contains("image")) << first;
  EXPECT_EQ(listing["scores_from"].size(), summary["benchmarks"].size());
  r = testing::run_cli("miner neurons " + out + " --modality image --top 3", dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("distinct neurons"), std::string::npos) << r.out;
  r = testing::run_cli("miner neurons " + out + " --modality imgae", dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("did you mean 'image'"), std::string::npos) << r.err;
  r = testing::run_cli("miner neurons " + (dir / "nothing").string(), dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err.rfind("clearsight: io error: ", 0), 0u) << r.err;
  r = testing::run_cli("miner report " + (dir / "nothing").string(), dir);
  EXPECT_EQ(r.exit_code, 1);
}

// Bad options fail before any work and leave no output; nothing to score is an error.
TEST(IntegrationMinerCli, BadOptionsFailFirstAndLeaveNothing) {
  testing::TempDir dir;
  for (const std::string options :
       {"--ratio 2", "--eval-samples -1", "--random-seeds 0", "--score-samples 0"}) {
    const auto out = dir / "run";
    auto r =
        testing::run_cli("miner run --model cs-tiny-vl --out " + out.string() + " " + options, dir);
    EXPECT_EQ(r.exit_code, 1) << options;
    EXPECT_EQ(r.err.rfind("clearsight: config error: ", 0), 0u) << r.err;
    EXPECT_FALSE(std::filesystem::exists(out)) << options;
  }
  auto r = testing::run_cli("miner score --model cs-tiny-vl --task scene_vqa --samples 0 --out " +
                                (dir / "s.safetensors").string(),
                            dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("nothing to score"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "s.safetensors"));
}

}  // namespace
}  // namespace clearsight
