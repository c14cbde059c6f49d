#include "clearsight/core/atomic_file.h"

#include <gtest/gtest.h>

#include "clearsight/core/error.h"
#include "test_util.h"

namespace clearsight {
namespace {

TEST(CoreAtomicFile, WriteAndReadBack) {
  testing::TempDir dir;
  atomic_write(dir / "a.txt", std::string_view("hello"));
  EXPECT_EQ(read_file(dir / "a.txt"), "hello");
  atomic_write(dir / "a.txt", std::string_view("replaced"));
  EXPECT_EQ(read_file(dir / "a.txt"), "replaced");
  EXPECT_EQ(testing::count_temp_files(dir.path()), 0);
}

TEST(CoreAtomicFile, UncommittedWriteLeavesOldFileIntact) {
  testing::TempDir dir;
  atomic_write(dir / "model.bin", std::string_view("old content"));
  {
    AtomicFile file(dir / "model.bin");
    file.write("half of the new");
    EXPECT_EQ(file.size(), 15u);
    // Simulates an error before commit: the destructor discards the temporary.
  }
  EXPECT_EQ(read_file(dir / "model.bin"), "old content");
  EXPECT_EQ(testing::count_temp_files(dir.path()), 0);
}

TEST(CoreAtomicFile, ExceptionMidWriteLosesNothing) {
  testing::TempDir dir;
  atomic_write(dir / "out.json", std::string_view("{\"ok\": true}"));
  try {
    AtomicFile file(dir / "out.json");
    file.write("{\"partial\":");
    CS_THROW(Error, "simulated failure");
  } catch (const Error&) {
  }
  EXPECT_EQ(read_file(dir / "out.json"), "{\"ok\": true}");
  EXPECT_EQ(testing::count_temp_files(dir.path()), 0);
}

TEST(CoreAtomicFile, ErrorsAreTyped) {
  testing::TempDir dir;
  EXPECT_THROW(atomic_write(dir / "no_such_dir" / "x", std::string_view("x")), IoError);
  EXPECT_THROW(read_file(dir / "missing"), IoError);
  EXPECT_THROW(read_file(dir.path()), IoError);
  AtomicFile file(dir / "twice");
  file.commit();
  EXPECT_THROW(file.commit(), IoError);
  EXPECT_THROW(file.write("x"), IoError);
}

}  // namespace
}  // namespace clearsight
