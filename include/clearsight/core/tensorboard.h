// TensorBoard event files: the scalars of a run's metrics rows as `events.out.tfevents.*` records
// (TFRecord framing with masked CRC32C around an Event protocol buffer), so that `tensorboard
// --logdir runs/` plots any ClearSight training next to other tools' runs.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace clearsight {

/// CRC32C (Castagnoli) of bytes, as TFRecord uses it before masking.
std::uint32_t crc32c(std::string_view bytes);

/// TFRecord's masked CRC: ((crc >> 15) | (crc << 17)) + 0xa282ead8.
std::uint32_t masked_crc32c(std::string_view bytes);

/// One record in TFRecord framing: length, masked CRC of the length, data, masked CRC of data.
std::string tfrecord(std::string_view data);

/// A serialised Event holding the file version ("brain.Event:2").
std::string file_version_event(double wall_time);

/// A serialised Event holding one scalar summary per (tag, value).
std::string scalar_event(double wall_time, std::int64_t step,
                         const std::map<std::string, double>& scalars);

/// One scalar read back from an event file.
struct ScalarPoint {
  std::string tag;
  std::int64_t step = 0;
  double wall_time = 0;
  float value = 0;
};

/// Reads every scalar of an event file, checking each record's CRCs; throws FormatError at the
/// first bad record (a torn last record, from a kill mid-write, is skipped).
std::vector<ScalarPoint> read_scalars(const std::filesystem::path& path);

/// The event file of a run folder: the existing `events.out.tfevents.*` there, or a new name
/// (`events.out.tfevents.<unix seconds>.<host>.clearsight`) when there is none.
std::filesystem::path event_file_in(const std::filesystem::path& dir);

/// Appends the numeric values of a metrics row (all keys but "step") as scalars at its step; the
/// file gets its version record first when it is new. One write per row.
void append_scalars(const std::filesystem::path& file, const std::map<std::string, double>& row,
                    std::int64_t step, double wall_time);

/// Drops the scalar records past step from an event file (a resumed run logs them again), keeping
/// the others with their wall times; atomic. Returns how many records went.
std::size_t cut_event_file(const std::filesystem::path& file, std::int64_t step);

}  // namespace clearsight
