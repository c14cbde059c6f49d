// The metrics of the synthetic suite: substring match (TextVQA, MSVD-QA, VocalSound), word error
// rate (LibriSpeech), BLEU-4 (COCO Caption) and first-letter choice accuracy (MMLU).
#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "clearsight/core/error.h"
#include "clearsight/mm/tasks.h"

namespace clearsight::mm {
namespace {

std::vector<std::string> tokens(const std::string& text) {
  std::vector<std::string> out;
  const std::string normal = normalize_answer(text);
  std::size_t start = 0;
  while (start < normal.size()) {
    std::size_t end = normal.find(' ', start);
    if (end == std::string::npos) end = normal.size();
    out.push_back(normal.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

// Word-level Levenshtein distance (substitutions, insertions and deletions all cost 1).
std::size_t word_edit_distance(const std::vector<std::string>& a,
                               const std::vector<std::string>& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

using NgramCounts = std::map<std::string, int>;

NgramCounts count_ngrams(const std::vector<std::string>& words, std::size_t n) {
  NgramCounts counts;
  for (std::size_t i = 0; i + n <= words.size(); ++i) {
    std::string key = words[i];
    for (std::size_t k = 1; k < n; ++k) key += '\x1f' + words[i + k];
    ++counts[key];
  }
  return counts;
}

// Clipped n-gram matches and candidate n-gram totals of one sentence, plus the lengths the
// brevity penalty needs.
struct BleuStats {
  double matches[4] = {0, 0, 0, 0};
  double totals[4] = {0, 0, 0, 0};
  double hypothesis_length = 0;
  double reference_length = 0;
};

BleuStats bleu_stats(const std::string& prediction, const std::vector<std::string>& references) {
  CS_CHECK(!references.empty(), "BLEU needs at least one reference");
  BleuStats stats;
  const auto hypothesis = tokens(prediction);
  std::vector<std::vector<std::string>> refs;
  for (const auto& r : references) refs.push_back(tokens(r));
  for (std::size_t n = 1; n <= 4; ++n) {
    const NgramCounts hyp = count_ngrams(hypothesis, n);
    NgramCounts max_ref;
    for (const auto& ref : refs) {
      for (const auto& [gram, count] : count_ngrams(ref, n)) {
        max_ref[gram] = std::max(max_ref[gram], count);
      }
    }
    for (const auto& [gram, count] : hyp) {
      auto it = max_ref.find(gram);
      stats.matches[n - 1] += it == max_ref.end() ? 0 : std::min(count, it->second);
      stats.totals[n - 1] += count;
    }
  }
  stats.hypothesis_length = static_cast<double>(hypothesis.size());
  // Closest reference length; ties go to the shorter reference.
  std::size_t best = refs[0].size();
  for (const auto& ref : refs) {
    const auto distance = [&](std::size_t len) {
      return len > hypothesis.size() ? len - hypothesis.size() : hypothesis.size() - len;
    };
    if (distance(ref.size()) < distance(best) ||
        (distance(ref.size()) == distance(best) && ref.size() < best)) {
      best = ref.size();
    }
  }
  stats.reference_length = static_cast<double>(best);
  return stats;
}

// BLEU-4 from (summed) statistics. Smoothing (Lin & Och 2004, NLTK's method 2 for n > 1): the
// unigram precision is left as is (no unigram match gives 0), and every higher order precision
// is (matches + 1) / (candidate n-grams + 1), so a short sentence without 4-grams is not zeroed
// and an exact match scores 1. Brevity penalty exp(1 - r / c) when the candidate is shorter.
double bleu_from_stats(const BleuStats& stats) {
  if (stats.hypothesis_length <= 0 || stats.matches[0] <= 0) return 0.0;
  double log_sum = std::log(stats.matches[0] / stats.totals[0]);
  for (int n = 1; n < 4; ++n) log_sum += std::log((stats.matches[n] + 1) / (stats.totals[n] + 1));
  const double brevity = stats.hypothesis_length >= stats.reference_length
                             ? 1.0
                             : std::exp(1.0 - stats.reference_length / stats.hypothesis_length);
  return brevity * std::exp(log_sum / 4.0);
}

}  // namespace

std::string normalize_answer(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  bool pending_space = false;
  for (const char raw : text) {
    const auto c = static_cast<unsigned char>(raw);
    if (c == '\'') continue;  // "don't" -> "dont"
    const bool keep = std::isalnum(c) || c >= 0x80;
    if (!keep) {
      pending_space = true;  // spaces and other punctuation separate words
      continue;
    }
    if (pending_space && !out.empty()) out += ' ';
    pending_space = false;
    out += static_cast<char>(std::tolower(c));
  }
  return out;
}

double substring_match(const std::string& prediction, const std::string& answer) {
  // Whole-word containment, so "red" does not match inside "tired".
  const std::string p = normalize_answer(prediction);
  const std::string a = normalize_answer(answer);
  if (a.empty()) return p.empty() ? 1.0 : 0.0;
  return (" " + p + " ").find(" " + a + " ") != std::string::npos ? 1.0 : 0.0;
}

double word_error_rate(const std::string& prediction, const std::string& reference) {
  const auto hyp = tokens(prediction);
  const auto ref = tokens(reference);
  if (ref.empty()) return hyp.empty() ? 0.0 : 1.0;
  return static_cast<double>(word_edit_distance(hyp, ref)) / static_cast<double>(ref.size());
}

double sentence_bleu4(const std::string& prediction, const std::vector<std::string>& references) {
  return bleu_from_stats(bleu_stats(prediction, references));
}

double corpus_bleu4(const std::vector<std::string>& predictions,
                    const std::vector<std::vector<std::string>>& references) {
  CS_CHECK(predictions.size() == references.size(), "corpus_bleu4: ", predictions.size(),
           " predictions for ", references.size(), " reference sets");
  BleuStats total;
  for (std::size_t i = 0; i < predictions.size(); ++i) {
    const BleuStats s = bleu_stats(predictions[i], references[i]);
    for (int n = 0; n < 4; ++n) {
      total.matches[n] += s.matches[n];
      total.totals[n] += s.totals[n];
    }
    total.hypothesis_length += s.hypothesis_length;
    total.reference_length += s.reference_length;
  }
  return bleu_from_stats(total);
}

double exact_match(const std::string& prediction, const Sample& sample) {
  const std::string p = normalize_answer(prediction);
  if (p == normalize_answer(sample.answer)) return 1.0;
  for (const auto& r : sample.references) {
    if (p == normalize_answer(r)) return 1.0;
  }
  return 0.0;
}

double choice_match(const std::string& prediction, const std::string& answer_letter) {
  const std::string p = normalize_answer(prediction);
  const std::string a = normalize_answer(answer_letter);
  return !p.empty() && !a.empty() && p[0] == a[0] ? 1.0 : 0.0;
}

}  // namespace clearsight::mm
