#include "clearsight/mm/tokenizer.h"

#include <cctype>
#include <sstream>

#include "clearsight/core/atomic_file.h"
#include "clearsight/core/error.h"
#include "clearsight/core/strings.h"

namespace clearsight::mm {

const char* modality_name(Modality modality) {
  switch (modality) {
    case Modality::kText:
      return "text";
    case Modality::kSpecial:
      return "special";
    case Modality::kImage:
      return "image";
    case Modality::kVideo:
      return "video";
    case Modality::kAudio:
      return "audio";
  }
  return "text";
}

const std::vector<std::string>& chat_words() {
  static const std::vector<std::string> words = {"system",  "you",       "are", "a",
                                                 "helpful", "assistant", "user"};
  return words;
}

Tokenizer Tokenizer::from_words(const std::vector<std::string>& words) {
  Tokenizer t;
  auto add = [&t](const std::string& w) {
    if (w.empty() || t.ids_.count(w)) return;
    CS_CHECK_AS(ConfigError, w.find_first_of(" \t\n") == std::string::npos, "vocabulary word '", w,
                "' contains whitespace");
    t.ids_.emplace(w, static_cast<std::int64_t>(t.tokens_.size()));
    t.tokens_.push_back(w);
  };
  for (const char* s : kSpecialTokens) add(s);
  for (const auto& w : chat_words()) add(w);
  for (const auto& w : words) add(to_lower(w));
  return t;
}

Tokenizer Tokenizer::load(const std::filesystem::path& path) {
  const std::string text = read_file(path);
  std::vector<std::string> lines = split(text, '\n');
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  const std::size_t n_special = std::size(kSpecialTokens);
  CS_CHECK_AS(FormatError, lines.size() >= n_special, "'", path.string(), "' has ", lines.size(),
              " tokens; a vocabulary starts with the ", n_special, " special tokens");
  for (std::size_t i = 0; i < n_special; ++i) {
    CS_CHECK_AS(FormatError, lines[i] == kSpecialTokens[i], "'", path.string(), "' line ", i + 1,
                " is '", lines[i], "', expected '", kSpecialTokens[i], "'");
  }
  Tokenizer t;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    CS_CHECK_AS(FormatError, !lines[i].empty() && !t.ids_.count(lines[i]), "'", path.string(),
                "' line ", i + 1, ": empty or duplicate token '", lines[i], "'");
    t.ids_.emplace(lines[i], static_cast<std::int64_t>(i));
    t.tokens_.push_back(lines[i]);
  }
  return t;
}

void Tokenizer::save(const std::filesystem::path& path) const {
  std::string text;
  for (const auto& t : tokens_) text += t + "\n";
  atomic_write(path, text);
}

std::vector<std::int64_t> Tokenizer::encode(const std::string& text) const {
  std::vector<std::int64_t> out;
  std::istringstream in(text);
  std::string word;
  while (in >> word) {
    auto it = ids_.find(word);  // Special tokens are case-sensitive ("<|AUDIO|>").
    if (it == ids_.end()) it = ids_.find(to_lower(word));
    out.push_back(it == ids_.end() ? unk_id() : it->second);
  }
  return out;
}

std::string Tokenizer::decode(const std::vector<std::int64_t>& ids, bool keep_special) const {
  std::string out;
  for (auto id : ids) {
    if (id < 0 || id >= size()) continue;
    if (!keep_special && modality(id) != Modality::kText) continue;
    if (!out.empty()) out += ' ';
    out += tokens_[id];
  }
  return out;
}

std::int64_t Tokenizer::id(const std::string& token) const {
  auto it = ids_.find(token);
  if (it == ids_.end()) {
    CS_THROW(UnknownNameError, "token '", token, "' is not in the vocabulary");
  }
  return it->second;
}

const std::string& Tokenizer::token(std::int64_t id) const {
  CS_CHECK_AS(UnknownNameError, id >= 0 && id < size(), "token id ", id,
              " is outside the vocabulary of ", size());
  return tokens_[id];
}

Modality Tokenizer::modality(std::int64_t id) const {
  if (id == image_pad_id()) return Modality::kImage;
  if (id == video_pad_id()) return Modality::kVideo;
  if (id == audio_id()) return Modality::kAudio;
  if (id >= 0 && id < static_cast<std::int64_t>(std::size(kSpecialTokens))) {
    return id == unk_id() ? Modality::kText : Modality::kSpecial;
  }
  return Modality::kText;
}

std::vector<std::int64_t> build_prompt(const Tokenizer& tokenizer, const std::string& prompt,
                                       const PromptMedia& media, const MediaTokens& counts) {
  std::vector<std::int64_t> ids;
  auto words = [&](const std::string& text) {
    const auto encoded = tokenizer.encode(text);
    ids.insert(ids.end(), encoded.begin(), encoded.end());
  };
  ids.push_back(tokenizer.im_start_id());
  words("system you are a helpful assistant");
  ids.push_back(tokenizer.im_end_id());
  ids.push_back(tokenizer.im_start_id());
  words("user");
  if (media.image) {
    ids.push_back(tokenizer.vision_start_id());
    ids.insert(ids.end(), counts.image, tokenizer.image_pad_id());
    ids.push_back(tokenizer.vision_end_id());
  }
  if (media.video) {
    ids.push_back(tokenizer.vision_start_id());
    ids.insert(ids.end(), counts.video, tokenizer.video_pad_id());
    ids.push_back(tokenizer.vision_end_id());
  }
  if (media.audio) {
    ids.push_back(tokenizer.audio_bos_id());
    ids.insert(ids.end(), counts.audio, tokenizer.audio_id());
    ids.push_back(tokenizer.audio_eos_id());
  }
  words(prompt);
  ids.push_back(tokenizer.im_end_id());
  ids.push_back(tokenizer.im_start_id());
  words("assistant");
  return ids;
}

}  // namespace clearsight::mm
