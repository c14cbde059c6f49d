// Saving and restoring module parameters (safetensors) and optimiser state (LibTorch archives),
// with checks that name what does not fit.
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <map>
#include <string>

namespace clearsight::nn {

/// Saves every named parameter and buffer of module to path (safetensors, atomically).
void save_parameters(const torch::nn::Module& module, const std::filesystem::path& path,
                     const std::map<std::string, std::string>& metadata = {});
/// Loads parameters and buffers saved by save_parameters into module; a missing, extra or
/// wrongly shaped tensor throws FormatError/ShapeError naming it.
void load_parameters(torch::nn::Module& module, const std::filesystem::path& path);
/// Saves an optimiser's state to path (atomically).
void save_optimizer(torch::optim::Optimizer& optimizer, const std::filesystem::path& path);
/// Restores an optimiser's state; throws IoError/FormatError.
void load_optimizer(torch::optim::Optimizer& optimizer, const std::filesystem::path& path);
/// The default CPU generator's state (for exact resumption).
torch::Tensor get_rng_state();
/// Restores a state returned by get_rng_state.
void set_rng_state(const torch::Tensor& state);

}  // namespace clearsight::nn
