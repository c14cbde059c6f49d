// `clearsight tokenize --tokenizer tokenizer.json [--json] [--decode] [TEXT...]`: encodes each
// argument or each stdin line with a Hugging Face byte-level BPE tokenizer (or decodes ids).
#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>
#include <sstream>

#include "clearsight/core/error.h"
#include "clearsight/core/log.h"
#include "clearsight/mm/bpe_tokenizer.h"
#include "commands.h"

namespace clearsight::cli {
namespace {

struct TokenizeOptions {
  std::string tokenizer;
  bool json = false;
  bool decode = false;
  bool tokens = false;
  bool no_added = false;
  bool skip_special = false;
  std::vector<std::string> texts;
};

std::vector<std::int64_t> parse_ids(const std::string& line) {
  std::vector<std::int64_t> ids;
  const auto first = line.find_first_not_of(" \t");
  if (first != std::string::npos && line[first] == '[') {
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      CS_THROW(FormatError, "--decode line is not a JSON array of ids: ", e.what());
    }
    CS_CHECK_AS(FormatError, j.is_array(), "--decode line must be a JSON array of ids");
    for (const auto& v : j) {
      CS_CHECK_AS(FormatError, v.is_number_integer(), "--decode ids must be integers, got ",
                  v.dump());
      ids.push_back(v.get<std::int64_t>());
    }
    return ids;
  }
  std::istringstream in(line);
  std::string word;
  while (in >> word) {
    std::size_t used = 0;
    std::int64_t v = 0;
    try {
      v = std::stoll(word, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    CS_CHECK_AS(FormatError, used == word.size(), "--decode expects ids, got '", word, "'");
    ids.push_back(v);
  }
  return ids;
}

int run_tokenize(const TokenizeOptions& o) {
  const auto tokenizer = mm::BpeTokenizer::load(o.tokenizer);
  mm::EncodeOptions encode;
  encode.split_added_tokens = !o.no_added;
  const auto handle = [&](const std::string& line) {
    if (o.decode) {
      const auto text = tokenizer.decode(parse_ids(line), o.skip_special);
      if (o.json) {
        std::printf("%s\n", nlohmann::json(text).dump().c_str());
      } else {
        std::printf("%s\n", text.c_str());
      }
      return;
    }
    const auto ids = tokenizer.encode(line, encode);
    if (o.json) {
      if (o.tokens) {
        nlohmann::json pieces = nlohmann::json::array();
        for (const auto id : ids) pieces.push_back(tokenizer.decode({id}));
        std::printf("%s\n", nlohmann::json({{"ids", ids}, {"tokens", pieces}}).dump().c_str());
      } else {
        std::printf("%s\n", nlohmann::json(ids).dump().c_str());
      }
      return;
    }
    std::string out;
    for (std::size_t i = 0; i < ids.size(); ++i) {
      if (i) out += ' ';
      out += std::to_string(ids[i]);
      if (o.tokens) out += ":" + nlohmann::json(tokenizer.decode({ids[i]})).dump();
    }
    std::printf("%s\n", out.c_str());
  };
  if (!o.texts.empty()) {
    for (const auto& t : o.texts) handle(t);
  } else {
    std::string line;
    while (std::getline(std::cin, line)) handle(line);
  }
  return 0;
}

}  // namespace

void add_tokenize_command(Context& context) {
  auto o = std::make_shared<TokenizeOptions>();
  auto* cmd = context.app.add_subcommand(
      "tokenize", "Encode text (each argument, else each stdin line) with a tokenizer.json");
  cmd->add_option("--tokenizer", o->tokenizer, "Hugging Face tokenizer.json (byte-level BPE)")
      ->required();
  cmd->add_flag("--json", o->json, "One JSON array of ids per input line");
  cmd->add_flag("--decode", o->decode,
                "Decode: each line holds ids (JSON array or space-separated)");
  cmd->add_flag("--tokens", o->tokens, "Show each id's text as well");
  cmd->add_flag("--no-added-tokens", o->no_added,
                "Encode '<|im_start|>' and other added tokens in the text as plain text");
  cmd->add_flag("--skip-special", o->skip_special, "Drop special tokens when decoding");
  cmd->add_option("TEXT", o->texts, "Texts to encode (default: stdin lines)");
  cmd->callback([&context, o] {
    context.action = [&context, o] {
      log::set_verbosity(context.global.quiet ? -1 : context.global.verbosity);
      return run_tokenize(*o);
    };
  });
}

}  // namespace clearsight::cli
