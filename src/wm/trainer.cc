#include "clearsight/wm/trainer.h"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <deque>
#include <limits>
#include <numeric>
#include <random>
#include <sstream>

#include "clearsight/core/atomic_file.h"
#include "clearsight/core/checkpoint.h"
#include "clearsight/core/config.h"
#include "clearsight/core/error.h"
#include "clearsight/core/image.h"
#include "clearsight/core/interrupt.h"
#include "clearsight/core/log.h"
#include "clearsight/core/progress.h"
#include "clearsight/core/resume.h"
#include "clearsight/core/rng.h"
#include "clearsight/core/run_dir.h"
#include "clearsight/core/safetensors.h"
#include "clearsight/envs/pixel_env.h"
#include "clearsight/il/demos.h"
#include "clearsight/nn/module_io.h"
#include "clearsight/version.h"
#include "clearsight/wm/loop.h"

namespace clearsight::wm {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

envs::PixelOptions pixel_options(const WmTrainConfig& c) {
  envs::PixelOptions o;
  o.render.width = static_cast<int>(c.model.image_size);
  o.render.height = static_cast<int>(c.model.image_size);
  o.render.backend = c.render_backend;
  o.camera = config_camera(c);
  return o;
}

std::vector<float> to_float(std::span<const double> x) { return {x.begin(), x.end()}; }

}  // namespace

envs::CameraPose config_camera(const WmTrainConfig& c) {
  CS_CHECK_AS(ConfigError, c.camera.size() == 3, "camera must be [distance, azimuth, elevation]");
  return {c.camera[0], c.camera[1], c.camera[2]};
}

double WmEvalStats::mean() const {
  if (returns.empty()) return 0.0;
  return std::accumulate(returns.begin(), returns.end(), 0.0) / static_cast<double>(returns.size());
}

double WmEvalStats::stddev() const {
  if (returns.size() < 2) return 0.0;
  const double m = mean();
  double s = 0;
  for (double r : returns) s += (r - m) * (r - m);
  return std::sqrt(s / static_cast<double>(returns.size()));
}

WmEvalStats evaluate_agent(WorldModelAgent& agent, const WmTrainConfig& config, int episodes,
                           std::uint64_t seed, std::vector<std::vector<std::uint8_t>>* frames) {
  envs::PixelEnv env(envs::make_mujoco_env(config.env), pixel_options(config));
  std::vector<std::uint8_t> frame(env.observation_bytes());
  std::vector<double> action(static_cast<std::size_t>(agent.action_size()));
  WmEvalStats stats;
  for (int e = 0; e < episodes; ++e) {
    env.reset(derive_seed(seed, static_cast<std::uint64_t>(e)), frame);
    auto filter = agent.initial_filter();
    double total = 0;
    std::int64_t length = 0;
    if (frames != nullptr && e == 0) frames->push_back(frame);
    while (true) {
      agent.act(filter, frame, {}, false, action);
      const auto r = env.step(action, frame);
      total += r.reward;
      ++length;
      if (frames != nullptr && e == 0) frames->push_back(frame);
      if (r.terminated || r.truncated) break;
      if (config.episode_steps > 0 && length >= config.episode_steps) break;
    }
    stats.returns.push_back(total);
    stats.lengths.push_back(length);
  }
  return stats;
}

void write_scaled_gif(const fs::path& path, const std::vector<std::vector<std::uint8_t>>& frames,
                      int width, int height, int scale, int delay_ms, const fs::path& png) {
  std::vector<std::vector<std::uint8_t>> scaled;
  scaled.reserve(frames.size());
  const int w = width * scale, h = height * scale;
  for (const auto& f : frames) {
    CS_CHECK(f.size() == static_cast<std::size_t>(width * height * 3), "frame of ", f.size(),
             " bytes, expected ", width * height * 3);
    std::vector<std::uint8_t> out(static_cast<std::size_t>(w * h * 3));
    for (int y = 0; y < h; ++y) {
      for (int x = 0; x < w; ++x) {
        const auto* src = &f[static_cast<std::size_t>(((y / scale) * width + x / scale) * 3)];
        std::copy(src, src + 3, &out[static_cast<std::size_t>((y * w + x) * 3)]);
      }
    }
    scaled.push_back(std::move(out));
  }
  write_gif(path, scaled, w, h, delay_ms);
  if (!png.empty() && !scaled.empty()) write_png(png, scaled.back(), w, h);
}

