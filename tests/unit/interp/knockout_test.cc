#include "clearsight/interp/knockout.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "clearsight/core/error.h"
#include "clearsight/mm/trainer.h"
#include "test_util.h"

namespace clearsight::interp {
namespace {

mm::LoadedModel& vl() {
  static mm::LoadedModel loaded = mm::load_model_with_tokenizer("cs-tiny-vl");
  return loaded;
}

ModelRef vl_ref() { return {*vl().model, vl().tokenizer, "cs-tiny-vl"}; }

const Target kFirst{.kind = "first", .token = {}};

std::vector<mm::Sample> vqa_samples(std::int64_t first, std::int64_t count) {
  return load_samples(*mm::make_task("scene_vqa"), mm::Split::kTest, first, count);
}

Examples prepare(const std::vector<mm::Sample>& samples) {
  return prepare_examples(samples, vl().tokenizer, *vl().model, kFirst);
}

std::vector<std::int64_t> all_layers() {
  std::vector<std::int64_t> layers;
  for (std::int64_t l = 0; l < vl().model->config().num_hidden_layers; ++l) layers.push_back(l);
  return layers;
}

TEST(InterpKnockout, ParsesEdgeSets) {
  const auto edges = parse_edge_set(" image-last, question->last ");
  ASSERT_EQ(edges.size(), 2u);
  EXPECT_EQ(edges[0].source, "image");
  EXPECT_EQ(edges[0].target, "last");
  EXPECT_EQ(edges[1].source, "question");
  EXPECT_EQ(edges[1].target, "last");
  EXPECT_EQ(edge_set_name(edges), "image-last,question-last");
  EXPECT_TRUE(parse_edge_set("").empty());
  EXPECT_TRUE(parse_edge_set("none").empty());
  EXPECT_EQ(edge_set_name({}), "none");
  EXPECT_EQ(parse_edge_set("image-all").at(0).target, "all");
}

TEST(InterpKnockout, BadSpecsThrow) {
  EXPECT_THROW(parse_edge_set("image"), ConfigError);
  EXPECT_THROW(parse_edge_set("image-"), ConfigError);
  EXPECT_THROW(parse_edge_set("-last"), ConfigError);
  EXPECT_THROW(parse_edge_set("image-question-last"), ConfigError);
  EXPECT_THROW(parse_edge_set("image-last,,question-last"), ConfigError);
  EXPECT_THROW(parse_edge_set("imag-last"), UnknownNameError);
  EXPECT_THROW(parse_edge_set("image-lst"), UnknownNameError);
  try {
    parse_edge_set("imagee-last");
    FAIL() << "expected UnknownNameError";
  } catch (const UnknownNameError& e) {
    EXPECT_NE(std::string(e.what()).find("imagee"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("image"), std::string::npos) << e.what();
  }
  EXPECT_THROW(knockout_windows(4, 0), ConfigError);
  EXPECT_THROW(knockout_windows(4, 5), ConfigError);
  const auto examples = prepare(vqa_samples(0, 1));
  EXPECT_THROW(knockout_scores(*vl().model, examples, {parse_edge_set("image-last"), {4}}),
               ConfigError);
  KnockoutOptions options;
  options.edge_sets = {"image-lats"};
  testing::TempDir dir;
  EXPECT_THROW(run_knockout(vl_ref(), {}, options, dir.path()), UnknownNameError);
}

TEST(InterpKnockout, WindowsSlideOverDepth) {
  const auto w = knockout_windows(4, 2);
  ASSERT_EQ(w.size(), 3u);
  EXPECT_EQ(w[0], (std::vector<std::int64_t>{0, 1}));
  EXPECT_EQ(w[2], (std::vector<std::int64_t>{2, 3}));
  EXPECT_EQ(knockout_windows(4, 4).size(), 1u);
  EXPECT_EQ(default_edge_sets({"image"}),
            (std::vector<std::string>{"image-last", "image-question", "question-last"}));
}

TEST(InterpKnockout, ZeroAndRenormaliseEqualsMinusInfinityLogits) {
  torch::manual_seed(3);
  const auto scores = torch::randn({2, 3, 5, 5});
  const auto causal = torch::ones({5, 5}, torch::kBool).triu(1);
  const auto pattern = torch::softmax(scores.masked_fill(causal, -INFINITY), -1);
  auto blocked = torch::zeros({2, 5, 5}, torch::kBool);
  blocked[0][4][1] = true;
  blocked[0][4][2] = true;
  blocked[1][3][0] = true;
  blocked[1][2][3] = true;  // causally hidden: no effect
  blocked[1][1][0] = true;  // with [1][1][1] below: every visible key of row 1 blocked
  blocked[1][1][1] = true;
  const auto knocked = knock_out_pattern(pattern, blocked);
  const auto reference = torch::softmax(
      scores.masked_fill(causal.unsqueeze(0).logical_or(blocked).unsqueeze(1), -INFINITY), -1);
  // Rows with a valid softmax agree with the -inf reference.
  for (const auto& [b, q] : std::vector<std::pair<int, int>>{{0, 4}, {1, 3}, {1, 2}}) {
    EXPECT_TRUE(torch::allclose(knocked[b].select(1, q), reference[b].select(1, q), 1e-6, 1e-7))
        << b << " " << q;
  }
  // A fully blocked row keeps its values; untouched rows are bit-identical.
  EXPECT_TRUE(torch::equal(knocked[1].select(1, 1), pattern[1].select(1, 1)));
  EXPECT_TRUE(torch::equal(knocked[0].narrow(1, 0, 4), pattern[0].narrow(1, 0, 4)));
  EXPECT_TRUE(torch::equal(knocked[1].select(1, 2), pattern[1].select(1, 2)));
  EXPECT_LT((knocked.sum(-1) - 1).abs().max().item<float>(), 1e-6);
}

TEST(InterpKnockout, EmptyEdgeSetIsTheIdentity) {
  const auto examples = prepare(vqa_samples(0, 2));
  const auto clean = forward_logits(*vl().model, examples);
  EXPECT_TRUE(torch::equal(knockout_logits(*vl().model, examples, {{}, all_layers()}), clean));
  EXPECT_TRUE(
      torch::equal(knockout_logits(*vl().model, examples, {parse_edge_set("none"), {0}}), clean));
  // Edges between groups without positions change nothing either.
  EXPECT_TRUE(torch::equal(
      knockout_logits(*vl().model, examples, {parse_edge_set("video-last"), all_layers()}), clean));
  // A real edge does change the answer's logits.
  const auto knocked =
      knockout_logits(*vl().model, examples, {parse_edge_set("image-last"), all_layers()});
  EXPECT_FALSE(torch::equal(knocked, clean));
  // And the hooks are gone afterwards.
  EXPECT_TRUE(torch::equal(forward_logits(*vl().model, examples), clean));
}

TEST(InterpKnockout, MaskBlocksExactlyTheEdges) {
  const auto examples = prepare(vqa_samples(0, 1));
  const auto mask = knockout_mask(examples, parse_edge_set("image-last"));
  const auto last = examples.last(0);
  const auto& image = examples.positions(0, "image");
  EXPECT_EQ(mask.sum().item<std::int64_t>(), static_cast<std::int64_t>(image.size()));
  for (const auto k : image) EXPECT_TRUE(mask[0][last][k].item<bool>());
  const auto all = knockout_mask(examples, parse_edge_set("image-all"));
  const auto real = static_cast<std::int64_t>(examples.tokens[0].size());
  EXPECT_EQ(all.sum().item<std::int64_t>(), real * static_cast<std::int64_t>(image.size()));
}

TEST(InterpKnockout, BlockingTheImageMovesTowardsTheBlankImageAnswer) {
  // The blank image is black, the image baseline of examples.h (BaselineOptions::image). With a
  // grey image the property does not hold for this model: cutting the image out is closer to
  // what it answers for a black image than for a grey one.
  const auto samples = vqa_samples(0, 8);
  auto blank_samples = samples;
  for (auto& s : blank_samples) s.image = torch::zeros_like(s.image);
  const auto examples = prepare(samples);
  const auto blank = prepare(blank_samples);
  auto& model = *vl().model;
  const KnockoutSpec image_all{parse_edge_set("image-all"), all_layers()};
  const auto clean_logits = knockout_logits(model, examples, {});
  const auto blank_logits = knockout_logits(model, blank, {});
  const auto knock_logits = knockout_logits(model, examples, image_all);
  const auto p_clean = target_score(clean_logits, examples).exp();
  const auto p_blank = target_score(blank_logits, blank).exp();
  const auto p_knock = target_score(knock_logits, examples).exp();
  const double before = (p_clean - p_blank).abs().mean().item<double>();
  const double after = (p_knock - p_blank).abs().mean().item<double>();
  EXPECT_LT(after, before) << "clean " << p_clean << " blank " << p_blank << " knock " << p_knock;
  // The whole next-token distribution at the last position moves the same way (total variation).
  double tv_before = 0, tv_after = 0;
  for (std::int64_t i = 0; i < examples.size(); ++i) {
    const auto last = examples.last(i);
    const auto q_blank = torch::softmax(blank_logits[i][last].to(torch::kFloat64), -1);
    tv_before += 0.5 * (torch::softmax(clean_logits[i][last].to(torch::kFloat64), -1) - q_blank)
                           .abs()
                           .sum()
                           .item<double>();
    tv_after += 0.5 * (torch::softmax(knock_logits[i][last].to(torch::kFloat64), -1) - q_blank)
                          .abs()
                          .sum()
                          .item<double>();
  }
  EXPECT_LT(tv_after, tv_before);
  // With every path from the image cut, the image content no longer matters at all.
  const auto p_knock_blank = knockout_scores(model, blank, image_all).exp();
  EXPECT_LT((p_knock - p_knock_blank).abs().max().item<double>(), 1e-6);
}

TEST(InterpKnockout, BatchPaddingDoesNotChangeScores) {
  auto samples = vqa_samples(0, 2);
  samples.push_back(load_samples(*mm::make_task("text_choice"), mm::Split::kTest, 0, 1)[0]);
  const auto batch = prepare(samples);
  ASSERT_FALSE(batch.batch.inputs.attention_mask.all().item<bool>());
  for (const auto* spec : {"image-last", "question-last,image-question", "image-all"}) {
    SCOPED_TRACE(spec);
    const KnockoutSpec ko{parse_edge_set(spec), {1, 2}};
    const auto together = knockout_scores(*vl().model, batch, ko);
    for (std::size_t i = 0; i < samples.size(); ++i) {
      const auto alone = knockout_scores(*vl().model, prepare({samples[i]}), ko);
      EXPECT_NEAR(alone[0].item<double>(), together[i].item<double>(), 1e-5) << i;
    }
  }
}

TEST(InterpKnockout, AudioEdgesOnTheAudioModel) {
  auto loaded = mm::load_model_with_tokenizer("cs-tiny-audio");
  const auto samples = load_samples(*mm::make_task("sound_event"), mm::Split::kTest, 0, 2);
  const auto examples = prepare_examples(samples, loaded.tokenizer, *loaded.model, kFirst);
  const auto clean = knockout_scores(*loaded.model, examples, {});
  const auto knocked = knockout_scores(*loaded.model, examples,
                                       {parse_edge_set("audio-last,audio-question"), {0, 1, 2, 3}});
  EXPECT_GT((clean - knocked).abs().max().item<double>(), 0.0);
  EXPECT_EQ(default_edge_sets(mm::make_task("sound_event")->modalities()),
            (std::vector<std::string>{"audio-last", "audio-question", "question-last"}));
}

TEST(InterpKnockout, StudyReportsEveryWindow) {
  testing::TempDir dir;
  SampleSelection selection;
  selection.count = 3;
  selection.batch_size = 2;
  KnockoutOptions options;
  options.edge_sets = {"image-last", "question-last"};
  options.window = 2;
  const auto result = run_knockout(vl_ref(), selection, options, dir.path());
  EXPECT_EQ(result["method"], "knockout");
  EXPECT_EQ(result["edge_sets"], nlohmann::json({"image-last", "question-last"}));
  ASSERT_EQ(result["clean_probability"].size(), 3u);
  ASSERT_EQ(result["windows"].size(), 6u);  // 2 edge sets x 3 windows
  const auto& w = result["windows"][1];
  EXPECT_EQ(w["edge_set"], "image-last");
  EXPECT_EQ(w["layers"], nlohmann::json({1, 2}));
  ASSERT_EQ(w["per_sample"].size(), 3u);
  double delta = 0, relative = 0;
  for (std::size_t i = 0; i < 3; ++i) {
    const auto& s = w["per_sample"][i];
    const double clean = result["clean_probability"][i].get<double>();
    EXPECT_NEAR(s["delta"].get<double>(), s["probability"].get<double>() - clean, 1e-12);
    delta += s["delta"].get<double>() / 3;
    relative += s["relative_change_percent"].get<double>() / 3;
  }
  EXPECT_NEAR(w["delta"].get<double>(), delta, 1e-12);
  EXPECT_NEAR(w["relative_change_percent"].get<double>(), relative, 1e-9);
  for (const auto* file : {"result.json", "knockout.safetensors", "report.html", "report.md"}) {
    EXPECT_TRUE(std::filesystem::exists(dir / file)) << file;
  }
  // The per-sample numbers agree with the library function.
  const auto examples = prepare(vqa_samples(0, 3));
  const auto p =
      knockout_scores(*vl().model, examples, {parse_edge_set("image-last"), {1, 2}}).exp();
  for (std::int64_t i = 0; i < 3; ++i) {
    EXPECT_NEAR(w["per_sample"][i]["probability"].get<double>(), p[i].item<double>(), 1e-6);
  }
}

}  // namespace
}  // namespace clearsight::interp
