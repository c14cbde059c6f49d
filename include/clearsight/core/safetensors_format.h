// The safetensors container format without LibTorch: header parsing and validation, memory
// mapping and serialisation. The parser treats every byte as hostile: any malformed input gives a
// FormatError, never a crash or an out-of-bounds read. See safetensors.h for torch::Tensor I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace clearsight::safetensors {

/// Element types of the safetensors format.
enum class DType { kBool, kU8, kI8, kI16, kU16, kF16, kBF16, kI32, kU32, kF32, kF64, kI64, kU64 };

/// The format's name of a dtype ("F32").
std::string_view dtype_name(DType dtype);

/// Parses a format dtype name; nullopt for an unknown name.
std::optional<DType> parse_dtype(std::string_view name);

/// Bytes per element.
std::size_t dtype_size(DType dtype);

/// One tensor's entry in the header.
struct TensorInfo {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<std::int64_t> shape;
  /// Offsets relative to the start of the data section.
  std::uint64_t begin = 0;
  std::uint64_t end = 0;

  /// Number of elements (product of the shape; 1 for a scalar).
  std::uint64_t numel() const;
  /// Size in bytes.
  std::uint64_t nbytes() const { return end - begin; }
};

/// A parsed and validated header.
struct Header {
  /// Tensors in file order (ascending data offset).
  std::vector<TensorInfo> tensors;
  /// The free-form string map stored under "__metadata__".
  std::map<std::string, std::string> metadata;
  /// Bytes before the data section (8 + header length).
  std::uint64_t data_start = 0;
  /// Bytes of the data section.
  std::uint64_t data_size = 0;

  /// The entry for name, or nullptr.
  const TensorInfo* find(std::string_view name) const;
};

/// Largest header accepted (100 MB, as the reference implementation).
inline constexpr std::uint64_t kMaxHeaderBytes = 100'000'000;

/// Parses and validates a whole file's bytes; source names the file in error messages.
/// Throws FormatError on: short files, header length beyond the file, non-JSON or non-object
/// header, duplicate keys, unknown dtypes, bad shapes, offsets out of range, overlapping or
/// non-contiguous tensors, trailing bytes, and byte counts that do not match dtype x shape.
Header parse(std::span<const std::uint8_t> file, std::string_view source = "<memory>");

/// A read-only memory map of a whole file.
class MappedFile {
 public:
  /// Maps path; throws IoError when it cannot be opened or mapped.
  explicit MappedFile(const std::filesystem::path& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  /// The mapped bytes (empty for an empty file).
  std::span<const std::uint8_t> bytes() const { return {data_, size_}; }
  /// The file's path.
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  const std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
};

/// A tensor to serialise: raw little-endian bytes with dtype and shape.
struct RawTensor {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<std::int64_t> shape;
  std::span<const std::uint8_t> data;
};

/// Builds the header bytes (length prefix + JSON padded to 8 bytes) for tensors written in order.
/// Throws FormatError on duplicate or empty names and byte-count mismatches.
std::string serialize_header(const std::vector<RawTensor>& tensors,
                             const std::map<std::string, std::string>& metadata);

/// Writes a complete file atomically (temp + rename).
void write_file(const std::filesystem::path& path, const std::vector<RawTensor>& tensors,
                const std::map<std::string, std::string>& metadata = {});

}  // namespace clearsight::safetensors