double write_open_loop(WorldModelAgent& agent, const SequenceBatch& windows, std::int64_t context,
                       const fs::path& gif) {
  const auto predicted = agent.model()->open_loop(windows, context);  // [B, T, 3, S, S]
  const auto truth = windows.images;                                  // [B, T, S, S, 3]
  const auto model = postprocess_frames(predicted);
  const auto error = (truth.to(torch::kInt16) - model.to(torch::kInt16)).abs().to(torch::kUInt8);
  const auto b = truth.size(0), t = truth.size(1), s = truth.size(2);
  // One frame per time step: rows truth / model / error, one column per window.
  const auto grid = torch::stack({truth, model, error}, 0)  // [3, B, T, S, S, 3]
                        .permute({2, 0, 3, 1, 4, 5})        // [T, 3, S, B, S, 3]
                        .reshape({t, 3 * s, b * s, 3})
                        .contiguous();
  std::vector<std::vector<std::uint8_t>> frames;
  for (std::int64_t i = 0; i < t; ++i) {
    const auto f = grid[i];
    frames.emplace_back(f.data_ptr<std::uint8_t>(), f.data_ptr<std::uint8_t>() + f.numel());
  }
  auto png = gif;
  png.replace_extension(".png");
  write_scaled_gif(gif, frames, static_cast<int>(b * s), static_cast<int>(3 * s), s < 64 ? 2 : 1,
                   100, png);
  const auto diff = predicted.narrow(1, context, t - context) -
                    preprocess_frames(truth.narrow(1, context, t - context));
  return diff.pow(2).mean().item<double>();
}

std::pair<WmTrainConfig, std::unique_ptr<WorldModelAgent>> load_wm_run(const fs::path& run_dir,
                                                                       bool best) {
  CS_CHECK_AS(IoError, fs::exists(run_dir / "config.json"), "'", run_dir.string(),
              "' is not a world-model run directory (no config.json)");
  const auto run = RunDir::open(run_dir);
  const auto recorded = run.read_config();
  CS_CHECK_AS(FormatError, recorded.contains("wm"), "'", run_dir.string(),
              "/config.json' is not a world-model run's config (no \"wm\" section)");
  auto config = clearsight::config::from_json<WmTrainConfig>(recorded["wm"], "wm");
  const fs::path dir = run_dir / (best ? "best" : "agent");
  CS_CHECK_AS(IoError, fs::exists(dir / "world_model.safetensors"), "'", run_dir.string(),
              "' holds no trained networks yet (", dir.filename().string(),
              "/ appears at the first evaluation)");
  const auto spec = envs::make_env(config.env)->spec();
  auto agent =
      std::make_unique<WorldModelAgent>(config.model, config.behavior, spec.action_space.size(), 0);
  agent->load_networks(dir);
  return {config, std::move(agent)};
}

