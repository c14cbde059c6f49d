#include "clearsight/core/safetensors.h"

#include <cstring>

#include "clearsight/core/error.h"
#include "clearsight/core/strings.h"

namespace clearsight::safetensors {

torch::ScalarType to_scalar_type(DType dtype) {
  switch (dtype) {
    case DType::kBool:
      return torch::kBool;
    case DType::kU8:
      return torch::kUInt8;
    case DType::kI8:
      return torch::kInt8;
    case DType::kI16:
      return torch::kInt16;
    case DType::kF16:
      return torch::kFloat16;
    case DType::kBF16:
      return torch::kBFloat16;
    case DType::kI32:
      return torch::kInt32;
    case DType::kF32:
      return torch::kFloat32;
    case DType::kF64:
      return torch::kFloat64;
    case DType::kI64:
      return torch::kInt64;
    case DType::kU16:
    case DType::kU32:
    case DType::kU64:
      break;
  }
  CS_THROW(FormatError, "dtype ", dtype_name(dtype), " has no LibTorch equivalent");
}

DType from_scalar_type(torch::ScalarType type) {
  switch (type) {
    case torch::kBool:
      return DType::kBool;
    case torch::kUInt8:
      return DType::kU8;
    case torch::kInt8:
      return DType::kI8;
    case torch::kInt16:
      return DType::kI16;
    case torch::kFloat16:
      return DType::kF16;
    case torch::kBFloat16:
      return DType::kBF16;
    case torch::kInt32:
      return DType::kI32;
    case torch::kFloat32:
      return DType::kF32;
    case torch::kFloat64:
      return DType::kF64;
    case torch::kInt64:
      return DType::kI64;
    default:
      break;
  }
  CS_THROW(FormatError, "torch dtype ", c10::toString(type), " cannot be stored in safetensors");
}

File File::open(const std::filesystem::path& path) {
  auto mapping = std::make_shared<MappedFile>(path);
  Header header = parse(mapping->bytes(), path.string());
  return File(std::move(mapping), std::move(header));
}

std::vector<std::string> File::names() const {
  std::vector<std::string> out;
  out.reserve(header_.tensors.size());
  for (const auto& t : header_.tensors) out.push_back(t.name);
  return out;
}

torch::Tensor File::get(const std::string& name, bool copy) const {
  const TensorInfo* info = header_.find(name);
  if (info == nullptr) {
    const std::string hint = did_you_mean(name, names());
    CS_THROW(UnknownNameError, "'", mapping_->path().string(), "' has no tensor '", name, "'",
             hint.empty() ? "" : "; " + hint);
  }
  const auto type = to_scalar_type(info->dtype);
  const std::uint8_t* data = mapping_->bytes().data() + header_.data_start + info->begin;
  const auto options = torch::TensorOptions().dtype(type);
  const bool aligned = reinterpret_cast<std::uintptr_t>(data) % dtype_size(info->dtype) == 0;
  if (!copy && aligned && info->nbytes() > 0) {
    auto keep_alive = mapping_;
    // The mapping is read-only: the tensor must not be written to (the CLI and library only read).
    return torch::from_blob(
        const_cast<std::uint8_t*>(data), info->shape,
        [keep_alive](void*) mutable { keep_alive.reset(); }, options);
  }
  auto out = torch::empty(info->shape, options);
  if (info->nbytes() > 0) std::memcpy(out.data_ptr(), data, info->nbytes());
  return out;
}

torch::Tensor File::get(const std::string& name, const std::vector<std::int64_t>& expected_shape,
                        bool copy) const {
  auto tensor = get(name, copy);
  CS_CHECK_AS(ShapeError, tensor.sizes().vec() == expected_shape, "'", mapping_->path().string(),
              "': tensor '", name, "' has shape ", tensor.sizes(), ", expected ",
              c10::IntArrayRef(expected_shape));
  return tensor;
}

std::map<std::string, torch::Tensor> File::all(bool copy) const {
  std::map<std::string, torch::Tensor> out;
  for (const auto& t : header_.tensors) out.emplace(t.name, get(t.name, copy));
  return out;
}

std::map<std::string, torch::Tensor> load(const std::filesystem::path& path) {
  return File::open(path).all(/*copy=*/true);
}

void save(const std::filesystem::path& path,
          const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
          const std::map<std::string, std::string>& metadata) {
  std::vector<torch::Tensor> keep;
  std::vector<RawTensor> raw;
  keep.reserve(tensors.size());
  raw.reserve(tensors.size());
  for (const auto& [name, tensor] : tensors) {
    CS_CHECK_AS(FormatError, tensor.defined(), "tensor '", name, "' is undefined");
    keep.push_back(tensor.detach().to(torch::kCPU).contiguous());
    const auto& t = keep.back();
    RawTensor r;
    r.name = name;
    r.dtype = from_scalar_type(t.scalar_type());
    r.shape = t.sizes().vec();
    r.data = {static_cast<const std::uint8_t*>(t.data_ptr()),
              static_cast<std::size_t>(t.numel() * t.element_size())};
    raw.push_back(std::move(r));
  }
  write_file(path, raw, metadata);
}

void save_map(const std::filesystem::path& path,
              const std::map<std::string, torch::Tensor>& tensors,
              const std::map<std::string, std::string>& metadata) {
  save(path, std::vector<std::pair<std::string, torch::Tensor>>(tensors.begin(), tensors.end()),
       metadata);
}

}  // namespace clearsight::safetensors
