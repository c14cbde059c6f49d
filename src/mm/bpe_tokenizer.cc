#include "clearsight/mm/bpe_tokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <utf8proc.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <mutex>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "clearsight/core/atomic_file.h"
#include "clearsight/core/error.h"

namespace clearsight::mm {
namespace {

using Json = nlohmann::json;

// GPT-2's pre-tokenizer pattern (used when a ByteLevel pre-tokenizer has use_regex = true).
constexpr const char* kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

// Appends the UTF-8 form of a code point.
void append_utf8(std::string& out, std::uint32_t cp) {
  std::array<utf8proc_uint8_t, 4> buf{};
  const auto n = utf8proc_encode_char(static_cast<utf8proc_int32_t>(cp), buf.data());
  out.append(reinterpret_cast<const char*>(buf.data()), static_cast<std::size_t>(n));
}

// Throws FormatError unless text is valid UTF-8.
void check_utf8(std::string_view text) {
  const auto* p = reinterpret_cast<const utf8proc_uint8_t*>(text.data());
  std::size_t i = 0;
  while (i < text.size()) {
    utf8proc_int32_t cp = 0;
    const auto n = utf8proc_iterate(p + i, static_cast<utf8proc_ssize_t>(text.size() - i), &cp);
    CS_CHECK_AS(FormatError, n > 0, "text is not valid UTF-8 (byte offset ", i, ")");
    i += static_cast<std::size_t>(n);
  }
}

// Replaces invalid UTF-8 sequences by U+FFFD (one per undecodable byte).
std::string to_valid_utf8(const std::string& bytes) {
  std::string out;
  out.reserve(bytes.size());
  const auto* p = reinterpret_cast<const utf8proc_uint8_t*>(bytes.data());
  std::size_t i = 0;
  while (i < bytes.size()) {
    utf8proc_int32_t cp = 0;
    const auto n = utf8proc_iterate(p + i, static_cast<utf8proc_ssize_t>(bytes.size() - i), &cp);
    if (n > 0) {
      out.append(bytes, i, static_cast<std::size_t>(n));
      i += static_cast<std::size_t>(n);
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

std::string nfc(std::string_view text) {
  if (std::all_of(text.begin(), text.end(), [](char c) { return (c & 0x80) == 0; })) {
    return std::string(text);  // ASCII is always NFC.
  }
  utf8proc_uint8_t* out = nullptr;
  const auto n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                              static_cast<utf8proc_ssize_t>(text.size()), &out,
                              static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
  CS_CHECK_AS(FormatError, n >= 0, "text cannot be NFC-normalised: ", utf8proc_errmsg(n));
  std::string result(reinterpret_cast<const char*>(out), static_cast<std::size_t>(n));
  std::free(out);
  return result;
}

bool is_space_byte(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::uint64_t pair_key(std::int32_t a, std::int32_t b) {
  return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(a)) << 32) |
         static_cast<std::uint32_t>(b);
}

}  // namespace

const std::vector<std::string>& byte_level_alphabet() {
  static const std::vector<std::string> alphabet = [] {
    // Printable Latin-1 bytes keep their code point; the other 68 are mapped to 256 + k.
    std::vector<std::string> map(256);
    int next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
      append_utf8(map[static_cast<std::size_t>(b)],
                  static_cast<std::uint32_t>(printable ? b : next++));
    }
    return map;
  }();
  return alphabet;
}

struct BpeTokenizer::Impl {
  std::string source;
  std::unordered_map<std::string, std::int32_t> vocab;
  std::vector<std::string> tokens;                                                  // id -> token
  std::unordered_map<std::uint64_t, std::pair<std::int32_t, std::int32_t>> merges;  // rank, id
  std::vector<AddedToken> added;
  std::vector<bool> special;  // id -> special added token
  std::vector<bool> is_added;
  std::vector<bool> present;  // id -> assigned (ids may have holes)
  // Added tokens by their first byte, longest first.
  std::array<std::vector<std::size_t>, 256> added_by_first{};
  bool nfc = false;
  pcre2_code* regex = nullptr;
  bool regex_jit = false;
  std::array<std::int32_t, 256> byte_ids{};
  std::unordered_map<std::uint32_t, unsigned char> char_to_byte;
  // Cache of BPE results per pre-token.
  mutable std::mutex cache_mutex;
  mutable std::unordered_map<std::string, std::vector<std::int32_t>> cache;

  ~Impl() {
    if (regex != nullptr) pcre2_code_free(regex);
  }

