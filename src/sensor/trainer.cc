#include "clearsight/sensor/trainer.h"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <random>

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
#include "clearsight/nn/module_io.h"
#include "clearsight/sensor/camera.h"
#include "clearsight/sensor/discriminator.h"
#include "clearsight/sensor/imitation.h"
#include "clearsight/sensor/learner.h"
#include "clearsight/version.h"
#include "clearsight/wm/agent.h"
#include "clearsight/wm/loop.h"
#include "clearsight/wm/trainer.h"

namespace clearsight::sensor {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

Json pose_json(const envs::CameraPose& p) { return {p.distance, p.azimuth, p.elevation}; }

struct EvalResult {
  wm::WmEvalStats stats;
  std::vector<double> final_gaps;
  double mean_gap = 0;
  envs::CameraPose final_pose;
  std::vector<Json> camera_path;
  std::vector<std::vector<std::uint8_t>> frames;  // agent view | expert view
};

EvalResult evaluate(SensorLearner& l, const SensorTrainConfig& c, const envs::PixelOptions& options,
                    const envs::CameraPose& expert_pose, std::uint64_t seed, bool video) {
  envs::PixelEnv env(envs::make_mujoco_env(c.agent.env), options);
  const auto size = static_cast<std::size_t>(c.agent.model.image_size);
  std::vector<std::uint8_t> frame(env.observation_bytes()), expert_view(frame.size());
  std::vector<double> motor(static_cast<std::size_t>(l.motor_size())), sensor(3);
  EvalResult out;
  double gap_sum = 0;
  std::int64_t gap_count = 0;
  const auto record = [&](bool keep) {
    if (!keep) return;
    env.renderer().render(env.env().data(), expert_pose, env.env().torso_body(), expert_view);
    std::vector<std::uint8_t> both(size * size * 2 * 3);
    for (std::size_t y = 0; y < size; ++y) {
      std::copy_n(&frame[y * size * 3], size * 3, &both[y * size * 6]);
      std::copy_n(&expert_view[y * size * 3], size * 3, &both[y * size * 6 + size * 3]);
    }
    out.frames.push_back(std::move(both));
  };
  for (int e = 0; e < c.agent.eval_episodes; ++e) {
    env.reset(derive_seed(seed, static_cast<std::uint64_t>(e)), frame);
    auto filter = l.agent().initial_filter();
    double total = 0;
    std::int64_t t = 0;
    const bool keep = video && e == 0;
    record(keep);
    while (true) {
      const auto cond = camera_condition(env.camera().pose());
      const auto features = l.agent().observe(filter, frame, cond, false);
      auto a = l.policy_action(features, false);
      const bool sensor_step = c.sensor.sensor_policy && t % c.sensor.sensor_every == 0;
      if (!sensor_step) a.narrow(1, l.motor_size(), kCameraConditionSize).zero_();
      filter.prev_action = a;
      const auto* p = a.data_ptr<float>();
      for (std::int64_t i = 0; i < l.motor_size(); ++i) motor[i] = p[i];
      for (int i = 0; i < 3; ++i) sensor[i] = p[l.motor_size() + i];
      const auto r = sensor_step ? env.step(motor, sensor, frame) : env.step(motor, frame);
      total += r.reward;
      ++t;
      gap_sum += pose_gap(env.camera().pose(), expert_pose);
      ++gap_count;
      if (keep) out.camera_path.push_back(pose_json(env.camera().pose()));
      record(keep);
      if (r.terminated || r.truncated) break;
      if (c.agent.episode_steps > 0 && t >= c.agent.episode_steps) break;
    }
    out.stats.returns.push_back(total);
    out.stats.lengths.push_back(t);
    out.final_gaps.push_back(pose_gap(env.camera().pose(), expert_pose));
    out.final_pose = env.camera().pose();
  }
  out.mean_gap = gap_count > 0 ? gap_sum / static_cast<double>(gap_count) : 0.0;
  return out;
}

}  // namespace

