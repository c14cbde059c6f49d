// Writing policy directories (the format load_policy reads).
#pragma once

#include <torch/torch.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "clearsight/envs/normalize.h"

namespace clearsight::rl {

/// Writes dir/policy.json (info plus format and obs_norm fields), dir/actor.safetensors and,
/// when obs_stats is given, dir/obs_norm.safetensors. info needs env, algo, actor
/// ("tanh_gaussian" or "gaussian"), hidden, obs_size and act_size.
void save_policy(const std::filesystem::path& dir, const nlohmann::json& info,
                 const torch::nn::Module& actor, const envs::RunningMeanStd* obs_stats);

}  // namespace clearsight::rl
