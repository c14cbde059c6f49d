#include <gtest/gtest.h>

#include <cmath>

#include "clearsight/core/error.h"
#include "clearsight/mm/tasks.h"

namespace clearsight::mm {
namespace {

TEST(MmMetrics, NormalizeAnswer) {
  EXPECT_EQ(normalize_answer("  The RED, circle!! "), "the red circle");
  EXPECT_EQ(normalize_answer("don't"), "dont");
  EXPECT_EQ(normalize_answer("left-right\tup\n"), "left right up");
  EXPECT_EQ(normalize_answer("...?"), "");
}

TEST(MmMetrics, SubstringMatchIsWholeWordAndNormalised) {
  EXPECT_EQ(substring_match("It is Red.", "red"), 1.0);
  EXPECT_EQ(substring_match("the RED circle", "red circle"), 1.0);
  EXPECT_EQ(substring_match("tired", "red"), 0.0);
  EXPECT_EQ(substring_match("circle red", "red circle"), 0.0);
  EXPECT_EQ(substring_match("blue", "red"), 0.0);
  EXPECT_EQ(substring_match("", "red"), 0.0);
  EXPECT_EQ(substring_match("", "!"), 1.0);
}

TEST(MmMetrics, WordErrorRateKnownValues) {
  EXPECT_EQ(word_error_rate("one two three", "one two three"), 0.0);
  EXPECT_EQ(word_error_rate("Hello, World", "hello world"), 0.0);
  EXPECT_DOUBLE_EQ(word_error_rate("a b c", "a b c d"), 0.25);     // one deletion
  EXPECT_DOUBLE_EQ(word_error_rate("a x c d", "a b c d"), 0.25);   // one substitution
  EXPECT_DOUBLE_EQ(word_error_rate("a b x c", "a b c"), 1.0 / 3);  // one insertion
  EXPECT_DOUBLE_EQ(word_error_rate("", "a b"), 1.0);
  EXPECT_DOUBLE_EQ(word_error_rate("a b c d e f", "a b"), 2.0);  // WER is not capped
  EXPECT_DOUBLE_EQ(word_error_rate("b a", "a b"), 1.0);
  EXPECT_EQ(word_error_rate("", ""), 0.0);
}

TEST(MmMetrics, SentenceBleuHandComputed) {
  EXPECT_DOUBLE_EQ(
      sentence_bleu4("a red circle and a blue square", {"a red circle and a blue square"}), 1.0);
  EXPECT_DOUBLE_EQ(sentence_bleu4("A red circle.", {"there is a square", "a red circle"}), 1.0);
  EXPECT_EQ(sentence_bleu4("green triangle", {"a red circle"}), 0.0);
  EXPECT_EQ(sentence_bleu4("", {"a red circle"}), 0.0);
  // 6/7 unigrams, 4/6 bigrams, 3/5 trigrams, 2/4 4-grams match; add-one for n > 1; same length.
  const double expected = std::pow(6.0 / 7 * 5.0 / 7 * 4.0 / 6 * 3.0 / 5, 0.25);
  EXPECT_NEAR(sentence_bleu4("a red circle and a blue square", {"a red circle and a green square"}),
              expected, 1e-12);
  // All precisions 1 but 3 words against 7: brevity penalty exp(1 - 7/3).
  EXPECT_NEAR(sentence_bleu4("a red circle", {"a red circle and a blue square"}),
              std::exp(1.0 - 7.0 / 3.0), 1e-12);
  // The closest reference length sets the penalty (3 words: no penalty).
  EXPECT_DOUBLE_EQ(
      sentence_bleu4("a red circle", {"a red circle and a blue square", "a red circle"}), 1.0);
  // Clipping: repeating a matching word does not help.
  EXPECT_LT(sentence_bleu4("red red red", {"a red circle"}), 0.5);
}

TEST(MmMetrics, CorpusBleuSumsCounts) {
  const std::vector<std::string> predictions{"a red circle and a blue square", "a red circle"};
  const std::vector<std::vector<std::string>> references{{"a red circle and a green square"},
                                                         {"a red circle and a blue square"}};
  const double p = 9.0 / 10 * 7.0 / 9 * 5.0 / 7 * 3.0 / 5;
  EXPECT_NEAR(corpus_bleu4(predictions, references), std::exp(1.0 - 14.0 / 10) * std::pow(p, 0.25),
              1e-12);
  EXPECT_DOUBLE_EQ(corpus_bleu4({"a b c d e", "x y"}, {{"a b c d e"}, {"x y"}}), 1.0);
  EXPECT_THROW(corpus_bleu4({"a"}, {}), Error);
  EXPECT_THROW(sentence_bleu4("a", {}), Error);
}

TEST(MmMetrics, ExactAndChoiceMatch) {
  Sample s;
  s.answer = "a red circle";
  s.references = {"a red circle", "there is a red circle"};
  EXPECT_EQ(exact_match("A red circle.", s), 1.0);
  EXPECT_EQ(exact_match("there is a red circle", s), 1.0);
  EXPECT_EQ(exact_match("a red circle on the left", s), 0.0);
  EXPECT_EQ(choice_match("B) seven", "b"), 1.0);
  EXPECT_EQ(choice_match("b", "b"), 1.0);
  EXPECT_EQ(choice_match("c", "b"), 0.0);
  EXPECT_EQ(choice_match("the answer is b", "b"), 0.0);
  EXPECT_EQ(choice_match("", "a"), 0.0);
}

}  // namespace
}  // namespace clearsight::mm
