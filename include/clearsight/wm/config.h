// Settings of the pixel world-model agent (Dreamer lineage): the world model (encoder, RSSM,
// decoder, heads, loss), the behaviour learned in imagination (actor, critic), the training loop,
// and the named presets that set them to a paper's values.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace clearsight::wm {

/// Sizes, loss weights and optimiser of the world model.
struct WorldModelConfig {
  /// Side of the square frames the model sees (32, 48 or 64).
  std::int64_t image_size = 64;
  /// Channels of the first encoder layer (doubling per layer; the decoder mirrors it).
  std::int64_t cnn_depth = 32;
  /// Size of the deterministic GRU state h.
  std::int64_t deter = 200;
  /// Size of the stochastic state z: Gaussian dimensions, or the number of categorical
  /// variables when discrete > 0.
  std::int64_t stoch = 30;
  /// Classes of each categorical variable (0: diagonal Gaussian z; Dreamer v2 uses 32 x 32).
  std::int64_t discrete = 0;
  /// Width of the RSSM's and the heads' hidden layers.
  std::int64_t hidden = 200;
  /// Smallest standard deviation of the Gaussian z.
  double min_std = 0.1;
  /// Also predict episode continuation (for tasks that terminate).
  bool continuation_head = false;
  /// Feed the per-step condition (camera pose...) to the decoder as well as to the transition.
  bool condition_decoder = true;
  /// KL balancing: weight of KL(sg(post) || prior), the rest on KL(post || sg(prior)).
  double kl_balance = 0.8;
  /// Free nats: each KL term is clipped from below at this value (mean over the batch).
  double free_nats = 3.0;
  /// Weight of the KL term.
  double kl_scale = 1.0;
  /// Weight of the image log-likelihood.
  double image_scale = 1.0;
  /// Weight of the reward log-likelihood.
  double reward_scale = 1.0;
  /// Adam learning rate of the model.
  double lr = 6e-4;
  /// Adam epsilon.
  double eps = 1e-5;
  /// Gradient norm clip.
  double grad_clip = 100.0;

  /// Binds the fields for config files.
  template <typename V>
  void visit(V& v) {
    v("image_size", image_size, "frame side in pixels (32, 48 or 64)");
    v("cnn_depth", cnn_depth, "channels of the first encoder layer");
    v("deter", deter, "deterministic state size");
    v("stoch", stoch, "stochastic state size (categorical variables when discrete > 0)");
    v("discrete", discrete, "classes per categorical variable (0: Gaussian)");
    v("hidden", hidden, "hidden width of RSSM and heads");
    v("min_std", min_std, "minimum std of the Gaussian state");
    v("continuation_head", continuation_head, "predict episode continuation");
    v("condition_decoder", condition_decoder, "give the per-step condition to the decoder");
    v("kl_balance", kl_balance, "KL balancing weight of the prior term");
    v("free_nats", free_nats, "free nats of each KL term");
    v("kl_scale", kl_scale, "weight of the KL loss");
    v("image_scale", image_scale, "weight of the image loss");
    v("reward_scale", reward_scale, "weight of the reward loss");
    v("lr", lr, "model learning rate");
    v("eps", eps, "Adam epsilon");
    v("grad_clip", grad_clip, "gradient norm clip");
  }
  /// Throws ConfigError on invalid values.
  void validate() const;
};

/// The behaviour learned inside the model: actor and critic on lambda-returns.
struct BehaviorConfig {
  /// Imagination horizon.
  std::int64_t horizon = 15;
  double discount = 0.99;
  /// Lambda of the lambda-returns.
  double lambda = 0.95;
  std::int64_t hidden = 200;
  /// Hidden layers of actor and critic.
  std::int64_t layers = 3;
  double actor_lr = 8e-5;
  double critic_lr = 8e-5;
  double eps = 1e-5;
  double grad_clip = 100.0;
  /// Weight of the actor's entropy bonus.
  double actor_entropy = 1e-4;
  /// Smallest std of the actor's Gaussian before the tanh.
  double actor_min_std = 1e-4;
  /// Initial std of the actor (softplus offset so that a zero output gives this std).
  double actor_init_std = 5.0;
  /// Critic updates between copies into the slow target critic (1: no slow target).
  std::int64_t slow_target_every = 100;
  /// Std of the Gaussian noise added to actions while collecting.
  double expl_noise = 0.3;

