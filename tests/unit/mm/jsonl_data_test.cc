#include "clearsight/mm/jsonl_data.h"

#include <gtest/gtest.h>

#include "clearsight/core/error.h"
#include "test_util.h"

namespace clearsight::mm {
namespace {

TEST(MmJsonlData, ReadsRecordsWithPathsRelativeToTheFile) {
  testing::TempDir dir;
  std::filesystem::create_directories(dir / "img");
  testing::write_bytes(dir / "img/0001.png", "x");
  testing::write_bytes(dir / "a.wav", "x");
  testing::write_bytes(
      dir / "data.jsonl",
      "{\"prompt\": \"What colour is the circle?\", \"image\": \"img/0001.png\", "
      "\"answer\": \"red\", \"metric\": \"substring_accuracy\"}\n"
      "\n"
      "{\"prompt\": \"Frames\", \"video\": [\"img/0001.png\", \"img/0001.png\"]}\n"
      "{\"prompt\": \"Hear\", \"audio\": \"a.wav\", \"answers\": [\"a\", \"b\"]}\n");
  const auto r = load_jsonl_dataset(dir / "data.jsonl");
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].image, dir / "img/0001.png");
  EXPECT_EQ(r[0].answers, std::vector<std::string>{"red"});
  EXPECT_EQ(r[0].metric, "substring_accuracy");
  EXPECT_EQ(r[1].video.size(), 2u);
  EXPECT_EQ(r[1].metric, "none");
  EXPECT_EQ(r[1].line, 3);
  EXPECT_EQ(r[2].answers.size(), 2u);
  EXPECT_EQ(r[2].metric, "exact_match");
}

TEST(MmJsonlData, ErrorsNameTheLine) {
  testing::TempDir dir;
  const auto message = [&](const std::string& text) -> std::string {
    testing::write_bytes(dir / "d.jsonl", text);
    try {
      load_jsonl_dataset(dir / "d.jsonl");
    } catch (const Error& e) {
      return e.what();
    }
    return "no error";
  };
  EXPECT_NE(message("{\"prompt\": \"a\"}\n{bad\n").find("d.jsonl:2"), std::string::npos);
  EXPECT_NE(message("{\"image\": \"x.png\"}\n").find("prompt"), std::string::npos);
  EXPECT_NE(message("{\"prompt\": \"a\", \"image\": \"missing.png\"}\n").find("missing.png"),
            std::string::npos);
  EXPECT_NE(message("{\"prompt\": \"a\", \"colour\": 1}\n").find("colour"), std::string::npos);
  EXPECT_NE(message("{\"prompt\": \"a\", \"answer\": \"b\", \"metric\": \"f1\"}\n").find("f1"),
            std::string::npos);
  EXPECT_NE(message("{\"prompt\": \"a\", \"metric\": \"exact_match\"}\n").find("answer"),
            std::string::npos);
  EXPECT_NE(message("\n\n").find("no samples"), std::string::npos);
  EXPECT_THROW(load_jsonl_dataset(dir / "none.jsonl"), IoError);
}

}  // namespace
}  // namespace clearsight::mm
