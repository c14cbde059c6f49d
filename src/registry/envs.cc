// The explicit list of every environment ClearSight ships. Adding a task means adding it here.
#include "clearsight/core/registry.h"
#include "clearsight/envs/dmc_tasks.h"
#include "clearsight/envs/env.h"
#include "clearsight/envs/gym_tasks.h"
#include "clearsight/envs/pixel_env.h"

namespace clearsight::envs {
namespace {

const Registry<MujocoEnv>& registry() {
  static const Registry<MujocoEnv> instance = [] {
    Registry<MujocoEnv> r("environment");
    r.add(
        "Hopper-v4", [] { return std::make_unique<Hopper>(); },
        "one-legged hopper, 11-d obs, 3 actions (Gymnasium v4)");
    r.add(
        "HalfCheetah-v4", [] { return std::make_unique<HalfCheetah>(); },
        "planar cheetah, 17-d obs, 6 actions (Gymnasium v4)");
    r.add(
        "Walker2d-v4", [] { return std::make_unique<Walker2d>(); },
        "planar biped, 17-d obs, 6 actions (Gymnasium v4)");
    r.add(
        "Ant-v4", [] { return std::make_unique<Ant>(); },
        "quadruped, 27-d obs, 8 actions (Gymnasium v4)");
    r.add(
        "Swimmer-v4", [] { return std::make_unique<Swimmer>(); },
        "three-link swimmer, 8-d obs, 2 actions (Gymnasium v4)");
    r.add(
        "walker-walk", [] { return std::make_unique<WalkerWalk>(); },
        "DMC-style walker, reward in [0,1] per control step, action repeat 2");
    r.add(
        "cheetah-run", [] { return std::make_unique<CheetahRun>(); },
        "DMC-style cheetah, reward in [0,1] per control step, action repeat 2");
    return r;
  }();
  return instance;
}

}  // namespace

std::unique_ptr<MujocoEnv> make_mujoco_env(const std::string& name) {
  return registry().create(name);
}

std::unique_ptr<Env> make_env(const std::string& name) { return registry().create(name); }

std::vector<std::string> env_names() { return registry().names(); }

std::string env_description(const std::string& name) { return registry().description(name); }

}  // namespace clearsight::envs
