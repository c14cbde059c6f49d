// safetensors files to and from torch::Tensor, memory-mapped on read.
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "clearsight/core/safetensors_format.h"

namespace clearsight::safetensors {

/// The torch dtype for a format dtype; throws FormatError when LibTorch has no equivalent.
torch::ScalarType to_scalar_type(DType dtype);

/// The format dtype for a torch dtype; throws FormatError for unsupported ones (complex...).
DType from_scalar_type(torch::ScalarType type);

/// An open, validated, memory-mapped safetensors file.
class File {
 public:
  /// Opens and validates path; throws IoError or FormatError.
  static File open(const std::filesystem::path& path);

  /// The validated header.
  const Header& header() const { return header_; }
  /// Tensor names in file order.
  std::vector<std::string> names() const;
  /// Whether a tensor of that name exists.
  bool contains(const std::string& name) const { return header_.find(name) != nullptr; }
  /// The "__metadata__" map.
  const std::map<std::string, std::string>& metadata() const { return header_.metadata; }

  /// The named tensor. With copy = false and an aligned buffer the tensor views the mapping
  /// (kept alive by the tensor); otherwise it owns a copy. Throws UnknownNameError.
  torch::Tensor get(const std::string& name, bool copy = true) const;
  /// The named tensor checked against an expected shape; throws ShapeError on mismatch.
  torch::Tensor get(const std::string& name, const std::vector<std::int64_t>& expected_shape,
                    bool copy = true) const;
  /// Every tensor, by name.
  std::map<std::string, torch::Tensor> all(bool copy = true) const;

 private:
  File(std::shared_ptr<MappedFile> mapping, Header header)
      : mapping_(std::move(mapping)), header_(std::move(header)) {}
  std::shared_ptr<MappedFile> mapping_;
  Header header_;
};

/// Loads every tensor of a file (copies; the file is unmapped on return).
std::map<std::string, torch::Tensor> load(const std::filesystem::path& path);

/// Saves tensors (moved to CPU, made contiguous) in the given order, atomically.
void save(const std::filesystem::path& path,
          const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
          const std::map<std::string, std::string>& metadata = {});

/// Saves a name -> tensor map (in name order), atomically.
void save_map(const std::filesystem::path& path,
              const std::map<std::string, torch::Tensor>& tensors,
              const std::map<std::string, std::string>& metadata = {});

}  // namespace clearsight::safetensors
