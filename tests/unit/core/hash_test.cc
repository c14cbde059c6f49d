#include "clearsight/core/hash.h"

#include <gtest/gtest.h>

#include "clearsight/core/error.h"
#include "test_util.h"

namespace clearsight {
namespace {

TEST(CoreHash, FileHashIsTheHashOfItsBytes) {
  testing::TempDir dir;
  testing::write_bytes(dir / "a.bin", "hello");
  const std::string h = content_hash(dir / "a.bin");
  EXPECT_EQ(h.rfind("xxh3-128:", 0), 0u) << h;
  EXPECT_EQ(h.size(), std::string("xxh3-128:").size() + 32);
  EXPECT_EQ(h, content_hash_of("hello"));
  EXPECT_NE(h, content_hash_of("hellp"));
  EXPECT_NE(content_hash_of(""), content_hash_of(std::string(1, '\0')));
}

TEST(CoreHash, LargeFileMatchesInMemoryHash) {
  testing::TempDir dir;
  std::string bytes(3u << 20, '\0');  // Larger than one read chunk.
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>((i * 131) % 251);
  testing::write_bytes(dir / "big.bin", bytes);
  EXPECT_EQ(content_hash(dir / "big.bin"), content_hash_of(bytes));
}

// A folder (a model checkpoint) changes hash when a file's content or name changes, not when it
// is rebuilt with the same files in another order.
TEST(CoreHash, DirectoryHashCoversNamesAndContents) {
  testing::TempDir a, b;
  testing::write_bytes(a / "config.json", "{}");
  testing::write_bytes(a / "model.safetensors", "weights");
  testing::write_bytes(b / "model.safetensors", "weights");
  testing::write_bytes(b / "config.json", "{}");
  EXPECT_EQ(content_hash(a.path()), content_hash(b.path()));
  testing::write_bytes(b / "config.json", "{ }");
  EXPECT_NE(content_hash(a.path()), content_hash(b.path()));
  testing::write_bytes(b / "config.json", "{}");
  std::filesystem::rename(b / "config.json", b / "config2.json");
  EXPECT_NE(content_hash(a.path()), content_hash(b.path()));
}

TEST(CoreHash, MissingFileIsAnIoError) {
  testing::TempDir dir;
  EXPECT_THROW(content_hash(dir / "nope"), IoError);
}

}  // namespace
}  // namespace clearsight
