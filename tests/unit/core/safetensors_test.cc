#include "clearsight/core/safetensors.h"

#include <gtest/gtest.h>

#include <cstring>

#include "clearsight/core/atomic_file.h"
#include "clearsight/core/error.h"
#include "test_util.h"

namespace clearsight {
namespace {

namespace st = safetensors;

// Builds file bytes from a header JSON text and a data section.
std::string make_file(const std::string& header, const std::string& data) {
  std::string out(8, '\0');
  const std::uint64_t n = header.size();
  std::memcpy(out.data(), &n, 8);
  return out + header + data;
}

std::string format_error_of(const std::string& bytes) {
  try {
    st::parse({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()}, "test");
  } catch (const FormatError& e) {
    return e.what();
  }
  return "<no FormatError>";
}

TEST(CoreSafetensors, RoundTripEveryDtypeWithMetadata) {
  testing::TempDir dir;
  torch::manual_seed(1);
  std::vector<std::pair<std::string, torch::Tensor>> tensors = {
      {"f64", torch::randn({2, 3}, torch::kFloat64)},
      {"f32", torch::randn({4, 5})},
      {"f16", torch::randn({3}).to(torch::kFloat16)},
      {"bf16", torch::randn({2, 2}).to(torch::kBFloat16)},
      {"i64", torch::arange(6, torch::kInt64).reshape({2, 3})},
      {"i32", torch::tensor({-1, 2, 3}, torch::kInt32)},
      {"i16", torch::tensor({-300, 300}, torch::kInt16)},
      {"i8", torch::tensor({-5, 5}, torch::kInt8)},
      {"u8", torch::tensor({0, 255}, torch::kUInt8)},
      {"bool", torch::tensor({true, false, true})},
      {"scalar", torch::tensor(3.5)},
      {"empty", torch::zeros({0, 4})},
      {"strided", torch::arange(12, torch::kFloat32).reshape({3, 4}).t()},
  };
  const std::map<std::string, std::string> metadata{{"format", "pt"}, {"model", "cs-tiny"}};
  st::save(dir / "all.safetensors", tensors, metadata);

  const auto file = st::File::open(dir / "all.safetensors");
  EXPECT_EQ(file.metadata(), metadata);
  EXPECT_EQ(file.names().size(), tensors.size());
  for (const auto& [name, tensor] : tensors) {
    const auto loaded = file.get(name);
    EXPECT_EQ(loaded.scalar_type(), tensor.scalar_type()) << name;
    EXPECT_EQ(loaded.sizes(), tensor.sizes()) << name;
    EXPECT_TRUE(torch::equal(loaded, tensor)) << name;
    EXPECT_TRUE(torch::equal(file.get(name, /*copy=*/false), tensor)) << name;
  }
  // The data section is 8-byte aligned, so float views are zero-copy.
  EXPECT_EQ(file.header().data_start % 8, 0u);
  const auto loaded = st::load(dir / "all.safetensors");
  EXPECT_EQ(loaded.size(), tensors.size());
}

TEST(CoreSafetensors, ZeroCopyViewOutlivesTheFileObject) {
  testing::TempDir dir;
  const auto w = torch::randn({64, 64});
  st::save(dir / "w.safetensors", {{"w", w}});
  torch::Tensor view;
  {
    const auto file = st::File::open(dir / "w.safetensors");
    view = file.get("w", /*copy=*/false);
  }
  EXPECT_TRUE(torch::equal(view, w));
}

TEST(CoreSafetensors, ExpectedShapeAndUnknownName) {
  testing::TempDir dir;
  st::save_map(dir / "m.safetensors",
               std::map<std::string, torch::Tensor>{{"layer.weight", torch::zeros({2, 3})}});
  const auto file = st::File::open(dir / "m.safetensors");
  EXPECT_NO_THROW(file.get("layer.weight", std::vector<std::int64_t>{2, 3}));
  EXPECT_THROW(file.get("layer.weight", std::vector<std::int64_t>{3, 2}), ShapeError);
  try {
    file.get("layer.wieght");
    FAIL();
  } catch (const UnknownNameError& e) {
    EXPECT_NE(std::string(e.what()).find("did you mean 'layer.weight'"), std::string::npos);
  }
}

TEST(CoreSafetensors, WriterRejectsBadInputAndKeepsOldFile) {
  testing::TempDir dir;
  st::save(dir / "keep.safetensors", {{"a", torch::ones({2})}});
  const std::string before = read_file(dir / "keep.safetensors");
  EXPECT_THROW(
      st::save(dir / "keep.safetensors", {{"a", torch::ones({1})}, {"a", torch::ones({1})}}),
      FormatError);
  EXPECT_THROW(st::save(dir / "keep.safetensors", {{"c", torch::ones({2}, torch::kComplexFloat)}}),
               FormatError);
  EXPECT_THROW(st::save(dir / "keep.safetensors", {{"", torch::ones({2})}}), FormatError);
  EXPECT_EQ(read_file(dir / "keep.safetensors"), before);
  EXPECT_EQ(testing::count_temp_files(dir.path()), 0);
}

TEST(CoreSafetensors, ParsesHandWrittenFileAndSortsByOffset) {
  const std::string header =
      R"({"b":{"dtype":"U8","shape":[2],"data_offsets":[4,6]},)"
      R"("a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"__metadata__":{"k":"v"}})";
  const auto bytes = make_file(header, std::string("\x00\x00\x80\x3f\x01\x02", 6));
  const auto h = st::parse({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()});
  ASSERT_EQ(h.tensors.size(), 2u);
  EXPECT_EQ(h.tensors[0].name, "a");
  EXPECT_EQ(h.tensors[1].name, "b");
  EXPECT_EQ(h.metadata.at("k"), "v");
  EXPECT_EQ(h.data_size, 6u);
}