  void compile(const std::string& pattern) {
    int error = 0;
    PCRE2_SIZE offset = 0;
    regex = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                          PCRE2_UTF | PCRE2_UCP | PCRE2_NO_UTF_CHECK, &error, &offset, nullptr);
    if (regex == nullptr) {
      std::array<PCRE2_UCHAR, 256> message{};
      pcre2_get_error_message(error, message.data(), message.size());
      CS_THROW(FormatError, source, ": pre-tokenizer pattern does not compile at offset ", offset,
               ": ", reinterpret_cast<const char*>(message.data()));
    }
    regex_jit = pcre2_jit_compile(regex, PCRE2_JIT_COMPLETE) == 0;
  }

  // Splits normalised text into pre-tokens (Split behaviour "Isolated": matches and the gaps
  // between them are pre-tokens).
  void split(std::string_view text, std::vector<std::string_view>& out) const {
    if (regex == nullptr) {
      if (!text.empty()) out.push_back(text);
      return;
    }
    pcre2_match_data* md = pcre2_match_data_create_from_pattern(regex, nullptr);
    const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
    PCRE2_SIZE start = 0, last = 0;
    while (start < text.size()) {
      const int rc = regex_jit ? pcre2_jit_match(regex, subject, text.size(), start, 0, md, nullptr)
                               : pcre2_match(regex, subject, text.size(), start, PCRE2_NO_UTF_CHECK,
                                             md, nullptr);
      if (rc < 0) break;
      const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
      if (ov[0] > last) out.push_back(text.substr(last, ov[0] - last));
      if (ov[1] > ov[0]) {
        out.push_back(text.substr(ov[0], ov[1] - ov[0]));
        start = ov[1];
      } else {
        // An empty match: step over one code point.
        start = ov[1] + 1;
        while (start < text.size() && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) {
          ++start;
        }
        continue;
      }
      last = start;
    }
    pcre2_match_data_free(md);
    if (last < text.size()) out.push_back(text.substr(last));
  }

  // BPE of one pre-token's bytes, appended to out.
  void bpe(std::string_view piece, std::vector<std::int64_t>& out) const {
    const std::string key(piece);
    {
      std::lock_guard lock(cache_mutex);
      const auto it = cache.find(key);
      if (it != cache.end()) {
        out.insert(out.end(), it->second.begin(), it->second.end());
        return;
      }
    }
    std::vector<std::int32_t> symbols;
    symbols.reserve(piece.size());
    for (const char c : piece) symbols.push_back(byte_ids[static_cast<unsigned char>(c)]);
    // Repeatedly merge the lowest-ranked adjacent pair, all its non-overlapping occurrences left
    // to right (equivalent to the tokenizers library's priority queue for BPE merge lists).
    while (symbols.size() > 1) {
      std::int32_t best_rank = std::numeric_limits<std::int32_t>::max();
      std::int32_t best_left = -1, best_right = -1, best_id = -1;
      for (std::size_t i = 0; i + 1 < symbols.size(); ++i) {
        const auto it = merges.find(pair_key(symbols[i], symbols[i + 1]));
        if (it != merges.end() && it->second.first < best_rank) {
          best_rank = it->second.first;
          best_left = symbols[i];
          best_right = symbols[i + 1];
          best_id = it->second.second;
        }
      }
      if (best_id < 0) break;
      std::size_t w = 0;
      for (std::size_t i = 0; i < symbols.size(); ++i) {
        if (i + 1 < symbols.size() && symbols[i] == best_left && symbols[i + 1] == best_right) {
          symbols[w++] = best_id;
          ++i;
        } else {
          symbols[w++] = symbols[i];
        }
      }
      symbols.resize(w);
    }
    out.insert(out.end(), symbols.begin(), symbols.end());
    std::lock_guard lock(cache_mutex);
    if (cache.size() > 200000) cache.clear();
    cache.emplace(key, std::move(symbols));
  }

  void encode_text(std::string_view text, std::vector<std::int64_t>& out) const {
    if (text.empty()) return;
    const std::string normalised = nfc ? mm::nfc(text) : std::string(text);
    std::vector<std::string_view> pieces;
    split(normalised, pieces);
    for (const auto piece : pieces) bpe(piece, out);
  }

