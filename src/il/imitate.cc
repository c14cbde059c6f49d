#include "clearsight/il/imitate.h"

#include <ATen/CPUGeneratorImpl.h>

#include "clearsight/core/config.h"
#include "clearsight/core/hash.h"
#include "clearsight/core/interrupt.h"
#include "clearsight/core/resume.h"
#include "clearsight/core/strings.h"
#include "clearsight/il/demos.h"
#include "clearsight/il/scores.h"
#include "rl/loop.h"

namespace clearsight::il {

namespace fs = std::filesystem;
using Json = nlohmann::json;

void ImitateConfig::validate() const {
  CS_CHECK_AS(UnknownNameError, algo == "gail" || algo == "dida", "unknown imitation algorithm '",
              algo, "' (valid here: gail, dida; bc trains with train_bc)");
  const auto names = envs::env_names();
  CS_CHECK_AS(UnknownNameError, std::find(names.begin(), names.end(), env) != names.end(),
              "unknown environment '", env, "' (valid: ", join(names, ", "), ")");
  CS_CHECK_AS(ConfigError, !demos.empty(), "imitate: a demonstrations file is required (--demos)");
  CS_CHECK_AS(ConfigError,
              steps > 0 && eval_every > 0 && eval_episodes >= 1 && checkpoint_every > 0 &&
                  log_every > 0 && disc_every >= 1 && max_demo_transitions >= 0 && stop_after >= 0,
              "imitate: steps, eval_every, eval_episodes, checkpoint_every, log_every and "
              "disc_every must be positive");
  CS_CHECK_AS(UnknownNameError, generator == "sac" || generator == "ppo", "unknown generator '",
              generator, "' (valid: sac, ppo)");
  CS_CHECK_AS(ConfigError, disc_updates_per_rollout >= 1,
              "imitate: disc_updates_per_rollout must be at least 1");
  if (generator == "sac") sac.validate();
  if (generator == "ppo") ppo.validate();
  disc.validate();
  if (algo == "dida") dida.validate();
}

namespace {

/// Observations with DAC's absorbing flag appended (0 for real states).
torch::Tensor with_flag(const torch::Tensor& obs, bool absorbing) {
  if (!absorbing) return obs;
  return torch::cat({obs, torch::zeros({obs.size(0), 1})}, 1);
}

torch::Tensor absorbing_state(std::int64_t rows, std::int64_t obs_size) {
  auto s = torch::zeros({rows, obs_size + 1});
  s.select(1, obs_size).fill_(1.0f);
  return s;
}

/// Fills the expert buffer from demonstrations (terminal transitions lead to the absorbing state,
/// which loops on itself with a zero action).
void fill_expert(const DemoDataset& demos, std::int64_t limit, bool absorbing,
                 rl::ReplayBuffer& buffer) {
  const std::int64_t n = limit > 0 ? std::min(limit, demos.size()) : demos.size();
  const auto obs = demos.observations.narrow(0, 0, n);
  const auto act = demos.actions.narrow(0, 0, n).clamp(-1.0, 1.0);
  const auto rew = demos.rewards.narrow(0, 0, n).to(torch::kFloat32);
  const auto next = demos.next_observations.narrow(0, 0, n);
  const auto term = demos.terminals.narrow(0, 0, n).to(torch::kBool);
  if (!absorbing) {
    buffer.add(obs, act, rew, next, term.to(torch::kFloat32));
    return;
  }
  const auto obs_size = obs.size(1);
  auto next_aug = with_flag(next, true);
  const auto rows = term.nonzero().flatten();
  if (rows.numel() > 0) next_aug.index_copy_(0, rows, absorbing_state(rows.numel(), obs_size));
  buffer.add(with_flag(obs, true), act, rew, next_aug, torch::zeros({n}));
  const auto k = rows.numel();
  if (k > 0) {
    buffer.add(absorbing_state(k, obs_size), torch::zeros({k, act.size(1)}), torch::zeros({k}),
               absorbing_state(k, obs_size), torch::zeros({k}));
  }
}

/// The expert buffer built from demonstrations and, for DIDA with anchors, the anchor buffer (a
/// permutation from its own generator, so a resumed run rebuilds both identically).
std::pair<std::unique_ptr<rl::ReplayBuffer>, std::unique_ptr<rl::ReplayBuffer>> demo_buffers(
    const ImitateConfig& config, const DemoDataset& demos, std::int64_t stored_obs,
    std::int64_t act_size, bool absorbing) {
  auto expert = std::make_unique<rl::ReplayBuffer>(2 * demos.size() + 1, stored_obs, act_size,
                                                   config.disc.batch_size);
  fill_expert(demos, config.max_demo_transitions, absorbing, *expert);
  std::unique_ptr<rl::ReplayBuffer> anchor;
  if (config.algo == "dida" && config.dida.anchor) {
    anchor = std::make_unique<rl::ReplayBuffer>(expert->size(), stored_obs, act_size,
                                                config.disc.batch_size);
    auto gen = at::make_generator<at::CPUGeneratorImpl>(derive_seed(config.seed, "anchor"));
    fill_anchor(*expert, torch::randperm(expert->size(), gen, torch::kInt64), *anchor);
  }
  return {std::move(expert), std::move(anchor)};
}

/// GAIL/DIDA with an on-policy PPO generator: after each rollout the discriminator trains on it
/// against the demonstrations, then relabels its rewards.
ImitateResult imitate_with_ppo(const ImitateConfig& config, const DemoDataset& demos,
                               const Json& noise, const RunDir& run, const fs::path& resume) {
  const auto env = envs::make_env(config.env);
  const auto obs_size = env->spec().observation_space.size();
  const auto act_size = env->spec().action_space.size();
  CS_CHECK_AS(ShapeError, demos.observation_size() == obs_size && demos.action_size() == act_size,
              "demonstrations have observation/action sizes ", demos.observation_size(), "/",
              demos.action_size(), ", ", config.env, " has ", obs_size, "/", act_size);
  auto [expert_buffer, anchor] = demo_buffers(config, demos, obs_size, act_size, false);
  rl::ReplayBuffer& expert = *expert_buffer;
  rl::ReplayBuffer agent(config.ppo.rollout_steps, obs_size, act_size, config.disc.batch_size);
  std::unique_ptr<RewardLearner> learner =
      config.algo == "gail" ? make_gail_reward(config.disc, obs_size, act_size)
                            : make_dida_reward(config.disc, config.dida, obs_size, act_size);
  rl::RlTrainConfig rc;
  rc.env = config.env;
  rc.algo = "ppo";
  rc.steps = config.steps;
  rc.seed = config.seed;
  rc.num_envs = 1;
  rc.eval_every = config.eval_every;
  rc.eval_episodes = config.eval_episodes;
  rc.checkpoint_every = config.checkpoint_every;
  rc.log_every = config.log_every;
  rc.stop_after = config.stop_after;
  rc.ppo = config.ppo;
  rl::PpoHooks hooks;
  hooks.label = config.algo + "-ppo";
  hooks.relabel = [&](const torch::Tensor& obs, const torch::Tensor& actions,
                      const torch::Tensor& next, const torch::Tensor& terminated, Json& metrics) {
    const auto t = obs.size(0), n = obs.size(1);
    agent.clear();
    agent.add(obs.reshape({t * n, obs_size}), actions.reshape({t * n, act_size}),
              torch::zeros({t * n}), next.reshape({t * n, obs_size}),
              terminated.reshape({t * n}).to(torch::kFloat32));
    for (std::int64_t k = 0; k < config.disc_updates_per_rollout; ++k) {
      metrics = learner->update(expert, agent, anchor.get());
    }
    rl::TransitionBatch all{obs.reshape({t * n, obs_size}), actions.reshape({t * n, act_size}),
                            torch::zeros({t * n, 1}), next.reshape({t * n, obs_size}),
                            terminated.reshape({t * n, 1}).to(torch::kFloat32)};
    return learner->reward(all).reshape({t, n});
  };
  hooks.save = [&](const fs::path& dir) { learner->save(dir); };
  hooks.load = [&](const fs::path& dir) { learner->load(dir); };
  const bool normalizable = has_d4rl_reference(config.env);
  hooks.annotate = [&](Json& record, const rl::EvalStats& eval) {
    if (normalizable) record["eval_normalized"] = d4rl_normalized_score(config.env, eval.mean());
  };
  hooks.summary = {{"demos", config.demos}, {"demos_noise", noise}, {"generator", "ppo"}};
  const auto r = rl::run_ppo(rc, run, resume, hooks);
  if (normalizable && r.finished) {
    auto summary = Json::parse(read_file(run.path() / "summary.json"));
    summary["last_eval_normalized"] = d4rl_normalized_score(config.env, r.last_eval_return);
    summary["best_eval_normalized"] = d4rl_normalized_score(config.env, r.best_eval_return);
    run.write_json("summary.json", summary);
  }
  return {r.steps, r.finished, r.last_eval_return, r.best_eval_return};
}

}  // namespace

ImitateResult imitate(const ImitateConfig& requested, const fs::path& run_path) {
  const RunDir run = RunDir::at(run_path);
  ImitateConfig config = requested;
  const fs::path resume = find_checkpoint_dir(run.path(), "checkpoint", "trainer_state.json");
  if (!resume.empty()) {
    const Json recorded = run.read_config();
    config = clearsight::config::from_json<ImitateConfig>(recorded["imitate"], "imitate");
    check_resume_settings(run.path(), "imitate", clearsight::config::to_json(config),
                          clearsight::config::to_json(requested), {"steps"});
    config.steps = std::max(config.steps, requested.steps);
    // The same path may hold other demonstrations by now (re-collected, re-noised).
    if (recorded.contains("demos_hash")) {
      check_input_unchanged(run.path(), "demonstration file", config.demos,
                            recorded["demos_hash"].get<std::string>());
    }
  }
  config.stop_after = requested.stop_after;
  config.validate();
  const DemoDataset demos = load_demos(config.demos, config.env);
  // The noise spec is recorded in the file as JSON text; keep it structured in our records.
  const Json noise =
      Json::accept(demos.meta.noise) ? Json::parse(demos.meta.noise) : Json(demos.meta.noise);
  run.write_config({{"imitate", clearsight::config::to_json(config)},
                    {"demos_noise", noise},
                    {"demos_hash", content_hash(config.demos)},
                    {"clearsight_version", kVersion}});
  if (resume.empty()) seed_everything(config.seed);

  if (config.generator == "ppo") return imitate_with_ppo(config, demos, noise, run, resume);

  envs::VectorEnv venv(config.env, 1);
  const auto obs_size = venv.spec().observation_space.size();
  const auto act_size = venv.spec().action_space.size();
  CS_CHECK_AS(ShapeError, demos.observation_size() == obs_size && demos.action_size() == act_size,
              "demonstrations have observation/action sizes ", demos.observation_size(), "/",
              demos.action_size(), ", ", config.env, " has ", obs_size, "/", act_size);
  const std::int64_t extra = config.absorbing ? 1 : 0;
  const std::int64_t stored_obs = obs_size + extra;

  // Demonstration buffers are rebuilt identically on resume (the anchor permutation has its own
  // generator), so checkpoints need not hold them.
  auto [expert_buffer, anchor] =
      demo_buffers(config, demos, stored_obs, act_size, config.absorbing);
  rl::ReplayBuffer& expert = *expert_buffer;
  rl::ReplayBuffer agent(std::min(config.sac.buffer_size, 2 * config.steps + 2), stored_obs,
                         act_size, config.sac.batch_size);
  rl::Sac sac(config.sac, obs_size, act_size, extra);
  std::unique_ptr<RewardLearner> learner =
      config.algo == "gail" ? make_gail_reward(config.disc, stored_obs, act_size)
                            : make_dida_reward(config.disc, config.dida, stored_obs, act_size);
  rl::LoopState state;
  if (!resume.empty()) {
    sac.load(resume);
    learner->load(resume);
    rl::load_common(resume, state, venv);
    agent.load(resume / "replay.safetensors");
    log::info("resuming {} from step {}", run.path().string(), state.step);
    // Rows a killed process logged after this checkpoint are logged again from here.
    run.cut_metrics_after(state.step);
  } else {
    venv.reset(derive_seed(config.seed, "train-env"));
  }

  rl::Loop loop({config.env, config.algo, config.seed, config.steps, config.eval_episodes}, run);
  const bool normalizable = has_d4rl_reference(config.env);
  loop.annotate = [&](Json& record, const rl::EvalStats& eval) {
    if (normalizable) record["eval_normalized"] = d4rl_normalized_score(config.env, eval.mean());
  };
  const Json actor_info = {{"actor", "tanh_gaussian"}, {"hidden", config.sac.hidden},
                           {"obs_size", obs_size},     {"act_size", act_size},
                           {"demos", config.demos},    {"demos_noise", noise}};
  const std::int64_t end =
      config.stop_after > 0 ? std::min(config.steps, state.step + config.stop_after) : config.steps;
  loop.start_progress(state.step, config.steps);
  auto obs = torch::zeros({1, obs_size});
  auto random_actions = torch::zeros({1, act_size});
  const auto absorbing_row = absorbing_state(1, obs_size);
  const auto zero_action = torch::zeros({1, act_size});
  Json disc_metrics = Json::object();
  rl::SacMetrics sac_metrics;
  bool have_metrics = false;
  auto checkpoint = [&] {
    write_checkpoint_dir(run.path(), "checkpoint", [&](const fs::path& dir) {
      sac.save(dir);
      learner->save(dir);
      agent.save(dir / "replay.safetensors");
      rl::save_common(dir, state, venv, Json::object());
    });
  };
  while (state.step < end && !stop_requested()) {
    obs.copy_(venv.observations());
    const auto actions = state.step < config.sac.learning_starts
                             ? random_actions.uniform_(-1.0, 1.0)
                             : sac.act(obs, false);
    const auto& out = venv.step(actions);
    const bool terminated = out.terminated.item<bool>();
    if (config.absorbing) {
      const auto next = terminated ? absorbing_row : with_flag(out.final_observations, true);
      agent.add(with_flag(obs, true), actions, out.rewards, next, torch::zeros({1}));
      if (terminated)
        agent.add(absorbing_row, zero_action, torch::zeros({1}), absorbing_row, torch::zeros({1}));
    } else {
      agent.add(obs, actions, out.rewards, out.final_observations,
                out.terminated.to(torch::kFloat32));
    }
    const std::int64_t before = state.step;
    state.step += 1;
    state.record_episodes(out);
    if (state.step >= config.sac.learning_starts) {
      if (state.step % config.disc_every == 0) {
        disc_metrics = learner->update(expert, agent, anchor.get());
      }
      for (std::int64_t u = 0; u < config.sac.updates_per_step; ++u) {
        auto& batch = agent.sample();
        batch.rewards.copy_(learner->reward(batch));
        sac_metrics = sac.update(batch);
        have_metrics = true;
      }
    }
    if (rl::crossed(before, state.step, config.log_every)) {
      Json record = {{"step", state.step},
                     {"episodes", state.episodes},
                     {"train_return", state.recent_mean()},
                     {"steps_per_s", loop.steps_per_second(state.step)}};
      if (have_metrics) {
        record["critic_loss"] = sac_metrics.critic_loss.item<double>();
        record["alpha"] = sac_metrics.alpha.item<double>();
        record["q_mean"] = sac_metrics.q_mean.item<double>();
      }
      record.update(disc_metrics);
      run.log_metrics(record);
      loop.progress(state);
    }
    if (rl::crossed(before, state.step, config.eval_every) || state.step >= config.steps) {
      loop.evaluate(state, *sac.actor(), actor_info, nullptr);
      loop.progress(state);
    }
    if (rl::crossed(before, state.step, config.checkpoint_every) && state.step < end) checkpoint();
  }
  checkpoint();
  loop.finish_progress();
  const bool finished = state.step >= config.steps;
  Json extra_summary = {{"demos", config.demos}, {"demos_noise", noise}};
  if (normalizable) {
    extra_summary["last_eval_normalized"] = d4rl_normalized_score(config.env, state.last_eval);
    extra_summary["best_eval_normalized"] = d4rl_normalized_score(config.env, state.best_eval);
  }
  loop.write_summary(state, finished, extra_summary);
  return {state.step, finished, state.last_eval, state.best_eval};
}

}  // namespace clearsight::il
