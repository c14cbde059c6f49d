#include "clearsight/miner/provenance.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "clearsight/core/error.h"
#include "clearsight/core/safetensors.h"
#include "clearsight/core/strings.h"
#include "test_util.h"

namespace clearsight::miner {
namespace {

namespace fs = std::filesystem;

// A score file of 2 layers x 3 neurons whose every sum is `value`, with n samples of each
// modality, under the provenance of a scoring on `model` (a folder) with the given shard.
fs::path write_scores(const testing::TempDir& dir, const std::string& name, const fs::path& model,
                      const std::string& shard, double value = 1.0, std::int64_t n = 2,
                      const std::string& dataset = "vqa", Provenance extra = {}) {
  auto p = score_provenance(model.string(), "validation", "", shard, 8, false);
  for (const auto& [key, value] : extra) p[key] = value;
  p["kind"] = "miner_scores";
  p["dataset"] = dataset;
  p["metrics"] = join(std::vector<std::string>(kMetrics.begin(), kMetrics.end()), ",");
  p["modalities"] = join(std::vector<std::string>(kModalities.begin(), kModalities.end()), ",");
  const auto path = dir / name;
  safetensors::save(
      path,
      {{"sums", torch::full({kNumMetrics, kNumModalities, 2, 3}, value, torch::kFloat64)},
       {"counts", torch::full({kNumModalities}, n, torch::kInt64)},
       {"samples", torch::tensor({n})}},
      p);
  return path;
}

class MinerProvenance : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::write_bytes(model_a / "config.json", "{\"a\": 1}");
    testing::write_bytes(model_b / "config.json", "{\"b\": 2}");
  }
  testing::TempDir dir, model_a, model_b;
};

TEST_F(MinerProvenance, ScoreProvenanceRecordsModelHashSourceAndSettings) {
  const auto p = score_provenance(model_a.path().string(), "test", "", "1/4", 50, true);
  EXPECT_EQ(p.at("model_hash").rfind("xxh3-128:", 0), 0u);
  EXPECT_EQ(p.at("split"), "test");
  EXPECT_EQ(p.at("shard"), "1/4");
  EXPECT_EQ(p.at("samples"), "50");
  EXPECT_EQ(p.at("faithful"), "true");
  EXPECT_EQ(p.count("data"), 0u);
  testing::write_bytes(dir / "d.jsonl", "{}\n");
  const auto q =
      score_provenance(model_a.path().string(), "test", dir / "d.jsonl", "0/1", 5, false);
  EXPECT_EQ(q.count("split"), 0u);
  EXPECT_EQ(q.at("data_hash").rfind("xxh3-128:", 0), 0u);
  EXPECT_THROW(score_provenance("no-such-model", "test", "", "0/1", 5, false), IoError);
}

TEST_F(MinerProvenance, ShardsMergeIntoTheWholeScoringAndKeepProvenance) {
  const auto a = write_scores(dir, "a.st", model_a.path(), "0/2", 1.0, 2);
  const auto b = write_scores(dir, "b.st", model_a.path(), "1/2", 3.0, 3);
  const auto merged = merge_score_files({a, b});
  EXPECT_EQ(merged.scores.samples(), 5);
  EXPECT_DOUBLE_EQ(merged.scores.mean()[0][0][0][0].item<double>(), 4.0 / 5.0);
  EXPECT_EQ(merged.provenance.at("shard"), "0/1");
  EXPECT_EQ(merged.provenance.at("model_hash"), load_score_file(a).provenance.at("model_hash"));
  EXPECT_EQ(merged.provenance.at("samples"), "8");
  EXPECT_EQ(merged.provenance.count("merged_shards"), 0u);
}

TEST_F(MinerProvenance, PartialMergesMergeOn) {
  const auto s0 = write_scores(dir, "0.st", model_a.path(), "0/4");
  const auto s1 = write_scores(dir, "1.st", model_a.path(), "1/4", 2.0);
  const auto s2 = write_scores(dir, "2.st", model_a.path(), "2/4", 3.0);
  const auto s3 = write_scores(dir, "3.st", model_a.path(), "3/4", 4.0);
  const auto low = merge_score_files({s0, s1});
  EXPECT_EQ(low.provenance.at("merged_shards"), "0,1 of 4");
  EXPECT_EQ(low.provenance.count("shard"), 0u);
  low.scores.save(dir / "low.st", low.provenance);
  const auto all = merge_score_files({dir / "low.st", s2, s3});
  EXPECT_EQ(all.provenance.at("shard"), "0/1");
  EXPECT_EQ(all.scores.samples(), 8);
  EXPECT_NE(testing::error_message([&] {
              merge_score_files({dir / "low.st", s1});
            }).find("appears twice"),
            std::string::npos);
}