  // The added token starting at text[i] (longest), or nullptr.
  const AddedToken* added_at(std::string_view text, std::size_t i) const {
    for (const auto k : added_by_first[static_cast<unsigned char>(text[i])]) {
      const auto& t = added[k];
      if (text.compare(i, t.content.size(), t.content) == 0) {
        if (t.single_word) {
          const auto word = [](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
          };
          if (i > 0 && word(text[i - 1])) continue;
          const auto end = i + t.content.size();
          if (end < text.size() && word(text[end])) continue;
        }
        return &t;
      }
    }
    return nullptr;
  }
};

BpeTokenizer::BpeTokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
BpeTokenizer::BpeTokenizer(BpeTokenizer&&) noexcept = default;
BpeTokenizer& BpeTokenizer::operator=(BpeTokenizer&&) noexcept = default;
BpeTokenizer::~BpeTokenizer() = default;

BpeTokenizer BpeTokenizer::load(const std::filesystem::path& path) {
  CS_CHECK_AS(IoError, std::filesystem::is_regular_file(path), path.string(),
              ": no such tokenizer file (expected a Hugging Face tokenizer.json)");
  return parse(read_file(path), path.string());
}

BpeTokenizer BpeTokenizer::parse(const std::string& json_text, const std::string& source) {
  Json root;
  try {
    root = Json::parse(json_text);
  } catch (const Json::exception& e) {
    CS_THROW(FormatError, source, ": not valid JSON (expected a tokenizer.json): ", e.what());
  }
  auto impl = std::make_unique<Impl>();
  impl->source = source;
  CS_CHECK_AS(FormatError, root.is_object() && root.contains("model") && root["model"].is_object(),
              source, ": no \"model\" object (expected a Hugging Face tokenizer.json)");
  const Json& model = root["model"];
  const std::string type = model.value("type", "");
  CS_CHECK_AS(FormatError, type == "BPE", source, ": model type '", type,
              "' is not supported (expected BPE)");
  CS_CHECK_AS(FormatError, !model.value("byte_fallback", false), source,
              ": byte_fallback BPE is not supported (expected byte-level BPE)");
  CS_CHECK_AS(FormatError, model.contains("vocab") && model["vocab"].is_object(), source,
              ": model.vocab must be an object of token -> id");

  std::int64_t max_id = -1;
  for (const auto& [tok, id] : model["vocab"].items()) {
    CS_CHECK_AS(FormatError,
                id.is_number_integer() && id.get<std::int64_t>() >= 0 &&
                    id.get<std::int64_t>() < (1LL << 30),
                source, ": vocab id of '", tok, "' must be a non-negative integer");
    const auto v = id.get<std::int32_t>();
    impl->vocab.emplace(tok, v);
    max_id = std::max<std::int64_t>(max_id, v);
  }
  const Json added = root.value("added_tokens", Json::array());
  CS_CHECK_AS(FormatError, added.is_array(), source, ": added_tokens must be an array");
  for (const auto& a : added) {
    AddedToken t;
    try {
      t.content = a.at("content").get<std::string>();
      t.id = a.at("id").get<std::int64_t>();
      t.special = a.value("special", false);
      t.lstrip = a.value("lstrip", false);
      t.rstrip = a.value("rstrip", false);
      t.single_word = a.value("single_word", false);
      t.normalized = a.value("normalized", false);
    } catch (const Json::exception& e) {
      CS_THROW(FormatError, source, ": malformed added_tokens entry: ", e.what());
    }
    CS_CHECK_AS(FormatError, !t.content.empty() && t.id >= 0 && t.id < (1LL << 30), source,
                ": added token '", t.content, "' needs content and a non-negative id");
    max_id = std::max(max_id, t.id);
    impl->added.push_back(std::move(t));
  }
  std::sort(impl->added.begin(), impl->added.end(),
            [](const AddedToken& a, const AddedToken& b) { return a.id < b.id; });

  impl->tokens.assign(static_cast<std::size_t>(max_id + 1), std::string());
  impl->special.assign(impl->tokens.size(), false);
  impl->is_added.assign(impl->tokens.size(), false);
  impl->present.assign(impl->tokens.size(), false);
  for (const auto& [tok, id] : impl->vocab) {
    CS_CHECK_AS(FormatError, !impl->present[static_cast<std::size_t>(id)], source, ": id ", id,
                " is given to two vocab tokens");
    impl->tokens[static_cast<std::size_t>(id)] = tok;
    impl->present[static_cast<std::size_t>(id)] = true;
  }
  for (std::size_t k = 0; k < impl->added.size(); ++k) {
    const auto& t = impl->added[k];
    impl->tokens[static_cast<std::size_t>(t.id)] = t.content;
    impl->special[static_cast<std::size_t>(t.id)] = t.special;
    impl->is_added[static_cast<std::size_t>(t.id)] = true;
    impl->present[static_cast<std::size_t>(t.id)] = true;
    impl->vocab[t.content] = static_cast<std::int32_t>(t.id);
    impl->added_by_first[static_cast<unsigned char>(t.content[0])].push_back(k);
  }
  for (auto& list : impl->added_by_first) {
    std::stable_sort(list.begin(), list.end(), [&](std::size_t a, std::size_t b) {
      return impl->added[a].content.size() > impl->added[b].content.size();
    });
  }

  // Byte-level alphabet: every byte must be a token.
  const auto& alphabet = byte_level_alphabet();
  for (int b = 0; b < 256; ++b) {
    const auto& ch = alphabet[static_cast<std::size_t>(b)];
    const auto it = impl->vocab.find(ch);
    CS_CHECK_AS(FormatError, it != impl->vocab.end(), source, ": byte 0x", std::hex, b,
                " has no byte-level token (expected a byte-level BPE vocabulary)");
    impl->byte_ids[static_cast<std::size_t>(b)] = it->second;
    utf8proc_int32_t cp = 0;
    utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(ch.data()),
                     static_cast<utf8proc_ssize_t>(ch.size()), &cp);
    impl->char_to_byte[static_cast<std::uint32_t>(cp)] = static_cast<unsigned char>(b);
  }

