#include "clearsight/nn/module_io.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/Generator.h>

#include <mutex>
#include <set>
#include <sstream>

#include "clearsight/core/atomic_file.h"
#include "clearsight/core/error.h"
#include "clearsight/core/safetensors.h"

namespace clearsight::nn {

namespace {

std::map<std::string, torch::Tensor> named_state(const torch::nn::Module& module) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& p : module.named_parameters()) out[p.key()] = p.value();
  for (const auto& b : module.named_buffers()) out[b.key()] = b.value();
  return out;
}

}  // namespace

void save_parameters(const torch::nn::Module& module, const std::filesystem::path& path,
                     const std::map<std::string, std::string>& metadata) {
  std::map<std::string, torch::Tensor> tensors;
  for (const auto& [name, t] : named_state(module)) tensors[name] = t.detach();
  safetensors::save_map(path, tensors, metadata);
}

void load_parameters(torch::nn::Module& module, const std::filesystem::path& path) {
  const auto file = safetensors::File::open(path);
  auto state = named_state(module);
  std::set<std::string> expected;
  for (const auto& [name, t] : state) expected.insert(name);
  for (const auto& name : file.names()) {
    CS_CHECK_AS(FormatError, expected.count(name), "'", path.string(), "' has tensor '", name,
                "' that the module does not have");
  }
  torch::NoGradGuard no_grad;
  for (auto& [name, t] : state) {
    CS_CHECK_AS(FormatError, file.contains(name), "'", path.string(), "' lacks tensor '", name,
                "'");
    const auto loaded = file.get(name, t.sizes().vec());
    CS_CHECK_AS(NumericError, torch::isfinite(loaded.to(torch::kFloat64)).all().item<bool>(), "'",
                path.string(), "': tensor '", name, "' holds NaN or Inf");
    t.copy_(loaded);
  }
}

void save_optimizer(torch::optim::Optimizer& optimizer, const std::filesystem::path& path) {
  torch::serialize::OutputArchive archive;
  optimizer.save(archive);
  std::ostringstream bytes;
  archive.save_to(bytes);
  atomic_write(path, bytes.str());
}

void load_optimizer(torch::optim::Optimizer& optimizer, const std::filesystem::path& path) {
  const std::string bytes = read_file(path);
  try {
    torch::serialize::InputArchive archive;
    std::istringstream stream(bytes);
    archive.load_from(stream);
    optimizer.load(archive);
  } catch (const c10::Error& e) {
    CS_THROW(FormatError, "optimiser state '", path.string(),
             "' is corrupt: ", e.what_without_backtrace());
  }
}

torch::Tensor get_rng_state() {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return gen.get_state();
}

void set_rng_state(const torch::Tensor& state) {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  try {
    gen.set_state(state);
  } catch (const c10::Error& e) {
    CS_THROW(FormatError, "invalid generator state: ", e.what_without_backtrace());
  }
}

}  // namespace clearsight::nn