SensorTrainResult train_sensor(const SensorTrainConfig& requested, const fs::path& run_path) {
  const RunDir run = RunDir::at(run_path);
  SensorTrainConfig config = requested;
  const fs::path resume = find_checkpoint_dir(run.path(), "checkpoint", "trainer_state.json");
  if (!resume.empty()) {
    const auto recorded = run.read_config();
    config = clearsight::config::from_json<SensorTrainConfig>(recorded["sensor"], "sensor");
    check_resume_settings(run.path(), "sensor", clearsight::config::to_json(config),
                          clearsight::config::to_json(requested), {"agent.steps"});
    // Runs recorded before the hashes existed have none to check.
    check_inputs_unchanged(run.path(), "demonstration file",
                           recorded.value("demos_hashes", nlohmann::json::object()));
    config.agent.steps = std::max(config.agent.steps, requested.agent.steps);
  } else if (fs::exists(run.path() / "replay")) {
    log::warn("{}: discarding a replay without a checkpoint", run.path().string());
    fs::remove_all(run.path() / "replay");
  }
  config.agent.stop_after = requested.agent.stop_after;
  config.validate();
  const auto& a = config.agent;
  const auto& s = config.sensor;
  const auto motor_size = envs::make_env(a.env)->spec().action_space.size();
  auto expert = load_expert(config.demos, a.env, config.demo_view, a.model.image_size, motor_size,
                            s.expert_actions);
  run.write_config({{"sensor", clearsight::config::to_json(config)},
                    {"demos_hashes", input_hashes(config.demos)},
                    {"clearsight_version", kVersion}});
  if (resume.empty()) seed_everything(a.seed);

  envs::PixelOptions options;
  options.render.width = options.render.height = static_cast<int>(a.model.image_size);
  options.render.backend = a.render_backend;
  options.camera = s.start_at_expert_camera ? expert.pose : wm::config_camera(a);
  options.max_camera_delta = {s.max_camera_delta[0], s.max_camera_delta[1], s.max_camera_delta[2]};
  envs::PixelEnv env(envs::make_mujoco_env(a.env), options);
  const auto& spec = env.spec();
  const auto size = a.model.image_size;
  const auto action_size = motor_size + kCameraConditionSize;
  SensorLearner l(config, motor_size);
  auto& agent = l.agent();
  wm::SequenceReplay replay(run.path() / "replay");
  wm::EpisodeBuilder open(size, size, action_size, kCameraConditionSize);
  wm::LoopState state;
  std::int64_t camera_resets = 0;
  RngEngine sample_rng(derive_seed(a.seed, "replay"));
  RngEngine prefill_rng(derive_seed(a.seed, "prefill"));
  RngEngine expert_rng(derive_seed(a.seed, "expert"));
  std::vector<std::uint8_t> frame(env.observation_bytes());
  std::vector<double> motor(static_cast<std::size_t>(motor_size)), sensor(3);
  std::vector<float> stored(static_cast<std::size_t>(action_size));
  const std::vector<float> zero_action(static_cast<std::size_t>(action_size), 0.0f);
  auto filter = agent.initial_filter();
  const auto condition = [&] { return camera_condition(env.camera().pose()); };

  if (resume.empty()) {
    env.reset(derive_seed(a.seed, std::uint64_t{0}), frame);
    open.add(frame, zero_action, 0.0f, condition(), false);
  } else {
    Json j;
    try {
      j = Json::parse(read_file(resume / "trainer_state.json"));
      state.from_json(j.at("loop"));
      wm::rng_from_string(sample_rng, j.at("sample_rng").get<std::string>());
      wm::rng_from_string(prefill_rng, j.at("prefill_rng").get<std::string>());
      wm::rng_from_string(expert_rng, j.at("expert_rng").get<std::string>());
      l.epsilon().set(j.at("epsilon").get<double>());
      camera_resets = j.at("camera_resets").get<std::int64_t>();
      const auto pose = j.at("camera").get<std::vector<double>>();
      env.env().load_state(read_file(resume / "env_state.bin"));
      env.camera().set({pose.at(0), pose.at(1), pose.at(2)});
      l.load(resume);
      filter = wm::load_filter(resume / "filter.safetensors");
      replay.load_directory(j.at("replay_episodes").get<std::int64_t>());
      open.assign(wm::load_episode(resume / "open_episode.safetensors"));
    } catch (const nlohmann::json::exception& e) {
      CS_THROW(FormatError, "'", (resume / "trainer_state.json").string(),
               "' is malformed: ", e.what());
    }
    const auto last = open.episode().images[open.length() - 1].contiguous();
    std::copy(last.data_ptr<std::uint8_t>(), last.data_ptr<std::uint8_t>() + last.numel(),
              frame.begin());
    nn::set_rng_state(safetensors::File::open(resume / "rng.safetensors").get("torch_cpu"));
    log::info("resuming {} at step {}", run.path().string(), state.step);
    // Rows a killed process logged after this checkpoint are logged again from here.
    run.cut_metrics_after(state.step);
  }

  const auto checkpoint = [&] {
    write_checkpoint_dir(run.path(), "checkpoint", [&](const fs::path& dir) {
      l.save(dir);
      wm::save_filter(dir / "filter.safetensors", filter);
      wm::save_episode(dir / "open_episode.safetensors", open.episode());
      safetensors::save(dir / "rng.safetensors", {{"torch_cpu", nn::get_rng_state()}});
      atomic_write(dir / "env_state.bin", env.env().save_state());
      const Json j{{"loop", state.to_json()},
                   {"sample_rng", wm::rng_to_string(sample_rng)},
                   {"prefill_rng", wm::rng_to_string(prefill_rng)},
                   {"expert_rng", wm::rng_to_string(expert_rng)},
                   {"epsilon", l.epsilon().value()},
                   {"camera_resets", camera_resets},
                   {"camera", pose_json(env.camera().pose())},
                   {"replay_episodes", replay.episodes()},
                   {"clearsight_version", kVersion}};
      atomic_write(dir / "trainer_state.json", j.dump() + "\n");
    });
  };

  const auto frames_per_step =
      std::max<std::int64_t>(1, 1000 / std::max<std::int64_t>(1, spec.max_episode_steps));

  wm::MetricsWindow window;
  const auto update = [&] {
    const auto batch = replay.sample(a.batch, a.length, sample_rng);
    l.update(batch, expert.replay.sample(a.batch, a.length, expert_rng), window);
  };

  const auto evaluation = [&] {
    write_checkpoint_dir(run.path(), "agent", [&](const fs::path& dir) { l.save_networks(dir); });
    if (a.eval_episodes == 0) return;
    const auto r = evaluate(l, config, options, expert.pose, derive_seed(a.seed, "eval"), a.videos);
    state.last_eval = r.stats.mean();
    Json record{{"step", state.step},
                {"frames", state.step * frames_per_step},
                {"eval_return", r.stats.mean()},
                {"eval_return_std", r.stats.stddev()},
                {"eval_returns", r.stats.returns},
                {"eval_pose_gap", r.mean_gap},
                {"eval_final_pose_gaps", r.final_gaps},
                {"eval_final_camera", pose_json(r.final_pose)},
                {"camera", pose_json(env.camera().pose())},
                {"pose_gap", pose_gap(env.camera().pose(), expert.pose)},
                {"time_s", state.seconds}};
    if (a.videos && !r.frames.empty()) {
      const auto dir = run.file("videos/x").parent_path();
      wm::write_scaled_gif(dir / fmt::format("agent-vs-expert-{:08d}.gif", state.step), r.frames,
                           static_cast<int>(2 * size), static_cast<int>(size), size < 64 ? 4 : 2,
                           static_cast<int>(std::lround(1000.0 * spec.dt)));
      run.write_json(fmt::format("videos/camera-path-{:08d}.json", state.step),
                     {{"expert", pose_json(expert.pose)}, {"path", r.camera_path}});
    }
    if (state.last_eval > state.best_eval) {
      state.best_eval = state.last_eval;
      write_checkpoint_dir(run.path(), "best", [&](const fs::path& dir) { l.save_networks(dir); });
    }
    record["best_eval_return"] = state.best_eval;
    run.log_metrics(record);
    log::info("step {}: eval return {:.1f} +- {:.1f}, pose gap {:.3f} (best {:.1f})", state.step,
              r.stats.mean(), r.stats.stddev(), r.mean_gap, state.best_eval);
  };

  ProgressOptions progress_options;
  progress_options.unit = "steps";
  ProgressBar bar("sensor " + a.env, a.steps, progress_options);
  bar.set(state.step);
  const std::int64_t start_step = state.step;
  auto clock = std::chrono::steady_clock::now();
  while (state.step < a.steps && !stop_requested()) {
    if (a.stop_after > 0 && state.step - start_step >= a.stop_after) break;
    const std::int64_t before = state.step;
    const std::int64_t t = open.length() - 1;  // Steps taken in this episode.
    const bool sensor_step = s.sensor_policy && t % s.sensor_every == 0;
    if (state.step < a.prefill) {
      std::uniform_real_distribution<double> u(-1.0, 1.0);
      for (auto& x : motor) x = u(prefill_rng);
      for (auto& x : sensor) x = s.sensor_policy ? u(prefill_rng) : 0.0;
    } else {
      const auto features = agent.observe(filter, frame, condition(), true);
      auto act = l.policy_action(features, true);
      if (a.behavior.expl_noise > 0) {
        act = (act + a.behavior.expl_noise * torch::randn_like(act)).clamp(-1.0, 1.0);
      }
      const auto* p = act.data_ptr<float>();
      for (std::int64_t i = 0; i < motor_size; ++i) motor[i] = p[i];
      for (int i = 0; i < 3; ++i) sensor[i] = p[motor_size + i];
    }
    if (!sensor_step) std::fill(sensor.begin(), sensor.end(), 0.0);
    for (std::int64_t i = 0; i < motor_size; ++i) stored[i] = static_cast<float>(motor[i]);
    for (int i = 0; i < 3; ++i) stored[motor_size + i] = static_cast<float>(sensor[i]);
    filter.prev_action = torch::from_blob(stored.data(), {1, action_size}, torch::kFloat32).clone();
    const auto result = sensor_step ? env.step(motor, sensor, frame) : env.step(motor, frame);
    if (sensor_step && result.info.has("camera_reset") && result.info.get("camera_reset") > 0) {
      ++camera_resets;
    }
    ++state.step;
    state.episode_return += result.reward;
    open.add(frame, stored, static_cast<float>(result.reward), condition(), result.terminated);
    const bool cut = a.episode_steps > 0 && open.length() > a.episode_steps;
    if (result.terminated || result.truncated || cut) {
      replay.add(open.episode());
      state.end_episode();
      open.clear();
      env.reset(derive_seed(a.seed, static_cast<std::uint64_t>(state.episodes)), frame);
      open.add(frame, zero_action, 0.0f, condition(), false);
      filter = agent.initial_filter();
    }
    if (state.step >= a.prefill && state.step % a.train_every == 0 && replay.can_sample(a.length)) {
      for (std::int64_t k = 0; k < a.train_steps; ++k) {
        update();
        ++state.updates;
      }
    }
    const auto now = std::chrono::steady_clock::now();
    state.seconds += std::chrono::duration<double>(now - clock).count();
    clock = now;
    if (wm::crossed(before, state.step, a.log_every) && !window.empty()) {
      Json record{{"step", state.step},
                  {"frames", state.step * frames_per_step},
                  {"updates", state.updates},
                  {"episodes", state.episodes},
                  {"train_return", state.recent_mean()},
                  {"camera", pose_json(env.camera().pose())},
                  {"pose_gap", pose_gap(env.camera().pose(), expert.pose)},
                  {"camera_resets", camera_resets},
                  {"time_s", state.seconds}};
      window.write_into(record);
      run.log_metrics(record);
    }
    if (wm::crossed(before, state.step, a.eval_every) || state.step >= a.steps) {
      evaluation();
      clock = std::chrono::steady_clock::now();
    }
    bar.set(state.step);
    bar.set_postfix(fmt::format("return {:.1f} eval {:.1f} gap {:.2f}", state.recent_mean(),
                                state.last_eval, pose_gap(env.camera().pose(), expert.pose)));
    if (wm::crossed(before, state.step, a.checkpoint_every) && state.step < a.steps) checkpoint();
  }
  checkpoint();
  bar.finish();
  const bool finished = state.step >= a.steps;
  run.write_json(
      "summary.json",
      {{"env", a.env},
       {"variant", config.variant},
       {"seed", a.seed},
       {"steps", state.step},
       {"frames", state.step * frames_per_step},
       {"finished", finished},
       {"episodes", state.episodes},
       {"updates", state.updates},
       {"camera_init", pose_json(options.camera)},
       {"expert_camera", pose_json(expert.pose)},
       {"expert_return", expert.expert_return},
       {"last_eval_return", state.last_eval},
       {"best_eval_return", std::isfinite(state.best_eval) ? Json(state.best_eval) : Json(nullptr)},
       {"train_seconds", state.seconds}});
  SensorTrainResult out{state.step, finished, state.last_eval,
                        std::isfinite(state.best_eval) ? state.best_eval : 0.0, 0.0};
  out.last_pose_gap = pose_gap(env.camera().pose(), expert.pose);
  return out;
}

}  // namespace clearsight::sensor