WmTrainResult train_wm(const WmTrainConfig& requested, const fs::path& run_path) {
  const RunDir run = RunDir::at(run_path);
  WmTrainConfig config = requested;
  const fs::path resume = find_checkpoint_dir(run.path(), "checkpoint", "trainer_state.json");
  if (!resume.empty()) {
    const auto recorded = run.read_config();
    config = clearsight::config::from_json<WmTrainConfig>(recorded["wm"], "wm");
    check_resume_settings(run.path(), "wm", clearsight::config::to_json(config),
                          clearsight::config::to_json(requested), {"steps"});
    // Runs recorded before the hashes existed have none to check.
    check_inputs_unchanged(run.path(), "demonstration file",
                           recorded.value("demos_hashes", nlohmann::json::object()));
    config.steps = std::max(config.steps, requested.steps);
  } else if (fs::exists(run.path() / "replay")) {
    // Left by a run killed before its first checkpoint: it is regenerated from the seed.
    log::warn("{}: discarding a replay without a checkpoint", run.path().string());
    fs::remove_all(run.path() / "replay");
  }
  config.stop_after = requested.stop_after;
  config.validate();
  run.write_config({{"wm", clearsight::config::to_json(config)},
                    {"demos_hashes", input_hashes(config.demos)},
                    {"clearsight_version", kVersion}});
  if (resume.empty()) seed_everything(config.seed);

  envs::PixelEnv env(envs::make_mujoco_env(config.env), pixel_options(config));
  const auto& spec = env.spec();
  const auto action_size = spec.action_space.size();
  const auto size = config.model.image_size;
  WorldModelAgent agent(config.model, config.behavior, action_size, 0);
  SequenceReplay replay(run.path() / "replay");
  EpisodeBuilder open(size, size, action_size, 0);
  LoopState state;
  RngEngine sample_rng(derive_seed(config.seed, "replay"));
  RngEngine prefill_rng(derive_seed(config.seed, "prefill"));
  std::vector<std::uint8_t> frame(env.observation_bytes());
  std::vector<double> action(static_cast<std::size_t>(action_size));
  const std::vector<float> zero_action(static_cast<std::size_t>(action_size), 0.0f);
  FilterState filter = agent.initial_filter();

  if (resume.empty()) {
    for (const auto& file : config.demos) {
      const auto demos = il::load_demos(file, config.env);
      for (auto& e : demo_episodes(demos, config.demo_view, size, action_size, "demo:" + file)) {
        replay.add(std::move(e));
      }
      log::info("demos {}: {} episodes join the replay", file, demos.episodes());
    }
    env.reset(derive_seed(config.seed, std::uint64_t{0}), frame);
    open.add(frame, zero_action, 0.0f, {}, false);
  } else {
    Json j;
    try {
      j = Json::parse(read_file(resume / "trainer_state.json"));
      state.from_json(j.at("loop"));
      rng_from_string(sample_rng, j.at("sample_rng").get<std::string>());
      rng_from_string(prefill_rng, j.at("prefill_rng").get<std::string>());
    } catch (const nlohmann::json::exception& e) {
      CS_THROW(FormatError, "'", (resume / "trainer_state.json").string(),
               "' is malformed: ", e.what());
    }
    agent.load(resume / "agent");
    filter = load_filter(resume / "filter.safetensors");
    replay.load_directory(j.at("replay_episodes").get<std::int64_t>());
    open.assign(load_episode(resume / "open_episode.safetensors"));
    env.env().load_state(read_file(resume / "env_state.bin"));
    const auto last = open.episode().images[open.length() - 1].contiguous();
    std::copy(last.data_ptr<std::uint8_t>(), last.data_ptr<std::uint8_t>() + last.numel(),
              frame.begin());
    nn::set_rng_state(safetensors::File::open(resume / "rng.safetensors").get("torch_cpu"));
    log::info("resuming {} at step {} ({} episodes in the replay)", run.path().string(), state.step,
              replay.episodes());
    // Rows a killed process logged after this checkpoint are logged again from here.
    run.cut_metrics_after(state.step);
  }

  const auto checkpoint = [&] {
    write_checkpoint_dir(run.path(), "checkpoint", [&](const fs::path& dir) {
      agent.save(dir / "agent");
      save_filter(dir / "filter.safetensors", filter);
      save_episode(dir / "open_episode.safetensors", open.episode());
      safetensors::save(dir / "rng.safetensors", {{"torch_cpu", nn::get_rng_state()}});
      Json j{{"loop", state.to_json()},
             {"sample_rng", rng_to_string(sample_rng)},
             {"prefill_rng", rng_to_string(prefill_rng)},
             {"replay_episodes", replay.episodes()},
             {"clearsight_version", kVersion}};
      atomic_write(dir / "env_state.bin", env.env().save_state());
      atomic_write(dir / "trainer_state.json", j.dump() + "\n");
    });
  };

  // Frames in Dreamer's sense are control steps: 1000 per episode on the DMC-style tasks, whose
  // environment steps repeat each action (walker-walk: 500 steps of 2).
  const auto control_steps_per_step =
      std::max<std::int64_t>(1, 1000 / std::max<std::int64_t>(1, spec.max_episode_steps));
  const auto frames_of = [&](std::int64_t step) { return step * control_steps_per_step; };

  const auto evaluate = [&] {
    agent.save_networks(run.path() / "agent-new");
    fs::remove_all(run.path() / "agent");
    fs::rename(run.path() / "agent-new", run.path() / "agent");
    if (config.eval_episodes == 0) return;
    std::vector<std::vector<std::uint8_t>> frames;
    const auto stats =
        evaluate_agent(agent, config, config.eval_episodes, derive_seed(config.seed, "eval"),
                       config.videos ? &frames : nullptr);
    state.last_eval = stats.mean();
    Json record{{"step", state.step},
                {"frames", frames_of(state.step)},
                {"eval_return", stats.mean()},
                {"eval_return_std", stats.stddev()},
                {"eval_returns", stats.returns},
                {"eval_episodes", config.eval_episodes},
                {"time_s", state.seconds}};
    if (config.videos) {
      const auto dir = run.file("videos/x").parent_path();
      write_scaled_gif(dir / fmt::format("agent-{:08d}.gif", state.step), frames,
                       static_cast<int>(size), static_cast<int>(size), size < 64 ? 4 : 2,
                       static_cast<int>(std::lround(1000.0 * spec.dt)));
      if (replay.can_sample(config.length)) {
        RngEngine video_rng(derive_seed(config.seed, static_cast<std::uint64_t>(state.step)));
        const auto windows = replay.sample(4, config.length, video_rng);
        record["openloop_mse"] =
            write_open_loop(agent, windows, config.openloop_context,
                            dir / fmt::format("openloop-{:08d}.gif", state.step));
      }
    }
    if (state.last_eval > state.best_eval) {
      state.best_eval = state.last_eval;
      agent.save_networks(run.path() / "best-new");
      fs::remove_all(run.path() / "best");
      fs::rename(run.path() / "best-new", run.path() / "best");
    }
    record["best_eval_return"] = state.best_eval;
    run.log_metrics(record);
    log::info("step {}: eval return {:.1f} +- {:.1f} (best {:.1f})", state.step, stats.mean(),
              stats.stddev(), state.best_eval);
  };

  ProgressOptions progress_options;
  progress_options.unit = "steps";
  ProgressBar bar("wm " + config.env, config.steps, progress_options);
  bar.set(state.step);
  MetricsWindow window;
  const std::int64_t start_step = state.step;
  auto clock = std::chrono::steady_clock::now();
  const auto tick = [&] {
    const auto now = std::chrono::steady_clock::now();
    state.seconds += std::chrono::duration<double>(now - clock).count();
    clock = now;
  };
  double last_log_seconds = state.seconds;
  std::int64_t last_log_step = state.step;

  while (state.step < config.steps && !stop_requested()) {
    if (config.stop_after > 0 && state.step - start_step >= config.stop_after) break;
    const std::int64_t before = state.step;
    if (state.step < config.prefill) {
      std::uniform_real_distribution<double> u(-1.0, 1.0);
      for (auto& a : action) a = u(prefill_rng);
    } else {
      agent.act(filter, frame, {}, true, action);
    }
    const auto result = env.step(action, frame);
    ++state.step;
    state.episode_return += result.reward;
    open.add(frame, to_float(action), static_cast<float>(result.reward), {}, result.terminated);
    const bool cut = config.episode_steps > 0 && open.length() > config.episode_steps;
    if (result.terminated || result.truncated || cut) {
      replay.add(open.episode());
      state.end_episode();
      open.clear();
      env.reset(derive_seed(config.seed, static_cast<std::uint64_t>(state.episodes)), frame);
      open.add(frame, zero_action, 0.0f, {}, false);
      filter = agent.initial_filter();
    }
    if (state.step >= config.prefill && state.step % config.train_every == 0 &&
        replay.can_sample(config.length)) {
      for (std::int64_t k = 0; k < config.train_steps; ++k) {
        const auto batch = replay.sample(config.batch, config.length, sample_rng);
        add_agent_metrics(window, agent.update(batch));
        ++state.updates;
      }
    }
    tick();
    if (crossed(before, state.step, config.log_every) && !window.empty()) {
      Json record{{"step", state.step},
                  {"frames", frames_of(state.step)},
                  {"updates", state.updates},
                  {"episodes", state.episodes},
                  {"train_return", state.recent_mean()},
                  {"time_s", state.seconds},
                  {"steps_per_s", (state.step - last_log_step) /
                                      std::max(1e-9, state.seconds - last_log_seconds)}};
      window.write_into(record);
      run.log_metrics(record);
      last_log_step = state.step;
      last_log_seconds = state.seconds;
    }
    if (crossed(before, state.step, config.eval_every) || state.step >= config.steps) {
      evaluate();
      clock = std::chrono::steady_clock::now();
    }
    bar.set(state.step);
    bar.set_postfix(fmt::format("return {:.1f} eval {:.1f} updates {}", state.recent_mean(),
                                state.last_eval, state.updates));
    if (crossed(before, state.step, config.checkpoint_every) && state.step < config.steps) {
      checkpoint();
    }
  }
  checkpoint();
  bar.finish();
  const bool finished = state.step >= config.steps;
  run.write_json(
      "summary.json",
      {{"env", config.env},
       {"preset", config.preset},
       {"seed", config.seed},
       {"steps", state.step},
       {"frames", frames_of(state.step)},
       {"target_steps", config.steps},
       {"finished", finished},
       {"episodes", state.episodes},
       {"updates", state.updates},
       {"replay_steps", replay.steps()},
       {"last_eval_return", state.last_eval},
       {"best_eval_return", std::isfinite(state.best_eval) ? Json(state.best_eval) : Json(nullptr)},
       {"train_seconds", state.seconds}});
  return {state.step, finished, state.last_eval,
          std::isfinite(state.best_eval) ? state.best_eval : 0.0};
}

}  // namespace clearsight::wm
