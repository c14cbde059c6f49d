#include "clearsight/core/error.h"

#include <gtest/gtest.h>

namespace clearsight {
namespace {

TEST(CoreError, CheckPassesWhenTrue) { EXPECT_NO_THROW(CS_CHECK(1 + 1 == 2, "math")); }

TEST(CoreError, CheckConcatenatesMessageAndRecordsLocation) {
  try {
    const int got = 3;
    CS_CHECK(got == 4, "expected 4, got ", got);
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "expected 4, got 3");
    EXPECT_EQ(e.kind(), ErrorKind::kGeneric);
    EXPECT_NE(e.where().find("error_test.cc:"), std::string::npos);
  }
}

TEST(CoreError, CheckAsThrowsTheRequestedType) {
  EXPECT_THROW(CS_CHECK_AS(FormatError, false, "bad"), FormatError);
  EXPECT_THROW(CS_CHECK_AS(ShapeError, false, "bad"), ShapeError);
  EXPECT_THROW(CS_CHECK_AS(ConfigError, false, "bad"), Error);
  try {
    CS_THROW(UnknownNameError, "no ", "such");
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kUnknownName);
    EXPECT_EQ(error_kind_name(e.kind()), "unknown name");
    EXPECT_STREQ(e.what(), "no such");
  }
}

TEST(CoreError, EveryKindHasAName) {
  for (auto kind :
       {ErrorKind::kGeneric, ErrorKind::kConfig, ErrorKind::kIo, ErrorKind::kFormat,
        ErrorKind::kShape, ErrorKind::kUnknownName, ErrorKind::kNumeric, ErrorKind::kRuntime}) {
    EXPECT_FALSE(error_kind_name(kind).empty());
  }
  EXPECT_EQ(IoError("x").kind(), ErrorKind::kIo);
  EXPECT_EQ(NumericError("x").kind(), ErrorKind::kNumeric);
  EXPECT_EQ(RuntimeError("x").kind(), ErrorKind::kRuntime);
}

}  // namespace
}  // namespace clearsight
