#include "clearsight/core/tensorboard.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "clearsight/core/atomic_file.h"
#include "clearsight/core/error.h"
#include "clearsight/core/run_dir.h"
#include "test_util.h"

namespace clearsight {
namespace {

TEST(CoreTensorboard, Crc32cMatchesTheStandardCheckValue) {
  EXPECT_EQ(crc32c("123456789"), 0xE3069283u);  // The CRC-32C check value (RFC 3720, B.4).
  EXPECT_EQ(crc32c(""), 0u);
  EXPECT_EQ(masked_crc32c(""), 0xa282ead8u);
}

TEST(CoreTensorboard, RecordsRoundTripWithTheirSteps) {
  testing::TempDir dir;
  const auto file = dir / "events.out.tfevents.1.test";
  append_scalars(file, {{"loss", 0.5}, {"train_return", 12.25}}, 100, 1000.0);
  append_scalars(file, {{"loss", 0.25}}, 200, 1001.0);
  const auto points = read_scalars(file);
  ASSERT_EQ(points.size(), 3u);
  EXPECT_EQ(points[0].tag, "loss");
  EXPECT_EQ(points[0].step, 100);
  EXPECT_FLOAT_EQ(points[0].value, 0.5f);
  EXPECT_EQ(points[1].tag, "train_return");
  EXPECT_FLOAT_EQ(points[1].value, 12.25f);
  EXPECT_EQ(points[2].step, 200);
  EXPECT_DOUBLE_EQ(points[2].wall_time, 1001.0);
  // The file starts with the version record: 8 + 4 length bytes, then the Event.
  const std::string bytes = read_file(file);
  EXPECT_NE(bytes.find("brain.Event:2"), std::string::npos);
}

TEST(CoreTensorboard, TornLastRecordIsSkippedAndCorruptionIsAnError) {
  testing::TempDir dir;
  const auto file = dir / "events.out.tfevents.1.test";
  append_scalars(file, {{"loss", 1.0}}, 1, 1.0);
  append_scalars(file, {{"loss", 2.0}}, 2, 2.0);
  std::string bytes = read_file(file);
  testing::write_bytes(dir / "torn", bytes.substr(0, bytes.size() - 3));
  EXPECT_EQ(read_scalars(dir / "torn").size(), 1u);
  bytes[bytes.size() - 6] ^= 0x40;  // A bit flip inside the last record's data.
  testing::write_bytes(dir / "flipped", bytes);
  EXPECT_THROW(read_scalars(dir / "flipped"), FormatError);
}

TEST(CoreTensorboard, CutDropsRecordsPastTheStep) {
  testing::TempDir dir;
  const auto file = dir / "events.out.tfevents.1.test";
  for (int step = 1; step <= 4; ++step) append_scalars(file, {{"x", step * 1.0}}, step, step);
  EXPECT_EQ(cut_event_file(file, 2), 2u);
  const auto points = read_scalars(file);
  ASSERT_EQ(points.size(), 2u);
  EXPECT_EQ(points.back().step, 2);
  EXPECT_DOUBLE_EQ(points.back().wall_time, 2.0);
  EXPECT_EQ(read_file(file).find("brain.Event:2"), read_file(file).find("brain.Event:2"));
  EXPECT_NE(read_file(file).find("brain.Event:2"), std::string::npos);
}

// Every numeric value of a metrics row lands in the run's event file at the row's step, and a
// resume's cut reaches it too.
TEST(CoreTensorboard, RunDirLogsScalarsAndCutsThemOnResume) {
  testing::TempDir root;
  const auto run = RunDir::at(root / "run");
  run.log_metrics({{"step", 10}, {"loss", 0.5}, {"note", "text"}});
  run.log_metrics({{"step", 20}, {"eval_return", 3.5}});
  run.log_metrics({{"step", 30}, {"loss", 0.25}});
  const auto file = event_file_in(run.path());
  EXPECT_EQ(file.filename().string().rfind("events.out.tfevents.", 0), 0u);
  auto points = read_scalars(file);
  ASSERT_EQ(points.size(), 3u);
  EXPECT_EQ(points[1].tag, "eval_return");
  EXPECT_EQ(points[1].step, 20);
  run.cut_metrics_after(20);
  points = read_scalars(file);
  ASSERT_EQ(points.size(), 2u);
  EXPECT_EQ(points.back().step, 20);
}

// An independent reader: Python's crc32c module checks every record's framing, and protoc
// --decode_raw (which knows no ClearSight code) shows TensorFlow's field numbers.
TEST(CoreTensorboard, FileIsReadByAnIndependentTfRecordReader) {
  testing::TempDir dir;
  const auto file = dir / "events.out.tfevents.1.test";
  append_scalars(file, {{"loss", 0.5}}, 7, 1234.5);
  const std::string script = std::string(CS_SOURCE_DIR) + "/tests/reference/tfevents_check.py";
  const std::string command = "/usr/bin/python3 " + script + " " + file.string() + " > " +
                              (dir / "out.txt").string() + " 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0) << read_file(dir / "out.txt");
  const std::string out = read_file(dir / "out.txt");
  EXPECT_NE(out.find("records: 2"), std::string::npos) << out;
  EXPECT_NE(out.find("3: \"brain.Event:2\""), std::string::npos) << out;  // file_version = 3
  EXPECT_NE(out.find("2: 7"), std::string::npos) << out;                  // step = 2
  EXPECT_NE(out.find("1: \"loss\""), std::string::npos) << out;           // Value.tag = 1
  EXPECT_NE(out.find("2: 0x3f000000"), std::string::npos) << out;         // simple_value 0.5f
}

}  // namespace
}  // namespace clearsight
