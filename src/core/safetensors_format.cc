#include "clearsight/core/safetensors_format.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "clearsight/core/atomic_file.h"
#include "clearsight/core/error.h"

namespace clearsight::safetensors {

static_assert(std::endian::native == std::endian::little,
              "safetensors stores little-endian data; big-endian hosts are not supported");

namespace {

using Json = nlohmann::json;

struct DTypeRow {
  DType dtype;
  std::string_view name;
  std::size_t size;
};

constexpr DTypeRow kDTypes[] = {
    {DType::kBool, "BOOL", 1}, {DType::kU8, "U8", 1},   {DType::kI8, "I8", 1},
    {DType::kI16, "I16", 2},   {DType::kU16, "U16", 2}, {DType::kF16, "F16", 2},
    {DType::kBF16, "BF16", 2}, {DType::kI32, "I32", 4}, {DType::kU32, "U32", 4},
    {DType::kF32, "F32", 4},   {DType::kF64, "F64", 8}, {DType::kI64, "I64", 8},
    {DType::kU64, "U64", 8},
};

std::string known_dtypes() {
  std::string out;
  for (const auto& row : kDTypes) {
    if (!out.empty()) out += ", ";
    out += row.name;
  }
  return out;
}

// Reads a JSON integer that must be a non-negative value fitting in uint64.
bool read_u64(const Json& value, std::uint64_t& out) {
  if (value.is_number_unsigned()) {
    out = value.get<std::uint64_t>();
    return true;
  }
  if (value.is_number_integer()) {
    const auto v = value.get<std::int64_t>();
    if (v < 0) return false;
    out = static_cast<std::uint64_t>(v);
    return true;
  }
  return false;
}

// Parses JSON and reports the first duplicate key at any depth.
Json parse_json_no_duplicates(std::string_view text, std::string_view source) {
  std::vector<std::set<std::string>> keys_stack;
  std::string duplicate;
  int duplicate_depth = -1;
  auto callback = [&](int depth, Json::parse_event_t event, Json& parsed) {
    switch (event) {
      case Json::parse_event_t::object_start:
        keys_stack.emplace_back();
        break;
      case Json::parse_event_t::object_end:
        if (!keys_stack.empty()) keys_stack.pop_back();
        break;
      case Json::parse_event_t::key:
        if (!keys_stack.empty() && duplicate.empty()) {
          const std::string key = parsed.get<std::string>();
          if (!keys_stack.back().insert(key).second) {
            duplicate = key;
            duplicate_depth = depth;
          }
        }
        break;
      default:
        break;
    }
    return true;
  };
  Json header;
  try {
    header = Json::parse(text.begin(), text.end(), callback);
  } catch (const Json::exception& e) {
    CS_THROW(FormatError, "'", source, "': header is not valid JSON (", e.what(), ")");
  }
  CS_CHECK_AS(FormatError, duplicate.empty(), "'", source, "': header has the key '", duplicate,
              "' twice", duplicate_depth <= 1 ? " (duplicate tensor name)" : "");
  return header;
}

TensorInfo parse_entry(const std::string& name, const Json& entry, std::string_view source) {
  auto fail = [&](const auto&... what) -> void {
    CS_THROW(FormatError, "'", source, "': tensor '", name, "': ", what...);
  };
  TensorInfo info;
  info.name = name;
  if (name.empty()) fail("tensor names must not be empty");
  if (!entry.is_object()) fail("expected an object with dtype, shape and data_offsets");
  for (auto it = entry.begin(); it != entry.end(); ++it) {
    if (it.key() != "dtype" && it.key() != "shape" && it.key() != "data_offsets") {
      fail("unexpected key '", it.key(), "' (expected dtype, shape, data_offsets)");
    }
  }
  const auto dtype_it = entry.find("dtype");
  if (dtype_it == entry.end() || !dtype_it->is_string()) fail("missing string 'dtype'");
  const auto dtype = parse_dtype(dtype_it->get_ref<const std::string&>());
  if (!dtype) {
    fail("unknown dtype '", dtype_it->get_ref<const std::string&>(), "' (expected one of ",
         known_dtypes(), ")");
  }
  info.dtype = *dtype;

  const auto shape_it = entry.find("shape");
  if (shape_it == entry.end() || !shape_it->is_array()) fail("missing array 'shape'");
  if (shape_it->size() > 64) fail("shape has ", shape_it->size(), " dimensions (at most 64)");
  for (const auto& dim : *shape_it) {
    std::uint64_t d = 0;
    if (!read_u64(dim, d) ||
        d > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      fail("shape entries must be non-negative integers, got ", dim.dump());
    info.shape.push_back(static_cast<std::int64_t>(d));
  }

  const auto offsets_it = entry.find("data_offsets");
  if (offsets_it == entry.end() || !offsets_it->is_array() || offsets_it->size() != 2)
    fail("missing 'data_offsets' [begin, end]");
  if (!read_u64((*offsets_it)[0], info.begin) || !read_u64((*offsets_it)[1], info.end))
    fail("data_offsets must be non-negative integers, got ", offsets_it->dump());
  if (info.begin > info.end) fail("data_offsets begin ", info.begin, " is after end ", info.end);
  return info;
}

}  // namespace

std::string_view dtype_name(DType dtype) {
  for (const auto& row : kDTypes)
    if (row.dtype == dtype) return row.name;
  return "?";
}

std::optional<DType> parse_dtype(std::string_view name) {
  for (const auto& row : kDTypes)
    if (row.name == name) return row.dtype;
  return std::nullopt;
}

std::size_t dtype_size(DType dtype) {
  for (const auto& row : kDTypes)
    if (row.dtype == dtype) return row.size;
  return 0;
}

std::uint64_t TensorInfo::numel() const {
  std::uint64_t n = 1;
  for (auto d : shape) n *= static_cast<std::uint64_t>(d);
  return n;
}

const TensorInfo* Header::find(std::string_view name) const {
  for (const auto& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}

Header parse(std::span<const std::uint8_t> file, std::string_view source) {
  CS_CHECK_AS(FormatError, file.size() >= 8, "'", source, "': file is ", file.size(),
              " bytes; a safetensors file starts with an 8-byte header length");
  std::uint64_t header_len = 0;
  std::memcpy(&header_len, file.data(), 8);
  CS_CHECK_AS(FormatError, header_len > 0, "'", source, "': header length is 0");
  CS_CHECK_AS(FormatError, header_len <= kMaxHeaderBytes, "'", source, "': header length ",
              header_len, " exceeds the ", kMaxHeaderBytes, "-byte limit (corrupt file?)");
  CS_CHECK_AS(FormatError, header_len <= file.size() - 8, "'", source, "': header length ",
              header_len, " is larger than the ", file.size() - 8,
              " bytes that follow it (truncated file?)");
  const std::string_view text(reinterpret_cast<const char*>(file.data() + 8), header_len);
  CS_CHECK_AS(FormatError, text.front() == '{', "'", source,
              "': header does not start with '{' (not a safetensors file?)");

  const Json json = parse_json_no_duplicates(text, source);
  CS_CHECK_AS(FormatError, json.is_object(), "'", source, "': header is not a JSON object");

  Header header;
  header.data_start = 8 + header_len;
  header.data_size = file.size() - header.data_start;
  for (auto it = json.begin(); it != json.end(); ++it) {
    if (it.key() == "__metadata__") {
      CS_CHECK_AS(FormatError, it->is_object(), "'", source,
                  "': __metadata__ must be an object of strings");
      for (auto m = it->begin(); m != it->end(); ++m) {
        CS_CHECK_AS(FormatError, m->is_string(), "'", source, "': __metadata__ value of '", m.key(),
                    "' must be a string, got ", m->dump());
        header.metadata[m.key()] = m->get<std::string>();
      }
      continue;
    }
    header.tensors.push_back(parse_entry(it.key(), *it, source));
  }

  for (const auto& t : header.tensors) {
    CS_CHECK_AS(FormatError, t.end <= header.data_size, "'", source, "': tensor '", t.name,
                "' data_offsets [", t.begin, ", ", t.end, "] go past the ", header.data_size,
                "-byte data section (truncated file?)");
    // Element count with overflow check: it must fit in the byte range already bounded above.
    const std::uint64_t item = dtype_size(t.dtype);
    const bool has_zero_dim = std::find(t.shape.begin(), t.shape.end(), 0) != t.shape.end();
    std::uint64_t numel = has_zero_dim ? 0 : 1;
    bool overflow = false;
    for (auto d : t.shape) {
      if (has_zero_dim || overflow) break;
      const auto ud = static_cast<std::uint64_t>(d);
      if (numel > std::numeric_limits<std::uint64_t>::max() / item / ud) overflow = true;
      numel *= ud;
    }
    CS_CHECK_AS(FormatError, !overflow && numel * item == t.nbytes(), "'", source, "': tensor '",
                t.name, "' has ", t.nbytes(), " bytes but dtype ", dtype_name(t.dtype),
                " x shape needs ",
                overflow ? std::string("more than 2^64") : std::to_string(numel * item));
  }

  std::stable_sort(header.tensors.begin(), header.tensors.end(),
                   [](const TensorInfo& a, const TensorInfo& b) {
                     return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
                   });
  std::uint64_t cursor = 0;
  const TensorInfo* previous = nullptr;
  for (const auto& t : header.tensors) {
    CS_CHECK_AS(FormatError, t.begin >= cursor, "'", source, "': tensors '",
                previous ? previous->name : "", "' and '", t.name, "' overlap (bytes ", t.begin,
                "..", cursor, ")");
    CS_CHECK_AS(FormatError, t.begin == cursor, "'", source, "': ", t.begin - cursor,
                " unused bytes before tensor '", t.name, "' (offsets must be contiguous)");
    cursor = t.end;
    previous = &t;
  }
  CS_CHECK_AS(FormatError, cursor == header.data_size, "'", source,
              "': ", header.data_size - cursor, " trailing bytes after the last tensor");
  return header;
}

MappedFile::MappedFile(const std::filesystem::path& path) : path_(path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  CS_CHECK_AS(IoError, fd >= 0, "cannot open '", path.string(), "': ", std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    CS_THROW(IoError, "'", path.string(), "' is not a regular file");
  }
  size_ = static_cast<std::size_t>(st.st_size);
  if (size_ > 0) {
    // Private and writable: tensors viewing the mapping may be written (copy-on-write); the
    // file never changes.
    void* data = ::mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    if (data == MAP_FAILED) {
      const int err = errno;
      ::close(fd);
      CS_THROW(IoError, "cannot map '", path.string(), "': ", std::strerror(err));
    }
    data_ = static_cast<const std::uint8_t*>(data);
  }
  ::close(fd);
}

MappedFile::~MappedFile() {
  if (data_ != nullptr) ::munmap(const_cast<std::uint8_t*>(data_), size_);
}

std::string serialize_header(const std::vector<RawTensor>& tensors,
                             const std::map<std::string, std::string>& metadata) {
  Json header = Json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::set<std::string> names;
  std::uint64_t offset = 0;
  for (const auto& t : tensors) {
    CS_CHECK_AS(FormatError, !t.name.empty() && t.name != "__metadata__", "invalid tensor name '",
                t.name, "'");
    CS_CHECK_AS(FormatError, names.insert(t.name).second, "tensor name '", t.name,
                "' appears twice");
    std::uint64_t numel = 1;
    for (auto d : t.shape) {
      CS_CHECK_AS(FormatError, d >= 0, "tensor '", t.name, "' has a negative dimension");
      numel *= static_cast<std::uint64_t>(d);
    }
    CS_CHECK_AS(FormatError, numel * dtype_size(t.dtype) == t.data.size(), "tensor '", t.name,
                "': ", t.data.size(), " bytes given but dtype x shape needs ",
                numel * dtype_size(t.dtype));
    header[t.name] = {{"dtype", std::string(dtype_name(t.dtype))},
                      {"shape", t.shape},
                      {"data_offsets", {offset, offset + t.data.size()}}};
    offset += t.data.size();
  }
  std::string json = header.dump();
  json.append((8 - (json.size() % 8)) % 8, ' ');  // Keep the data section 8-byte aligned.
  std::string out(8, '\0');
  const std::uint64_t len = json.size();
  std::memcpy(out.data(), &len, 8);
  return out + json;
}

void write_file(const std::filesystem::path& path, const std::vector<RawTensor>& tensors,
                const std::map<std::string, std::string>& metadata) {
  const std::string header = serialize_header(tensors, metadata);
  AtomicFile file(path);
  file.write(header);
  for (const auto& t : tensors) file.write(t.data.data(), t.data.size());
  file.commit();
}

}  // namespace clearsight::safetensors
