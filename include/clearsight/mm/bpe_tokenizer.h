// Hugging Face byte-level BPE tokenizers read from tokenizer.json (Qwen2, Qwen2-VL, Qwen2-Audio,
// GPT-2 style): added-token splitting, NFC normalisation, the pre-tokenizer split pattern, the
// byte-to-unicode map and rank-ordered merges, as the `tokenizers` library defines them.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace clearsight::mm {

/// One entry of tokenizer.json's added_tokens.
struct AddedToken {
  std::string content;
  std::int64_t id = 0;
  bool special = false;
  bool lstrip = false;
  bool rstrip = false;
  bool single_word = false;
  bool normalized = false;
};

/// Options of one encoding.
struct EncodeOptions {
  /// Recognise added tokens (e.g. "<|im_start|>") written in the text, as transformers does by
  /// default; false encodes them as plain text.
  bool split_added_tokens = true;
};

/// A byte-level BPE tokenizer. Immutable after loading; encode and decode are thread-safe.
class BpeTokenizer {
 public:
  /// Loads tokenizer.json; throws IoError (unreadable), FormatError (not a tokenizer.json, or a
  /// model / normalizer / pre-tokenizer this reader does not implement, named in the message).
  static BpeTokenizer load(const std::filesystem::path& path);
  /// Parses tokenizer.json text (source names it in errors).
  static BpeTokenizer parse(const std::string& json_text, const std::string& source);
  BpeTokenizer(BpeTokenizer&&) noexcept;
  BpeTokenizer& operator=(BpeTokenizer&&) noexcept;
  ~BpeTokenizer();

  /// Token ids of UTF-8 text; throws FormatError on invalid UTF-8.
  std::vector<std::int64_t> encode(std::string_view text, const EncodeOptions& options = {}) const;
  /// The text of ids (invalid UTF-8 from partial tokens becomes U+FFFD); special added tokens
  /// are dropped when skip_special. Throws UnknownNameError on an id outside the vocabulary.
  std::string decode(const std::vector<std::int64_t>& ids, bool skip_special = false) const;
  /// The pre-tokens of text after normalisation (for inspection and tests).
  std::vector<std::string> pre_tokenize(std::string_view text) const;

  /// Id of a token (vocabulary or added), if present.
  std::optional<std::int64_t> find(std::string_view token) const;
  /// Id of a token; throws UnknownNameError naming it.
  std::int64_t id(std::string_view token) const;
  /// Token string of an id (byte-level form for vocabulary entries); throws UnknownNameError.
  const std::string& token(std::int64_t id) const;
  /// Whether id is assigned (vocabulary or added token).
  bool has_id(std::int64_t id) const;
  /// Number of ids (largest id + 1).
  std::int64_t size() const;
  /// The added tokens in id order.
  const std::vector<AddedToken>& added_tokens() const;
  /// Whether id is a special added token.
  bool is_special(std::int64_t id) const;
  /// The file it was read from.
  const std::string& source() const;

 private:
  struct Impl;
  explicit BpeTokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// GPT-2's reversible map of the 256 byte values to printable code points, as UTF-8 strings.
const std::vector<std::string>& byte_level_alphabet();

}  // namespace clearsight::mm
