// A word-level tokenizer with Qwen2-style special tokens, the chat template, and the modality of
// every prompt position (text, special, image, video, audio).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <unordered_map>
#include <vector>

namespace clearsight::mm {

/// The modality of one token position.
enum class Modality : std::uint8_t { kText, kSpecial, kImage, kVideo, kAudio };

/// "text", "special", "image", "video", "audio".
const char* modality_name(Modality modality);

/// Special tokens, in vocabulary order (ids 0..10).
inline constexpr const char* kSpecialTokens[] = {
    "<|endoftext|>",    "<|unk|>",        "<|im_start|>",  "<|im_end|>",
    "<|vision_start|>", "<|vision_end|>", "<|image_pad|>", "<|video_pad|>",
    "<|audio_bos|>",    "<|AUDIO|>",      "<|audio_eos|>"};

/// Word-level tokenizer over a fixed vocabulary (one token per line in vocab.txt).
class Tokenizer {
 public:
  /// Builds a vocabulary: the special tokens, then the chat words, then words (deduplicated,
  /// in order).
  static Tokenizer from_words(const std::vector<std::string>& words);
  /// Loads vocab.txt; throws IoError, or FormatError when special tokens are missing/misplaced.
  static Tokenizer load(const std::filesystem::path& path);
  /// Writes vocab.txt atomically.
  void save(const std::filesystem::path& path) const;

  /// Splits lower-cased text on whitespace (special tokens may appear as words) and maps words to
  /// ids; unknown words map to <|unk|>.
  std::vector<std::int64_t> encode(const std::string& text) const;
  /// Joins the words of ids with spaces, skipping special tokens unless keep_special.
  std::string decode(const std::vector<std::int64_t>& ids, bool keep_special = false) const;
  /// Id of a token; throws UnknownNameError.
  std::int64_t id(const std::string& token) const;
  /// Whether the word is in the vocabulary.
  bool contains(const std::string& token) const { return ids_.count(token) > 0; }
  /// The token text of an id.
  const std::string& token(std::int64_t id) const;
  /// Vocabulary size.
  std::int64_t size() const { return static_cast<std::int64_t>(tokens_.size()); }
  /// Modality of a token id (MINER's stage-1 separation by token id).
  Modality modality(std::int64_t id) const;

  /// Special token ids.
  std::int64_t pad_id() const { return 0; }
  std::int64_t unk_id() const { return 1; }
  std::int64_t im_start_id() const { return 2; }
  std::int64_t im_end_id() const { return 3; }
  std::int64_t vision_start_id() const { return 4; }
  std::int64_t vision_end_id() const { return 5; }
  std::int64_t image_pad_id() const { return 6; }
  std::int64_t video_pad_id() const { return 7; }
  std::int64_t audio_bos_id() const { return 8; }
  std::int64_t audio_id() const { return 9; }
  std::int64_t audio_eos_id() const { return 10; }

 private:
  std::vector<std::string> tokens_;
  std::unordered_map<std::string, std::int64_t> ids_;
};

/// What a prompt contains besides text.
struct PromptMedia {
  bool image = false;
  bool video = false;
  bool audio = false;
};

/// Token counts per media item (from the model config).
struct MediaTokens {
  std::int64_t image = 16;
  std::int64_t video = 32;
  std::int64_t audio = 50;
};

/// The chat template: "<|im_start|> system you are a helpful assistant <|im_end|> <|im_start|> user
/// [<|vision_start|> <|image_pad|> x N <|vision_end|>] [... video ...] [<|audio_bos|> <|AUDIO|> x N
/// <|audio_eos|>] prompt <|im_end|> <|im_start|> assistant". Returns the prompt ids (ending with
/// "assistant"); generation continues from there.
std::vector<std::int64_t> build_prompt(const Tokenizer& tokenizer, const std::string& prompt,
                                       const PromptMedia& media, const MediaTokens& counts);

/// Words the chat template itself uses ("system", "user", ...).
const std::vector<std::string>& chat_words();

}  // namespace clearsight::mm
