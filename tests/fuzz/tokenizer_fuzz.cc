// libFuzzer target: the tokenizer files. BpeTokenizer::parse (a Hugging Face tokenizer.json) and
// Tokenizer::load (the word-level vocab.txt) must either load or throw a clearsight::Error; a
// loaded tokenizer must encode any text to ids it has, decode ids (UnknownNameError for unknown
// ones), and, for a byte-level BPE without normaliser or added tokens, decode(encode(text)) must
// give the text back. Any other exception, a broken round trip or a sanitizer report is a bug.
//
// Input: the file's bytes, optionally followed by a NUL byte and the text to encode; without one,
// the first bytes of the file serve as text.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "clearsight/core/error.h"
#include "clearsight/mm/bpe_tokenizer.h"
#include "clearsight/mm/tokenizer.h"
#include "fuzz_input.h"

namespace {

namespace mm = clearsight::mm;

std::string joined(const std::vector<std::string>& pieces) {
  std::string out;
  for (const auto& p : pieces) out += p;
  return out;
}

// Whether the tokenizer NFC-normalises: the pre-tokens of a decomposed "e" + U+0301 then spell the
// composed U+00E9. Without normalisation the pre-tokens spell the text again.
bool normalises(const mm::BpeTokenizer& tokenizer) {
  return joined(tokenizer.pre_tokenize("e\xCC\x81")) != "e\xCC\x81";
}

void exercise_bpe(const std::string& json_text, std::string_view text) {
  const auto tokenizer = mm::BpeTokenizer::parse(json_text, "fuzz/tokenizer.json");
  std::vector<std::int64_t> ids;
  clearsight::fuzz::expect_clearsight_errors([&] {
    for (const bool split : {true, false}) {
      ids = tokenizer.encode(text, {.split_added_tokens = split});
      for (const auto id : ids) {
        if (!tokenizer.has_id(id)) std::abort();  // Encoding yields only assigned ids.
      }
      const std::string back = tokenizer.decode(ids);
      (void)tokenizer.decode(ids, /*skip_special=*/true);
      const bool lossless = tokenizer.added_tokens().empty() && !normalises(tokenizer);
      if (lossless && back != text) {
        std::fprintf(stderr, "round trip: %zu bytes in, %zu bytes out\n", text.size(), back.size());
        std::abort();
      }
    }
  });
  // Ids from the text's bytes, some of them outside the vocabulary.
  std::vector<std::int64_t> arbitrary;
  for (const char c : text.substr(0, 16)) {
    arbitrary.push_back(static_cast<unsigned char>(c) * (tokenizer.size() + 2) / 256 - 1);
  }
  clearsight::fuzz::expect_clearsight_errors([&] { (void)tokenizer.decode(arbitrary); });
  clearsight::fuzz::expect_clearsight_errors([&] {
    // The pre-tokens partition the (normalised) text.
    const auto pieces = tokenizer.pre_tokenize(text);
    if (!normalises(tokenizer) && joined(pieces) != text) std::abort();
  });
  for (const auto id : arbitrary) {
    clearsight::fuzz::expect_clearsight_errors([&] {
      // A token string names an assigned id (an added token may shadow a vocabulary entry).
      const auto found = tokenizer.find(tokenizer.token(id));
      if (!found || !tokenizer.has_id(*found)) std::abort();
    });
  }
}

void exercise_vocab(const std::string& path, std::string_view text) {
  const auto tokenizer = mm::Tokenizer::load(path);
  const auto ids = tokenizer.encode(std::string(text));
  for (const auto id : ids) {
    if (id < 0 || id >= tokenizer.size()) std::abort();
  }
  (void)tokenizer.decode(ids, /*keep_special=*/true);
  const auto prompt = mm::build_prompt(tokenizer, std::string(text), {true, true, true}, {2, 2, 2});
  for (const auto id : prompt) (void)tokenizer.modality(id);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static clearsight::fuzz::InputFile file("tokenizer_fuzz");
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto nul = input.find('\0');
  const std::string_view body = input.substr(0, nul);
  const std::string_view text =
      nul == std::string_view::npos ? input.substr(0, 48) : input.substr(nul + 1);
  const std::string json_text(body);
  clearsight::fuzz::expect_clearsight_errors([&] { exercise_bpe(json_text, text); });
  const auto& path = file.write(reinterpret_cast<const std::uint8_t*>(body.data()), body.size());
  clearsight::fuzz::expect_clearsight_errors([&] { exercise_vocab(path, text); });
  return 0;
}