  // Merges: [["a", "b"], ...] (tokenizers >= 0.20) or ["a b", ...].
  const Json merges = model.value("merges", Json::array());
  CS_CHECK_AS(FormatError, merges.is_array(), source, ": model.merges must be an array");
  impl->merges.reserve(merges.size());
  std::int32_t rank = 0;
  for (const auto& m : merges) {
    std::string a, b;
    if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      a = m[0].get<std::string>();
      b = m[1].get<std::string>();
    } else if (m.is_string()) {
      const auto s = m.get<std::string>();
      const auto space = s.find(' ', 1);
      CS_CHECK_AS(FormatError, space != std::string::npos, source, ": merge '", s,
                  "' is not 'left right'");
      a = s.substr(0, space);
      b = s.substr(space + 1);
    } else {
      CS_THROW(FormatError, source, ": merge ", rank, " must be a pair of strings");
    }
    const auto ia = impl->vocab.find(a), ib = impl->vocab.find(b), im = impl->vocab.find(a + b);
    CS_CHECK_AS(FormatError,
                ia != impl->vocab.end() && ib != impl->vocab.end() && im != impl->vocab.end(),
                source, ": merge ", rank, " ('", a, "', '", b, "') uses tokens not in the vocab");
    impl->merges.try_emplace(pair_key(ia->second, ib->second), rank, im->second);
    ++rank;
  }

  // Normaliser.
  const Json normalizer = root.value("normalizer", Json());
  if (!normalizer.is_null()) {
    const std::string n = normalizer.value("type", "");
    CS_CHECK_AS(FormatError, n == "NFC", source, ": normalizer '", n,
                "' is not supported (expected NFC or none)");
    impl->nfc = true;
  }

  // Pre-tokenizer: Sequence[Split(Regex, Isolated), ByteLevel(use_regex=false)] or
  // ByteLevel(use_regex=true, add_prefix_space=false).
  const Json pre = root.value("pre_tokenizer", Json());
  CS_CHECK_AS(FormatError, pre.is_object(), source,
              ": a byte-level pre_tokenizer is required (found none)");
  std::vector<Json> steps;
  if (pre.value("type", "") == "Sequence") {
    for (const auto& p : pre.value("pretokenizers", Json::array())) steps.push_back(p);
  } else {
    steps.push_back(pre);
  }
  bool byte_level = false;
  std::string pattern;
  for (const auto& p : steps) {
    const std::string t = p.value("type", "");
    if (t == "Split") {
      CS_CHECK_AS(FormatError, pattern.empty() && !byte_level, source,
                  ": only one Split before ByteLevel is supported");
      CS_CHECK_AS(FormatError, p.contains("pattern") && p["pattern"].contains("Regex"), source,
                  ": Split pre-tokenizer needs a Regex pattern");
      CS_CHECK_AS(FormatError, p.value("behavior", "") == "Isolated" && !p.value("invert", false),
                  source, ": Split behaviour '", p.value("behavior", ""),
                  "' is not supported (expected Isolated)");
      pattern = p["pattern"]["Regex"].get<std::string>();
    } else if (t == "ByteLevel") {
      CS_CHECK_AS(FormatError, !p.value("add_prefix_space", false), source,
                  ": ByteLevel add_prefix_space is not supported");
      if (p.value("use_regex", true)) {
        CS_CHECK_AS(FormatError, pattern.empty(), source,
                    ": ByteLevel use_regex after a Split is not supported");
        pattern = kGpt2Pattern;
      }
      byte_level = true;
    } else {
      CS_THROW(FormatError, source, ": pre-tokenizer '", t,
               "' is not supported (expected Split and ByteLevel)");
    }
  }
  CS_CHECK_AS(FormatError, byte_level, source, ": a ByteLevel pre-tokenizer is required");
  if (!pattern.empty()) impl->compile(pattern);
  return BpeTokenizer(std::move(impl));
}

