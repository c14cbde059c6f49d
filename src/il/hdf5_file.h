// A small RAII layer over the HDF5 C API for the demonstration files: typed datasets (optionally
// chunked and gzip-compressed), scalar attributes and groups, with every HDF5 failure turned into
// ClearSight's typed errors. Torch-free, and hdf5.h stays in hdf5_file.cc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace clearsight::il::h5 {

/// Element types of the buffers handed to and filled by File.
enum class Dtype { kFloat32, kFloat64, kUint8, kBool, kInt64, kUint64 };

/// The class of a stored dataset's elements.
enum class StoredClass { kFloat, kInteger, kBool, kString, kOther };

/// Name of a StoredClass ("float", "integer", "bool", "string", "other").
const char* stored_class_name(StoredClass stored);

/// Shape and element class of a stored dataset.
struct DatasetInfo {
  std::vector<std::int64_t> dims;
  StoredClass stored = StoredClass::kOther;
  /// Bytes per stored element.
  std::size_t element_size = 0;
  /// Bytes the file stores for the dataset (after compression).
  std::size_t storage_size = 0;
};

/// Storage layout of a new dataset.
struct WriteOptions {
  /// Chunk shape (empty: contiguous storage).
  std::vector<std::int64_t> chunk;
  /// gzip level 0..9 for chunked datasets, or -1 for none.
  int gzip = -1;
};

/// An open HDF5 file; closes itself (ignoring errors) when destroyed without close().
class File {
 public:
  /// Creates (truncating) a file for writing; throws IoError when it cannot be created.
  static File create(const std::filesystem::path& path);
  /// Opens an existing file read-only; throws IoError when missing and FormatError when it is not
  /// a readable HDF5 file (garbage, truncated, corrupt superblock).
  static File open(const std::filesystem::path& path);

  ~File();
  File(File&& other) noexcept;
  File& operator=(File&& other) = delete;
  File(const File&) = delete;
  File& operator=(const File&) = delete;

  /// Flushes and closes; throws IoError when HDF5 cannot finish writing.
  void close();

  /// Creates a group ("episodes").
  void create_group(const std::string& name);
  /// Writes a dataset of the given shape from a row-major buffer of type dtype.
  void write(const std::string& name, Dtype dtype, const std::vector<std::int64_t>& dims,
             const void* data, const WriteOptions& options = {});
  /// Whether a link of that name (dataset or group, "a/b" allowed) exists.
  bool exists(const std::string& name) const;
  /// Shape and class of a dataset; throws FormatError when name is not a readable dataset.
  DatasetInfo info(const std::string& name) const;
  /// Reads a whole dataset converted to dtype into out (sized by the caller from info());
  /// kBool accepts stored bools, integers and floats (non-zero is true). Throws FormatError when
  /// the data cannot be read (corrupt chunks) or converted.
  void read(const std::string& name, Dtype dtype, void* out) const;

  /// Sets a UTF-8 string attribute on object ("/" for the file).
  void set_attribute(const std::string& object, const std::string& name, std::string_view value);
  /// Sets a float64 attribute.
  void set_attribute(const std::string& object, const std::string& name, double value);
  /// Sets an int64 attribute.
  void set_attribute(const std::string& object, const std::string& name, std::int64_t value);
  /// Sets a uint64 attribute.
  void set_attribute(const std::string& object, const std::string& name, std::uint64_t value);
  /// Whether object has an attribute called name.
  bool has_attribute(const std::string& object, const std::string& name) const;
  /// A string attribute; throws FormatError when missing or not a string.
  std::string string_attribute(const std::string& object, const std::string& name) const;
  /// A numeric scalar attribute as float64; throws FormatError when missing or not numeric.
  double double_attribute(const std::string& object, const std::string& name) const;
  /// A numeric scalar attribute as uint64; throws FormatError when missing or not an integer.
  std::uint64_t uint64_attribute(const std::string& object, const std::string& name) const;

  /// The file's path.
  const std::filesystem::path& path() const { return path_; }

 private:
  File(std::int64_t id, std::filesystem::path path) : id_(id), path_(std::move(path)) {}
  // Throws FormatError naming the attribute when text is not valid UTF-8.
  void check_utf8(const std::string& text, const std::string& object,
                  const std::string& name) const;
  std::int64_t id_ = -1;
  std::filesystem::path path_;
};

/// Turns off HDF5's automatic printing of error stacks (idempotent).
void silence_errors();

}  // namespace clearsight::il::h5
