// `clearsight env list|info|rollout|render`: the MuJoCo environments from the command line.
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <random>

#include "clearsight/core/error.h"
#include "clearsight/core/image.h"
#include "clearsight/core/progress.h"
#include "clearsight/core/rng.h"
#include "clearsight/core/strings.h"
#include "clearsight/envs/pixel_env.h"
#include "commands.h"

namespace clearsight::cli {

envs::CameraPose parse_camera(const std::string& text) {
  const auto parts = split(text, ',');
  CS_CHECK_AS(ConfigError, parts.size() == 3, "--camera expects distance,azimuth,elevation, got '",
              text, "'");
  envs::CameraPose pose;
  try {
    pose = {std::stod(parts[0]), std::stod(parts[1]), std::stod(parts[2])};
  } catch (const std::exception&) {
    CS_THROW(ConfigError, "--camera expects three numbers, got '", text, "'");
  }
  return pose;
}

namespace {

using nlohmann::json;

json space_json(const envs::Box& box) {
  auto bound = [](double v) { return std::isfinite(v) ? json(v) : json(v > 0 ? "inf" : "-inf"); };
  json low = json::array(), high = json::array();
  for (double v : box.low) low.push_back(bound(v));
  for (double v : box.high) high.push_back(bound(v));
  return {{"shape", box.shape}, {"low", low}, {"high", high}};
}

/// Fills action with the policy's choice: "random" (uniform in bounds) or "zero".
void choose_action(const std::string& policy, const envs::Box& space, RngEngine& rng,
                   std::vector<double>& action) {
  for (std::size_t i = 0; i < action.size(); ++i) {
    if (policy == "zero") {
      action[i] = 0.0;
    } else {
      action[i] = std::uniform_real_distribution<double>(space.low[i], space.high[i])(rng);
    }
  }
}

int run_list(bool as_json) {
  const auto names = envs::env_names();
  if (as_json) {
    json out = json::array();
    for (const auto& n : names)
      out.push_back({{"name", n}, {"description", envs::env_description(n)}});
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  for (const auto& n : names)
    std::printf("%-16s %s\n", n.c_str(), envs::env_description(n).c_str());
  return 0;
}

int run_info(const std::string& name, bool as_json) {
  auto env = envs::make_mujoco_env(name);
  const auto& s = env->spec();
  const mjModel* m = env->model();
  json out = {{"name", s.name},
              {"description", s.description},
              {"observation_space", space_json(s.observation_space)},
              {"action_space", space_json(s.action_space)},
              {"dt", s.dt},
              {"frame_skip", s.frame_skip},
              {"timestep", m->opt.timestep},
              {"max_episode_steps", s.max_episode_steps},
              {"reward_terms", s.reward_terms},
              {"nq", m->nq},
              {"nv", m->nv},
              {"nu", m->nu},
              {"bodies", m->nbody}};
  if (as_json) {
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  std::printf("%s: %s\n", s.name.c_str(), s.description.c_str());
  std::printf("  observation  %lld values\n", static_cast<long long>(s.observation_space.size()));
  std::printf("  action       %lld values in [%g, %g]\n",
              static_cast<long long>(s.action_space.size()), s.action_space.low.at(0),
              s.action_space.high.at(0));
  std::printf("  dt           %g s (timestep %g x frame skip %d)\n", s.dt, m->opt.timestep,
              s.frame_skip);
  std::printf("  episode      %d steps\n", s.max_episode_steps);
  std::printf("  reward       %s\n", join(s.reward_terms, " + ").c_str());
  std::printf("  model        nq %d, nv %d, nu %d, %d bodies\n", m->nq, m->nv, m->nu, m->nbody);
  return 0;
}

int run_rollout(const std::string& name, const std::string& policy, int episodes,
                std::uint64_t seed, bool as_json) {
  CS_CHECK_AS(ConfigError, policy == "random" || policy == "zero", "unknown policy '", policy,
              "' (random, zero)");
  CS_CHECK_AS(ConfigError, episodes >= 1, "--episodes must be >= 1");
  auto env = envs::make_env(name);
  const auto& spec = env->spec();
  RngEngine rng(derive_seed(seed, "rollout-policy"));
  std::vector<double> obs(static_cast<std::size_t>(spec.observation_space.size()));
  std::vector<double> action(static_cast<std::size_t>(spec.action_space.size()));
  std::vector<double> returns;
  std::vector<int> lengths;
  ProgressBar bar(name, episodes, {.unit = "episodes"});
  for (int e = 0; e < episodes; ++e) {
    env->reset(derive_seed(seed, static_cast<std::uint64_t>(e)), obs);
    double total = 0;
    int length = 0;
    while (true) {
      choose_action(policy, spec.action_space, rng, action);
      const auto r = env->step(action, obs);
      total += r.reward;
      ++length;
      if (r.terminated || r.truncated) break;
    }
    returns.push_back(total);
    lengths.push_back(length);
    bar.advance();
  }
  bar.finish();
  double mean = 0, mean_len = 0;
  for (std::size_t i = 0; i < returns.size(); ++i) {
    mean += returns[i];
    mean_len += lengths[i];
  }
  mean /= returns.size();
  mean_len /= returns.size();
  double var = 0;
  for (double r : returns) var += (r - mean) * (r - mean);
  const double std_dev = std::sqrt(var / returns.size());
  const std::vector<std::int64_t> lengths64(lengths.begin(), lengths.end());
  if (as_json) {
    json out = {{"env", name}, {"policy", policy}, {"seed", seed}};
    out.update(episodes_json(returns, lengths64));
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  std::printf("%s, %s policy, %d episodes, seed %llu\n", name.c_str(), policy.c_str(), episodes,
              static_cast<unsigned long long>(seed));
  for (std::size_t i = 0; i < returns.size(); ++i) {
    std::printf("  episode %3zu  return %10.2f  length %4d\n", i, returns[i], lengths[i]);
  }
  std::printf("%s, mean length %.1f\n", episodes_line(returns).c_str(), mean_len);
  (void)std_dev;
  return 0;
}

struct RenderArgs {
  std::string env = "walker-walk";
  std::string camera = "3,90,-45";
  std::string policy = "random";
  std::string out;
  std::string backend = "auto";
  int frames = 100;
  int width = 64;
  int height = 64;
  int columns = 10;
  bool pretty = false;
};

int run_render(const RenderArgs& a, std::uint64_t seed) {
  CS_CHECK_AS(ConfigError, a.policy == "random" || a.policy == "zero", "unknown policy '", a.policy,
              "' (random, zero)");
  CS_CHECK_AS(ConfigError, a.frames >= 1 && a.frames <= 10000, "--frames must be in 1..10000");
  const std::filesystem::path out(a.out);
  const std::string ext = to_lower(out.extension().string());
  CS_CHECK_AS(ConfigError, ext == ".gif" || ext == ".png", "--out must end in .gif or .png, got '",
              a.out, "'");
  envs::PixelOptions options;
  options.render.width = a.width;
  options.render.height = a.height;
  options.render.backend = a.backend;
  options.render.shadows = options.render.reflections = options.render.multisample = a.pretty;
  options.camera = parse_camera(a.camera);
  envs::PixelEnv env(envs::make_mujoco_env(a.env), options);
  RngEngine rng(derive_seed(seed, "render-policy"));
  std::vector<std::uint8_t> pixels(env.observation_bytes());
  std::vector<double> action(static_cast<std::size_t>(env.spec().action_space.size()));
  std::vector<std::vector<std::uint8_t>> frames;
  env.reset(seed, pixels);
  frames.push_back(pixels);
  ProgressBar bar("render", a.frames, {.unit = "frames"});
  bar.advance();
  while (static_cast<int>(frames.size()) < a.frames) {
    choose_action(a.policy, env.spec().action_space, rng, action);
    const auto r = env.step(action, pixels);
    frames.push_back(pixels);
    if (r.terminated || r.truncated) env.reset(derive_seed(seed, frames.size()), pixels);
    bar.advance();
  }
  bar.finish();
  if (ext == ".gif") {
    write_gif(out, frames, a.width, a.height,
              static_cast<int>(std::lround(1000.0 * env.spec().dt)));
  } else {
    const auto tiled = tile_frames(frames, a.width, a.height, a.columns);
    write_png(out, tiled.pixels, tiled.width, tiled.height);
  }
  std::printf("wrote %s: %d frames of %dx%d from camera (%s) via %s\n", a.out.c_str(), a.frames,
              a.width, a.height, a.camera.c_str(), env.renderer().backend());
  return 0;
}

}  // namespace

void add_env_command(Context& context) {
  auto* group = context.app.add_subcommand("env", "MuJoCo locomotion environments");
  group->require_subcommand(1);

  auto* list = group->add_subcommand("list", "List the registered environments");
  auto list_json = std::make_shared<bool>(false);
  list->add_flag("--json", *list_json, "Print one JSON document");
  list->callback([&context, list_json] {
    context.action = [&context, list_json] {
      start_runtime(context.global);
      return run_list(*list_json);
    };
  });

  auto* info = group->add_subcommand("info", "Spaces, timing and reward terms of an environment");
  auto info_name = std::make_shared<std::string>();
  auto info_json = std::make_shared<bool>(false);
  info->add_option("NAME,--env", *info_name, "Environment name (positional or --env)")->required();
  info->add_flag("--json", *info_json, "Print one JSON document");
  info->callback([&context, info_name, info_json] {
    context.action = [&context, info_name, info_json] {
      start_runtime(context.global);
      return run_info(*info_name, *info_json);
    };
  });

  auto* rollout =
      group->add_subcommand("rollout", "Run a simple policy; print returns and lengths");
  struct RolloutArgs {
    std::string env = "Hopper-v4";
    std::string policy = "random";
    int episodes = 10;
    bool json = false;
  };
  auto r = std::make_shared<RolloutArgs>();
  rollout->add_option("--env", r->env, "Environment name")->default_val(r->env);
  rollout->add_option("--policy", r->policy, "random or zero")->default_val(r->policy);
  rollout->add_option("--episodes", r->episodes, "Episodes to run")->default_val(r->episodes);
  rollout->add_flag("--json", r->json, "Print one JSON document");
  rollout->callback([&context, r] {
    context.action = [&context, r] {
      start_runtime(context.global);
      return run_rollout(r->env, r->policy, r->episodes, context.global.runtime.seed, r->json);
    };
  });

  auto* render =
      group->add_subcommand("render", "Render what the agent sees to a GIF or PNG strip");
  auto a = std::make_shared<RenderArgs>();
  render->add_option("--env", a->env, "Environment name")->default_val(a->env);
  render->add_option("--camera", a->camera, "distance,azimuth,elevation")->default_val(a->camera);
  render->add_option("--frames", a->frames, "Frames to render")->default_val(a->frames);
  render->add_option("--out", a->out, "Output .gif (animation) or .png (strip)")->required();
  render->add_option("--width", a->width, "Frame width")->default_val(a->width);
  render->add_option("--height", a->height, "Frame height")->default_val(a->height);
  render->add_option("--columns", a->columns, "Frames per row of a PNG strip")
      ->default_val(a->columns);
  render->add_option("--policy", a->policy, "random or zero")->default_val(a->policy);
  render->add_option("--backend", a->backend, "auto, egl or osmesa")->default_val(a->backend);
  render->add_flag("--pretty", a->pretty, "Shadows, reflections and multisampling on");
  render->callback([&context, a] {
    context.action = [&context, a] {
      start_runtime(context.global);
      return run_render(*a, context.global.runtime.seed);
    };
  });
}

}  // namespace clearsight::cli
