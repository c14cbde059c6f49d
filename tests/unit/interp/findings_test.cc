#include "clearsight/interp/findings.h"

#include <gtest/gtest.h>

#include <cmath>

#include "clearsight/core/error.h"
#include "clearsight/mm/trainer.h"
#include "test_util.h"

namespace clearsight::interp {
namespace {

TEST(InterpFindings, SemanticProbingReadsTheFinalLayerAsTheModel) {
  auto m = mm::load_model_with_tokenizer("cs-tiny-audio");
  const ModelRef ref{*m.model, m.tokenizer, "cs-tiny-audio"};
  const auto sp = semantic_probing(ref, 6, 5);
  ASSERT_EQ(sp.points.size(), 5u);
  EXPECT_EQ(sp.samples, 6);
  for (std::size_t p = 0; p < sp.points.size(); ++p) {
    EXPECT_GE(sp.spoken_probability[p], 0.0);
    EXPECT_LE(sp.spoken_probability[p], 1.0);
    EXPECT_GE(sp.spoken_hit_rate[p], 0.0);
    EXPECT_LE(sp.spoken_hit_rate[p], 1.0);
    EXPECT_TRUE(std::isfinite(sp.audio_text_cosine[p]));
    EXPECT_LE(std::abs(sp.audio_text_cosine[p]), 1.0 + 1e-9);
  }
  auto vl = mm::load_model_with_tokenizer("cs-tiny-vl");
  EXPECT_THROW(semantic_probing({*vl.model, vl.tokenizer, "cs-tiny-vl"}, 2, 5), ConfigError);
}

TEST(InterpFindings, TelomeresMeasureEveryBoundaryToken) {
  auto m = mm::load_model_with_tokenizer("cs-tiny-vl");
  const auto t = telomeres({*m.model, m.tokenizer, "cs-tiny-vl"}, 3);
  ASSERT_EQ(t.tokens.size(), 4u);
  EXPECT_EQ(t.samples, 6);
  for (std::size_t k = 0; k < t.tokens.size(); ++k) {
    for (double c : t.text_cosine[k]) EXPECT_TRUE(std::isfinite(c)) << t.tokens[k];
    // Only the vision boundaries enclose a span.
    EXPECT_EQ(std::isfinite(t.span_cosine[k].back()), k < 2) << t.tokens[k];
    for (double a : t.attention_from_last[k]) EXPECT_GE(a, 0.0);
  }
}

TEST(InterpFindings, StudyWritesEverySection) {
  testing::TempDir dir;
  auto m = mm::load_model_with_tokenizer("cs-tiny-audio");
  FindingsOptions o;
  o.samples = 6;
  o.miner_samples = 4;
  o.knockout_samples = 3;
  o.random_seeds = 1;
  o.progress = false;
  const auto js = run_findings({*m.model, m.tokenizer, "cs-tiny-audio"}, o, dir.path());
  for (const auto* key : {"convergence", "semantic_probing", "telomeres", "flow", "summary"}) {
    EXPECT_TRUE(js.contains(key)) << key;
  }
  // The original condition first, then MINER and random controls per modality.
  const auto& conditions = js["flow"]["conditions"];
  ASSERT_GE(conditions.size(), 3u);
  EXPECT_EQ(conditions[0]["name"], "original");
  EXPECT_EQ(conditions[0]["delta"]["audio-last"].size(), 4u);
  for (const auto& c : conditions) {
    if (c["kind"] == "random") {
      // A random control deactivates as many neurons as the MINER condition it matches.
      for (const auto& d : conditions) {
        if (d["kind"] == "miner" && d["modality"] == c["modality"]) {
          EXPECT_EQ(c["neurons"], d["neurons"]);
        }
      }
    }
  }
  EXPECT_TRUE(std::filesystem::exists(dir / "report.html"));
  EXPECT_TRUE(std::filesystem::exists(dir / "result.json"));
}

}  // namespace
}  // namespace clearsight::interp