  /// Binds the fields for config files.
  template <typename V>
  void visit(V& v) {
    v("horizon", horizon, "imagination horizon");
    v("discount", discount, "discount");
    v("lambda", lambda, "lambda of the returns");
    v("hidden", hidden, "hidden width of actor and critic");
    v("layers", layers, "hidden layers of actor and critic");
    v("actor_lr", actor_lr, "actor learning rate");
    v("critic_lr", critic_lr, "critic learning rate");
    v("eps", eps, "Adam epsilon");
    v("grad_clip", grad_clip, "gradient norm clip");
    v("actor_entropy", actor_entropy, "entropy bonus weight");
    v("actor_min_std", actor_min_std, "minimum actor std");
    v("actor_init_std", actor_init_std, "initial actor std");
    v("slow_target_every", slow_target_every, "updates between slow-target copies");
    v("expl_noise", expl_noise, "exploration noise std while collecting");
  }
  /// Throws ConfigError on invalid values.
  void validate() const;
};

/// What `wm train` runs.
struct WmTrainConfig {
  /// Registered MuJoCo environment (walker-walk, cheetah-run...).
  std::string env = "walker-walk";
  /// Named preset the fields below were started from (see wm_preset_names()).
  std::string preset = "sensor";
  /// Environment steps in total (each one is the task's action repeat in control steps).
  std::int64_t steps = 100000;
  std::uint64_t seed = 0;
  /// Camera pose (distance, azimuth, elevation) the agent sees through.
  std::vector<double> camera = {3.0, 90.0, -45.0};
  /// Offscreen rendering backend: auto, egl or osmesa.
  std::string render_backend = "auto";
  /// Cut episodes after this many environment steps (0: the task's own limit).
  std::int64_t episode_steps = 0;
  /// Environment steps with uniformly random actions before training starts.
  std::int64_t prefill = 2500;
  /// Environment steps between training phases.
  std::int64_t train_every = 5;
  /// Updates (model + behaviour) per training phase.
  std::int64_t train_steps = 1;
  /// Sequences per batch.
  std::int64_t batch = 16;
  /// Steps per sequence.
  std::int64_t length = 32;
  std::int64_t eval_every = 10000;
  int eval_episodes = 2;
  std::int64_t checkpoint_every = 10000;
  /// Environment steps between metrics records of training.
  std::int64_t log_every = 500;
  /// Write an agent GIF and an open-loop prediction at each evaluation.
  bool videos = true;
  /// Context frames of the open-loop prediction.
  std::int64_t openloop_context = 5;
  /// Pixel demonstration files whose episodes join the replay (the lineage trains the model on
  /// agent and expert episodes together).
  std::vector<std::string> demos;
  /// Camera view of the demonstration files to use (0: their main images).
  std::int64_t demo_view = 0;
  /// Stop (with a checkpoint) after this many steps of this invocation (0: run to the end); not
  /// recorded in the run's config.
  std::int64_t stop_after = 0;
  WorldModelConfig model;
  BehaviorConfig behavior;

  /// Binds the fields for config files.
  template <typename V>
  void visit(V& v) {
    v("env", env, "registered MuJoCo environment");
    v("preset", preset, "preset the settings started from");
    v("steps", steps, "total environment steps");
    v("seed", seed, "seed of networks, environments and sampling");
    v("camera", camera, "camera distance, azimuth, elevation");
    v("render_backend", render_backend, "auto, egl or osmesa");
    v("episode_steps", episode_steps, "steps per episode at most (0: the task's limit)");
    v("prefill", prefill, "random-action steps before training");
    v("train_every", train_every, "environment steps between training phases");
    v("train_steps", train_steps, "updates per training phase");
    v("batch", batch, "sequences per batch");
    v("length", length, "steps per sequence");
    v("eval_every", eval_every, "steps between evaluations");
    v("eval_episodes", eval_episodes, "episodes per evaluation");
    v("checkpoint_every", checkpoint_every, "steps between checkpoints");
    v("log_every", log_every, "steps between training metrics records");
    v("videos", videos, "write GIFs at evaluations");
    v("openloop_context", openloop_context, "context frames of open-loop predictions");
    v("demos", demos, "pixel demonstration files joining the replay");
    v("demo_view", demo_view, "camera view of the demonstration files");
    v("model", model, "world model settings");
    v("behavior", behavior, "actor-critic settings");
  }
  /// Throws ConfigError/UnknownNameError on invalid values.
  void validate() const;
};

/// The settings of a named preset for image_size: "sensor" (SENSOR/V-MAIL: model lr 6e-4,
/// actor and critic 8e-5, KL balance 0.8, free nats 3), "dreamer-v1" (no balancing, i.e. 0.5;
/// free nats 3; clip 100), "dreamer-v2" (balance 0.8, free nats 1, lr 3e-4), and "small"
/// (the sensor settings at the reduced sizes that fit two CPU cores). Throws UnknownNameError.
WmTrainConfig wm_preset(const std::string& name);

/// Names of the presets, in the order of the registry.
std::vector<std::string> wm_preset_names();

}  // namespace clearsight::wm