struct BadCase {
  const char* label;
  std::string bytes;
  const char* expected;  // Substring of the FormatError message.
};

TEST(CoreSafetensors, HostileInputsGiveClearFormatErrors) {
  const std::string ok_entry = R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
  std::string huge(8, '\0');
  const std::uint64_t big = 1ull << 40;
  std::memcpy(huge.data(), &big, 8);
  std::string past_file(8, '\0');
  const std::uint64_t forty = 40;
  std::memcpy(past_file.data(), &forty, 8);
  past_file += "{}";
  const std::vector<BadCase> cases = {
      {"empty file", "", "8-byte header length"},
      {"truncated length", std::string("\x05\x00\x00", 3), "8-byte header length"},
      {"zero header", std::string(8, '\0'), "header length is 0"},
      {"header larger than limit", huge, "exceeds"},
      {"header past end of file", past_file, "larger than the 2 bytes"},
      {"not json", make_file("{this is not json}", ""), "not valid JSON"},
      {"not an object", make_file("[1,2]", ""), "does not start with '{'"},
      {"truncated json", make_file(R"({"a":{"dtype":"F32")", ""), "not valid JSON"},
      {"truncated data", make_file("{" + ok_entry + "}", std::string(4, '\0')),
       "go past the 4-byte data section"},
      {"trailing bytes", make_file("{" + ok_entry + "}", std::string(12, '\0')),
       "4 trailing bytes"},
      {"overlap",
       make_file(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},)"
                 R"("b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}})",
                 std::string(6, '\0')),
       "overlap"},
      {"gap",
       make_file(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}})", std::string(4, 'x')),
       "unused bytes"},
      {"byte count mismatch",
       make_file(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", std::string(8, 'x')),
       "needs 12"},
      {"shape overflow",
       make_file(R"({"a":{"dtype":"F64","shape":[4294967296,4294967296,16],"data_offsets":[0,8]}})",
                 std::string(8, 'x')),
       "more than 2^64"},
      {"unknown dtype",
       make_file(R"({"a":{"dtype":"F33","shape":[1],"data_offsets":[0,4]}})", std::string(4, 'x')),
       "unknown dtype 'F33'"},
      {"negative dim", make_file(R"({"a":{"dtype":"U8","shape":[-1],"data_offsets":[0,1]}})", "x"),
       "non-negative integers"},
      {"float dim", make_file(R"({"a":{"dtype":"U8","shape":[1.5],"data_offsets":[0,1]}})", "x"),
       "non-negative integers"},
      {"reversed offsets",
       make_file(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[1,0]}})", "x"), "is after end"},
      {"offsets not a pair",
       make_file(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0]}})", "x"), "data_offsets"},
      {"missing dtype", make_file(R"({"a":{"shape":[1],"data_offsets":[0,1]}})", "x"),
       "missing string 'dtype'"},
      {"extra key",
       make_file(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"x":1}})", "x"),
       "unexpected key 'x'"},
      {"entry not object", make_file(R"({"a":5})", ""), "expected an object"},
      {"duplicate name",
       make_file(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                 R"("a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})",
                 "xy"),
       "duplicate tensor name"},
      {"duplicate field",
       make_file(R"({"a":{"dtype":"U8","dtype":"I8","shape":[1],"data_offsets":[0,1]}})", "x"),
       "twice"},
      {"metadata not strings", make_file(R"({"__metadata__":{"k":1}})", ""), "must be a string"},
      {"metadata not object", make_file(R"({"__metadata__":[]})", ""), "must be an object"},
      {"invalid utf8", make_file("{\"\xff\xfe\":1}", ""), "not valid JSON"},
      {"empty name", make_file(R"({"":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}})", "x"),
       "must not be empty"},
  };
  for (const auto& c : cases) {
    const std::string msg = format_error_of(c.bytes);
    EXPECT_NE(msg.find(c.expected), std::string::npos) << c.label << ": " << msg;
    EXPECT_NE(msg.find("'test'"), std::string::npos) << c.label << ": names the file: " << msg;
  }
}

TEST(CoreSafetensors, TruncatingAValidFileAtEveryLengthIsAlwaysAFormatError) {
  testing::TempDir dir;
  st::save(dir / "v.safetensors", {{"w", torch::randn({3, 3})}, {"b", torch::randn({3})}},
           {{"k", "v"}});
  const std::string bytes = read_file(dir / "v.safetensors");
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    const std::string cut = bytes.substr(0, n);
    EXPECT_THROW(st::parse({reinterpret_cast<const std::uint8_t*>(cut.data()), cut.size()}),
                 FormatError)
        << "length " << n;
  }
}

TEST(CoreSafetensors, FileLevelErrors) {
  testing::TempDir dir;
  EXPECT_THROW(st::File::open(dir / "missing.safetensors"), IoError);
  EXPECT_THROW(st::File::open(dir.path()), IoError);
  testing::write_bytes(dir / "empty.safetensors", "");
  EXPECT_THROW(st::File::open(dir / "empty.safetensors"), FormatError);
  // Unsigned dtypes parse but have no LibTorch 1.13 type: a clear error on access.
  testing::write_bytes(
      dir / "u32.safetensors",
      make_file(R"({"a":{"dtype":"U32","shape":[1],"data_offsets":[0,4]}})", std::string(4, '\0')));
  const auto file = st::File::open(dir / "u32.safetensors");
  EXPECT_THROW(file.get("a"), FormatError);
}

}  // namespace
}  // namespace clearsight