TEST_F(MinerProvenance, MergeRefusesMixedSources) {
  const auto a = write_scores(dir, "a.st", model_a.path(), "0/2");
  const auto other_model = write_scores(dir, "b.st", model_b.path(), "1/2");
  auto msg = testing::error_message([&] { merge_score_files({a, other_model}); });
  EXPECT_NE(msg.find("was scored with model_hash"), std::string::npos) << msg;
  const auto other_set = write_scores(dir, "c.st", model_a.path(), "1/2", 1.0, 2, "gqa");
  msg = testing::error_message([&] { merge_score_files({a, other_set}); });
  EXPECT_NE(msg.find("holds scores of dataset 'gqa'"), std::string::npos) << msg;
  const auto other_samples =
      write_scores(dir, "d.st", model_a.path(), "1/2", 1.0, 2, "vqa", {{"samples", "9"}});
  msg = testing::error_message([&] { merge_score_files({a, other_samples}); });
  EXPECT_NE(msg.find("samples 9"), std::string::npos) << msg;
  msg = testing::error_message([&] { merge_score_files({a, a}); });
  EXPECT_NE(msg.find("has the same content"), std::string::npos) << msg;
  const auto again = write_scores(dir, "e.st", model_a.path(), "0/2", 2.0);
  msg = testing::error_message([&] { merge_score_files({a, again}); });
  EXPECT_NE(msg.find("shard 0/2 appears twice"), std::string::npos) << msg;
  const auto thirds = write_scores(dir, "f.st", model_a.path(), "1/3");
  msg = testing::error_message([&] { merge_score_files({a, thirds}); });
  EXPECT_NE(msg.find("holds shards of 3"), std::string::npos) << msg;
  const auto bad = write_scores(dir, "g.st", model_a.path(), "5/2");
  EXPECT_THROW(merge_score_files({a, bad}), FormatError);
}

TEST_F(MinerProvenance, ImplausibleSumsAndCountsAreRefusedOnLoad) {
  const auto nan = write_scores(dir, "nan.st", model_a.path(), "0/1", std::nan(""));
  EXPECT_THROW(load_score_file(nan), NumericError);
  const auto negative = write_scores(dir, "neg.st", model_a.path(), "0/1", 1.0, -1);
  EXPECT_THROW(load_score_file(negative), FormatError);
}

TEST_F(MinerProvenance, SelectionTakesOneModelAndEachDatasetOnce) {
  const auto vqa = write_scores(dir, "vqa.st", model_a.path(), "0/1", 1.0, 2, "vqa");
  const auto gqa = write_scores(dir, "gqa.st", model_a.path(), "0/1", 1.0, 2, "gqa");
  EXPECT_NO_THROW(check_selectable({load_score_file(vqa), load_score_file(gqa)}));
  const auto other = write_scores(dir, "other.st", model_b.path(), "0/1", 1.0, 2, "gqa");
  auto msg = testing::error_message([&] {
    check_selectable({load_score_file(vqa), load_score_file(other)});
  });
  EXPECT_NE(msg.find("a selection comes from one model's scores"), std::string::npos) << msg;
  const auto twice = write_scores(dir, "twice.st", model_a.path(), "0/1", 2.0, 2, "vqa");
  msg = testing::error_message([&] {
    check_selectable({load_score_file(vqa), load_score_file(twice)});
  });
  EXPECT_NE(msg.find("both hold dataset 'vqa'"), std::string::npos) << msg;
  const auto faithful =
      write_scores(dir, "f.st", model_a.path(), "0/1", 1.0, 2, "gqa", {{"faithful", "true"}});
  EXPECT_THROW(check_selectable({load_score_file(vqa), load_score_file(faithful)}), ConfigError);
}

TEST(MinerSelectWeights, NanNegativeAndAllZeroWeightsAreRefused) {
  const auto scores = torch::rand({kNumMetrics, kNumModalities, 2, 4}, torch::kFloat64);
  const auto present = torch::ones({kNumModalities}, torch::kBool);
  SelectOptions o;
  o.ratio = 0.25;
  EXPECT_NO_THROW(select_neurons(scores, present, o));
  o.weights = {0, 0, 0, 0, 0};
  EXPECT_THROW(select_neurons(scores, present, o), ConfigError);
  o.weights = {0, -1, 0, 1, 0};
  EXPECT_THROW(select_neurons(scores, present, o), ConfigError);
  o.weights = {0, std::nan(""), 0, 1, 0};
  EXPECT_THROW(select_neurons(scores, present, o), ConfigError);
}

}  // namespace
}  // namespace clearsight::miner