std::vector<std::int64_t> BpeTokenizer::encode(std::string_view text,
                                               const EncodeOptions& options) const {
  check_utf8(text);
  std::vector<std::int64_t> ids;
  ids.reserve(text.size() / 3 + 4);
  if (!options.split_added_tokens || impl_->added.empty()) {
    impl_->encode_text(text, ids);
    return ids;
  }
  std::size_t begin = 0, i = 0;
  while (i < text.size()) {
    const AddedToken* t = impl_->added_at(text, i);
    if (t == nullptr) {
      ++i;
      continue;
    }
    std::size_t seg_end = i, next = i + t->content.size();
    if (t->lstrip) {
      while (seg_end > begin && is_space_byte(text[seg_end - 1])) --seg_end;
    }
    if (t->rstrip) {
      while (next < text.size() && is_space_byte(text[next])) ++next;
    }
    impl_->encode_text(text.substr(begin, seg_end - begin), ids);
    ids.push_back(t->id);
    begin = i = next;
  }
  impl_->encode_text(text.substr(begin), ids);
  return ids;
}

std::string BpeTokenizer::decode(const std::vector<std::int64_t>& ids, bool skip_special) const {
  std::string bytes, out;
  const auto flush = [&] {
    out += to_valid_utf8(bytes);
    bytes.clear();
  };
  for (const auto id : ids) {
    const auto& tok = token(id);
    const auto k = static_cast<std::size_t>(id);
    if (impl_->is_added[k]) {
      if (skip_special && impl_->special[k]) continue;
      flush();
      out += tok;
      continue;
    }
    const auto* p = reinterpret_cast<const utf8proc_uint8_t*>(tok.data());
    std::size_t i = 0;
    while (i < tok.size()) {
      utf8proc_int32_t cp = 0;
      const auto n = utf8proc_iterate(p + i, static_cast<utf8proc_ssize_t>(tok.size() - i), &cp);
      if (n <= 0) break;
      const auto it = impl_->char_to_byte.find(static_cast<std::uint32_t>(cp));
      if (it != impl_->char_to_byte.end()) {
        bytes += static_cast<char>(it->second);
      } else {
        bytes.append(tok, i, static_cast<std::size_t>(n));  // Not byte-level: keep as is.
      }
      i += static_cast<std::size_t>(n);
    }
  }
  flush();
  return out;
}

std::vector<std::string> BpeTokenizer::pre_tokenize(std::string_view text) const {
  check_utf8(text);
  const std::string normalised = impl_->nfc ? nfc(text) : std::string(text);
  std::vector<std::string_view> pieces;
  impl_->split(normalised, pieces);
  return {pieces.begin(), pieces.end()};
}

std::optional<std::int64_t> BpeTokenizer::find(std::string_view token) const {
  const auto it = impl_->vocab.find(std::string(token));
  if (it == impl_->vocab.end()) return std::nullopt;
  return it->second;
}

std::int64_t BpeTokenizer::id(std::string_view token) const {
  const auto found = find(token);
  CS_CHECK_AS(UnknownNameError, found.has_value(), "token '", token, "' is not in ", impl_->source);
  return *found;
}

const std::string& BpeTokenizer::token(std::int64_t id) const {
  CS_CHECK_AS(UnknownNameError,
              id >= 0 && id < size() && impl_->present[static_cast<std::size_t>(id)], "token id ",
              id, " is not in ", impl_->source, " (", size(), " ids)");
  return impl_->tokens[static_cast<std::size_t>(id)];
}

bool BpeTokenizer::has_id(std::int64_t id) const {
  return id >= 0 && id < size() && impl_->present[static_cast<std::size_t>(id)];
}

std::int64_t BpeTokenizer::size() const { return static_cast<std::int64_t>(impl_->tokens.size()); }

const std::vector<AddedToken>& BpeTokenizer::added_tokens() const { return impl_->added; }

bool BpeTokenizer::is_special(std::int64_t id) const {
  return id >= 0 && id < size() && impl_->special[static_cast<std::size_t>(id)];
}

const std::string& BpeTokenizer::source() const { return impl_->source; }

}  // namespace clearsight::mm
