// Pixel world-model agent (src/wm) throughput against baselines measured in the same run:
//  - one world-model update (wm::update_world_model: encoder, RSSM filtering, decoder, reward
//    head, balanced KL, clipped Adam) on a batch of 16 sequences x 32 steps of 64 x 64 frames at
//    the default WorldModelConfig sizes (cnn depth 32, deter 200, Gaussian stoch 30, hidden 200,
//    action 6, KL balance 0.8, free nats 3, lr 6e-4, eps 1e-5, clip 100), and the agent update
//    (WorldModelAgent::update: the model, then the behaviour in imagination, horizon 15 from all
//    16 x 32 posterior states), in ms per update, against the same updates written in PyTorch
//    Python (Debian's python3-torch, benchmarks/py/wm_update.py, a port with the same layers and
//    parameter names); both sides report the median wall-clock and process CPU time of --repeats
//    updates after --warmup ones on one fixed batch with the same thread count. The Python port
//    first loads this program's initial networks and batch, repeats two agent updates from the same
//    torch seed and reports the largest relative difference of every metric (loss terms, gradient
//    norms, entropies, actor and critic losses) to ClearSight's;
//  - the agent's collection loop on walker-walk at 64 x 64 from the camera (3, 90, -45):
//    WorldModelAgent::act (posterior filter + actor sample + exploration noise) + PixelEnv::step
//    (physics + rendering) per step, against PixelEnv::step with random actions (physics +
//    rendering), rendering alone (PixelEnv::render_frame of the same state), and the physics
//    alone (the state-observation env), in steps/s.
//
// Usage: bench_wm [--repeats 5] [--warmup 2] [--python /usr/bin/python3] [--no-python 1]
//                 [--keep-dir 1] [google benchmark flags]
// --keep-dir 1 leaves the directory handed to the Python script (printed at the end) so that
// `wm_update.py --dir DIR` can be rerun on its own.
// Allocator: by default the C++ side runs with ClearSight's runtime (malloc mmap/trim thresholds
// raised to 256/512 MiB) and the Python child with glibc's defaults, as a Python user runs it.
// CS_BENCH_DEFAULT_MALLOC=1 gives both sides glibc's defaults; MALLOC_MMAP_THRESHOLD_=268435456
// MALLOC_TRIM_THRESHOLD_=536870912 in the environment gives both sides ClearSight's values.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "bench_util.h"
#include "clearsight/core/log.h"
#include "clearsight/core/runtime.h"
#include "clearsight/core/safetensors.h"
#include "clearsight/envs/env.h"
#include "clearsight/envs/pixel_env.h"
#include "clearsight/sensor/learner.h"
#include "clearsight/wm/agent.h"

namespace {

using namespace clearsight;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr std::int64_t kBatch = 16, kLength = 32, kImage = 64, kAction = 6;
constexpr const char* kTask = "walker-walk";
constexpr std::uint64_t kParitySeed = 1234;
constexpr int kParityUpdates = 2;

int g_warmup = 2;
// Wall and process CPU seconds of each timed update, by benchmark ("wm", "agent").
std::map<std::string, std::vector<double>> g_times, g_cpu_times;

double cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

/// Times one call of fn into g_times[key] and g_cpu_times[key].
template <typename Fn>
void timed(const std::string& key, Fn&& fn) {
  const auto start = Clock::now();
  const double start_cpu = cpu_seconds();
  fn();
  g_cpu_times[key].push_back(cpu_seconds() - start_cpu);
  g_times[key].push_back(std::chrono::duration<double>(Clock::now() - start).count());
}

/// Also records CPU seconds per iteration (GB's process CPU time).
class Reporter : public bench::CapturingReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const auto& run : runs) {
      cpu_[run.benchmark_name()] =
          run.GetAdjustedCPUTime() / benchmark::GetTimeUnitMultiplier(run.time_unit);
    }
    CapturingReporter::ReportRuns(runs);
  }
  double cpu_seconds(const std::string& name) const {
    const auto it = cpu_.find(name);
    return it == cpu_.end() ? 0.0 : it->second;
  }

 private:
  std::map<std::string, double> cpu_;
};

wm::WorldModelConfig model_config() {
  wm::WorldModelConfig c;  // The defaults are the stated sizes; spelled out for the reader.
  c.image_size = kImage;
  c.cnn_depth = 32;
  c.deter = 200;
  c.stoch = 30;
  c.discrete = 0;
  c.hidden = 200;
  c.kl_balance = 0.8;
  c.free_nats = 3.0;
  c.lr = 6e-4;
  c.eps = 1e-5;
  c.grad_clip = 100.0;
  return c;
}

wm::BehaviorConfig behavior_config() {
  wm::BehaviorConfig c;
  c.horizon = 15;
  c.hidden = 200;
  c.layers = 3;
  return c;
}

/// Uniform random frames, actions in [-1, 1], Gaussian rewards; every window starts an episode.
wm::SequenceBatch random_batch(std::uint64_t seed) {
  torch::manual_seed(seed);
  wm::SequenceBatch b;
  b.images = torch::randint(0, 256, {kBatch, kLength, kImage, kImage, 3}, torch::kUInt8);
  b.prev_actions = torch::rand({kBatch, kLength, kAction}) * 2 - 1;
  b.rewards = torch::randn({kBatch, kLength});
  b.is_first = torch::zeros({kBatch, kLength}, torch::kBool);
  b.is_first.select(1, 0).fill_(true);
  b.terminals = torch::zeros({kBatch, kLength}, torch::kBool);
  return b;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const auto n = v.size();
  return n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

std::int64_t parameter_count(const torch::nn::Module& m) {
  std::int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}

void BM_WorldModelUpdate(benchmark::State& state) {
  torch::manual_seed(0);
  const auto c = model_config();
  wm::WorldModel model(c, kAction, 0);
  wm::ClippedAdam optimizer(*model, c.lr, c.eps, c.grad_clip);
  const auto batch = random_batch(1);
  wm::WorldModelMetrics m;
  for (int i = 0; i < g_warmup; ++i) wm::update_world_model(model, optimizer, batch, m);
  g_times["wm"].clear();
  g_cpu_times["wm"].clear();
  for (auto _ : state) {
    timed("wm", [&] {
      auto post = wm::update_world_model(model, optimizer, batch, m);
      benchmark::DoNotOptimize(post.deter.data_ptr<float>());
    });
  }
  state.counters["loss"] = m.loss;
  state.SetItemsProcessed(state.iterations());
}

void BM_AgentUpdate(benchmark::State& state) {
  torch::manual_seed(0);
  wm::WorldModelAgent agent(model_config(), behavior_config(), kAction, 0);
  const auto batch = random_batch(1);
  for (int i = 0; i < g_warmup; ++i) agent.update(batch, true);
  g_times["agent"].clear();
  g_cpu_times["agent"].clear();
  wm::AgentMetrics m;
  for (auto _ : state) {
    // (No DoNotOptimize on the double: the update has side effects, and GCC's "+m,r" asm
    // operand garbled the value here.)
    timed("agent", [&] { m = agent.update(batch, true); });
  }
  state.counters["loss"] = m.model.loss;
  state.counters["actor_loss"] = m.behavior.actor_loss;
  state.SetItemsProcessed(state.iterations());
}

// SENSOR's update at the same sizes: the world model on the agent batch, the joint motor +
// sensor behaviour on the ensemble's imitation reward, expert encoding and a discriminator step.
void BM_SensorUpdate(benchmark::State& state) {
  sensor::SensorTrainConfig c;
  c.agent.model = model_config();
  c.agent.behavior = behavior_config();
  c.agent.batch = kBatch;
  c.agent.length = kLength;
  torch::manual_seed(0);
  sensor::SensorLearner learner(c, kAction);
  const auto with_camera = [](wm::SequenceBatch b) {
    b.prev_actions = torch::cat({b.prev_actions, torch::zeros({kBatch, kLength, 3})}, -1);
    b.conditions = torch::rand({kBatch, kLength, 3}) * 2 - 1;
    return b;
  };
  const auto batch = with_camera(random_batch(1)), expert = with_camera(random_batch(2));
  wm::MetricsWindow window;
  for (int i = 0; i < g_warmup; ++i) learner.update(batch, expert, window);
  g_times["sensor"].clear();
  g_cpu_times["sensor"].clear();
  for (auto _ : state) timed("sensor", [&] { learner.update(batch, expert, window); });
  state.SetItemsProcessed(state.iterations());
}

envs::PixelOptions pixel_options() {
  envs::PixelOptions o;
  o.render.width = o.render.height = static_cast<int>(kImage);
  o.camera = {3.0, 90.0, -45.0};
  return o;
}

std::vector<double> random_actions(std::size_t n) {
  std::mt19937_64 rng(0);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  std::vector<double> a(n);
  for (auto& x : a) x = u(rng);
  return a;
}

constexpr int kActionRows = 4096;

// The collection loop of wm train: filter the frame, act (actor sample + noise), step + render.
void BM_AgentEnvStep(benchmark::State& state) {
  envs::PixelEnv env(envs::make_mujoco_env(kTask), pixel_options());
  torch::manual_seed(0);
  const auto act_size = static_cast<std::int64_t>(env.spec().action_space.size());
  wm::WorldModelAgent agent(model_config(), behavior_config(), act_size, 0);
  std::vector<std::uint8_t> frame(env.observation_bytes());
  std::vector<double> action(static_cast<std::size_t>(act_size));
  std::uint64_t episode = 0;
  env.reset(episode, frame);
  auto filter = agent.initial_filter();
  for (auto _ : state) {
    agent.act(filter, frame, {}, true, action);
    const auto r = env.step(action, frame);
    if (r.terminated || r.truncated) {
      env.reset(++episode, frame);
      filter = agent.initial_filter();
    }
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(env.renderer().backend());
}

// Physics + rendering with random actions.
void BM_EnvStepRender(benchmark::State& state) {
  envs::PixelEnv env(envs::make_mujoco_env(kTask), pixel_options());
  const auto nu = env.spec().action_space.size();
  const auto actions = random_actions(kActionRows * nu);
  std::vector<std::uint8_t> frame(env.observation_bytes());
  std::uint64_t episode = 0;
  env.reset(episode, frame);
  std::size_t k = 0;
  for (auto _ : state) {
    const std::span<const double> a(actions.data() + (k++ % kActionRows) * nu, nu);
    const auto r = env.step(a, frame);
    if (r.terminated || r.truncated) env.reset(++episode, frame);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(env.renderer().backend());
}

// Rendering alone: the same state drawn again and again.
void BM_RenderOnly(benchmark::State& state) {
  envs::PixelEnv env(envs::make_mujoco_env(kTask), pixel_options());
  const auto nu = env.spec().action_space.size();
  const auto actions = random_actions(kActionRows * nu);
  std::vector<std::uint8_t> frame(env.observation_bytes());
  env.reset(0, frame);
  for (int i = 0; i < 20; ++i) {
    env.step(std::span<const double>(actions.data() + i * nu, nu), frame);
  }
  for (auto _ : state) {
    env.render_frame(frame);
    benchmark::DoNotOptimize(frame.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(env.renderer().backend());
}

// Physics alone: the state-observation environment of the same task.
void BM_EnvStepPhysics(benchmark::State& state) {
  auto env = envs::make_env(kTask);
  std::vector<double> obs = env->reset(0);
  const auto nu = env->spec().action_space.size();
  const auto actions = random_actions(kActionRows * nu);
  std::size_t k = 0;
  for (auto _ : state) {
    const std::span<const double> a(actions.data() + (k++ % kActionRows) * nu, nu);
    const auto r = env->step(a, std::span<double>(obs));
    if (r.terminated || r.truncated) env->reset(std::span<double>(obs));
  }
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK(BM_AgentEnvStep)->MinTime(3.0)->UseRealTime();
BENCHMARK(BM_EnvStepRender)->MinTime(2.0)->UseRealTime();
BENCHMARK(BM_RenderOnly)->MinTime(2.0)->UseRealTime();
BENCHMARK(BM_EnvStepPhysics)->MinTime(1.0)->UseRealTime();

nlohmann::json metrics_json(const wm::AgentMetrics& m) {
  const auto& w = m.model;
  const auto& b = m.behavior;
  return {{"loss", w.loss},
          {"image_loss", w.image_loss},
          {"reward_loss", w.reward_loss},
          {"kl", w.kl},
          {"kl_loss", w.kl_loss},
          {"grad_norm", w.grad_norm},
          {"prior_entropy", w.prior_entropy},
          {"posterior_entropy", w.posterior_entropy},
          {"actor_loss", b.actor_loss},
          {"critic_loss", b.critic_loss},
          {"imagined_return", b.imagined_return},
          {"imagined_reward", b.imagined_reward},
          {"actor_entropy", b.actor_entropy},
          {"value", b.value},
          {"actor_grad_norm", b.actor_grad_norm},
          {"critic_grad_norm", b.critic_grad_norm}};
}

struct ParameterCounts {
  std::int64_t world_model = 0, actor = 0, critic = 0;
};

/// Writes the initial networks, the batch, the settings and the metrics of kParityUpdates agent
/// updates from kParitySeed into dir for the Python port to repeat.
ParameterCounts write_parity_inputs(const fs::path& dir) {
  torch::manual_seed(0);
  wm::WorldModelAgent agent(model_config(), behavior_config(), kAction, 0);
  const auto batch = random_batch(1);
  agent.save_networks(dir);
  safetensors::save(dir / "batch.safetensors", {{"images", batch.images},
                                                {"prev_actions", batch.prev_actions},
                                                {"rewards", batch.rewards},
                                                {"is_first", batch.is_first.to(torch::kUInt8)}});
  torch::manual_seed(kParitySeed);
  nlohmann::json metrics = nlohmann::json::array();
  for (int i = 0; i < kParityUpdates; ++i) metrics.push_back(metrics_json(agent.update(batch)));
  std::ofstream(dir / "cpp_metrics.json") << metrics.dump(2) << "\n";
  std::ofstream(dir / "settings.json")
      << nlohmann::json{{"parity_seed", kParitySeed}}.dump(2) << "\n";
  return {parameter_count(*agent.model()), parameter_count(*agent.behavior().actor()),
          parameter_count(*agent.behavior().critic())};
}

double value_or(const std::map<std::string, double>& values, const std::string& key,
                double fallback) {
  const auto it = values.find(key);
  return it == values.end() ? fallback : it->second;
}

}  // namespace

int main(int argc, char** argv) {
  auto args = bench::split_args(argc, argv,
                                {"--repeats", "--warmup", "--python", "--no-python", "--keep-dir"});
  const int repeats = std::stoi(args.get("--repeats", "5"));
  g_warmup = std::stoi(args.get("--warmup", "2"));
  const std::string python = args.get("--python", "/usr/bin/python3");
  const bool run_python = args.get("--no-python", "0") == "0";
  const bool keep_dir = args.get("--keep-dir", "0") != "0";
  auto& rest = args.rest;
  int rest_argc = static_cast<int>(rest.size());
  log::set_verbosity(-1);
  // ClearSight's default runtime (threads: 1 on <= 2 cores, else cores / 2; malloc thresholds
  // raised); CS_BENCH_DEFAULT_MALLOC=1 keeps glibc's default thresholds instead.
  RuntimeOptions options;
  options.tune_malloc = std::getenv("CS_BENCH_DEFAULT_MALLOC") == nullptr;
  const auto runtime = init_runtime(options);
  // The Python child gets the same thread count (torch.set_num_threads and a one-thread BLAS when
  // the runtime chose one thread, as it does on <= 2 cores).
  setenv("OPENBLAS_NUM_THREADS", std::to_string(runtime.threads).c_str(), 1);

  const auto blas = blas_info();
  const bool py_malloc_env = std::getenv("MALLOC_MMAP_THRESHOLD_") != nullptr;
  std::printf(
      "machine: %u cores, %s, %d thread(s) each side, malloc thresholds: C++ %s, Python %s, sgemm "
      "512x512 %.1f GFLOP/s (C++)\n",
      std::thread::hardware_concurrency(),
      (blas.detail.empty() ? blas.vendor : blas.detail).c_str(), runtime.threads,
      runtime.malloc_tuned ? "raised" : "glibc default",
      py_malloc_env ? "from MALLOC_MMAP_THRESHOLD_" : "glibc default", measure_matmul_gflops());
  std::printf(
      "world model: batch %lld x %lld frames of %lld x %lld, cnn depth 32, deter 200, Gaussian "
      "stoch 30, hidden 200, action %lld; behaviour: horizon 15, 3 x 200 ELU actor and critic; "
      "median of %d updates after %d warm-up\n",
      static_cast<long long>(kBatch), static_cast<long long>(kLength),
      static_cast<long long>(kImage), static_cast<long long>(kImage),
      static_cast<long long>(kAction), repeats, g_warmup);
  std::fflush(stdout);

  const fs::path dir = fs::temp_directory_path() / ("cs_bench_wm_" + std::to_string(getpid()));
  fs::create_directories(dir);
  const auto counts = write_parity_inputs(dir);

  benchmark::RegisterBenchmark("BM_WorldModelUpdate", BM_WorldModelUpdate)
      ->Unit(benchmark::kMillisecond)
      ->Iterations(repeats)
      ->UseRealTime();
  benchmark::RegisterBenchmark("BM_AgentUpdate", BM_AgentUpdate)
      ->Unit(benchmark::kMillisecond)
      ->Iterations(repeats)
      ->UseRealTime();
  benchmark::RegisterBenchmark("BM_SensorUpdate", BM_SensorUpdate)
      ->Unit(benchmark::kMillisecond)
      ->Iterations(repeats)
      ->UseRealTime();
  benchmark::Initialize(&rest_argc, rest.data());
  Reporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);

  std::map<std::string, double> py;
  if (run_python) {
    const fs::path script = fs::path(CS_SOURCE_DIR) / "benchmarks/py/wm_update.py";
    const auto c = model_config();
    const auto bc = behavior_config();
    char options[1024];
    std::snprintf(options, sizeof(options),
                  "--image-size %lld --cnn-depth %lld --deter %lld --stoch %lld --hidden %lld "
                  "--batch %lld --length %lld --action-size %lld --kl-balance %g --free-nats %g "
                  "--lr %g --eps %g --grad-clip %g --horizon %lld --behavior-hidden %lld "
                  "--behavior-layers %lld --behavior --warmup %d --repeats %d --threads %d "
                  "--dir %s --json %s",
                  static_cast<long long>(c.image_size), static_cast<long long>(c.cnn_depth),
                  static_cast<long long>(c.deter), static_cast<long long>(c.stoch),
                  static_cast<long long>(c.hidden), static_cast<long long>(kBatch),
                  static_cast<long long>(kLength), static_cast<long long>(kAction), c.kl_balance,
                  c.free_nats, c.lr, c.eps, c.grad_clip, static_cast<long long>(bc.horizon),
                  static_cast<long long>(bc.hidden), static_cast<long long>(bc.layers), g_warmup,
                  repeats, runtime.threads, dir.string().c_str(),
                  (dir / "python.json").string().c_str());
    py = bench::run_python(
        python, script.string(), options,
        {"python_wm_update_ms", "python_agent_update_ms", "python_wm_update_cpu_ms",
         "python_agent_update_cpu_ms", "python_params_world_model", "python_params_actor",
         "python_params_critic", "parity_model_max_rel_diff", "parity_behavior_max_rel_diff"});
  }

  const double wm_ms = 1e3 * median(g_times["wm"]);
  const double agent_ms = 1e3 * median(g_times["agent"]);
  const double wm_cpu = 1e3 * median(g_cpu_times["wm"]);
  const double agent_cpu = 1e3 * median(g_cpu_times["agent"]);
  const double py_wm = value_or(py, "python_wm_update_ms", 0);
  const double py_agent = value_or(py, "python_agent_update_ms", 0);
  const double py_wm_cpu = value_or(py, "python_wm_update_cpu_ms", 0);
  const double py_agent_cpu = value_or(py, "python_agent_update_cpu_ms", 0);
  const auto ratio = [](double py_value, double cpp_value) {
    return py_value > 0 && cpp_value > 0 ? py_value / cpp_value : 0.0;
  };
  std::printf(
      "\nms per update, median of %d after %d warm-up, one fixed batch (ratio = Python / C++; "
      "wall clock, then process CPU time):\n",
      repeats, g_warmup);
  std::printf(
      "%-34s C++ %8.1f ms  Python %8.1f ms  ratio %.2f | CPU %8.1f / %8.1f ms  ratio %.2f\n",
      "world model (update_world_model)", wm_ms, py_wm, ratio(py_wm, wm_ms), wm_cpu, py_wm_cpu,
      ratio(py_wm_cpu, wm_cpu));
  std::printf(
      "%-34s C++ %8.1f ms  Python %8.1f ms  ratio %.2f | CPU %8.1f / %8.1f ms  ratio %.2f\n",
      "model + behaviour (agent update)", agent_ms, py_agent, ratio(py_agent, agent_ms), agent_cpu,
      py_agent_cpu, ratio(py_agent_cpu, agent_cpu));
  if (!g_times["sensor"].empty()) {
    const double sensor_ms = 1e3 * median(g_times["sensor"]);
    const double sensor_cpu = 1e3 * median(g_cpu_times["sensor"]);
    std::printf("%-34s C++ %8.1f ms  = %.2f x the agent update (CPU %.2f x)\n",
                "SENSOR update (model + 2 policies + ensemble of 5)", sensor_ms,
                agent_ms > 0 ? sensor_ms / agent_ms : 0.0,
                agent_cpu > 0 ? sensor_cpu / agent_cpu : 0.0);
  }
  const auto same = [&](std::int64_t mine, const char* key) {
    const double theirs = value_or(py, key, -1);
    return std::string(static_cast<double>(mine) == theirs ? "equal" : "DIFFERENT") + " (" +
           std::to_string(mine) + " vs " + std::to_string(static_cast<std::int64_t>(theirs)) + ")";
  };
  std::printf("parameters C++ vs Python: world model %s, actor %s, critic %s\n",
              same(counts.world_model, "python_params_world_model").c_str(),
              same(counts.actor, "python_params_actor").c_str(),
              same(counts.critic, "python_params_critic").c_str());
  std::printf(
      "parity (%d agent updates from the same weights, batch and torch seed): largest relative "
      "metric difference, model %.2e, behaviour %.2e\n",
      kParityUpdates, value_or(py, "parity_model_max_rel_diff", -1),
      value_or(py, "parity_behavior_max_rel_diff", -1));

  const auto rate = [&](const std::string& name) {
    const double wall = reporter.seconds(name), cpu = reporter.cpu_seconds(name);
    return std::make_pair(wall > 0 ? 1 / wall : 0.0, cpu > 0 ? 1 / cpu : 0.0);
  };
  const auto loop = rate("BM_AgentEnvStep/min_time:3.000/real_time");
  const auto step = rate("BM_EnvStepRender/min_time:2.000/real_time");
  const auto render = rate("BM_RenderOnly/min_time:2.000/real_time");
  const auto physics = rate("BM_EnvStepPhysics/min_time:1.000/real_time");
  if (loop.first > 0 && step.first > 0 && render.first > 0) {
    std::printf(
        "\n%s at %lld x %lld from camera (3, 90, -45), %s rendering; per second of wall clock "
        "(of process CPU time):\n",
        kTask, static_cast<long long>(kImage), static_cast<long long>(kImage),
        envs::PixelEnv(envs::make_mujoco_env(kTask), pixel_options()).renderer().backend());
    const auto line = [&](const char* what, std::pair<double, double> r, const char* unit) {
      std::printf("%-40s %7.0f (%7.0f) %s  %.2f (%.2f) of rendering alone\n", what, r.first,
                  r.second, unit, r.first / render.first, r.second / render.second);
    };
    line("rendering alone (render_frame)", render, "frames/s");
    if (physics.first > 0) line("physics alone (state env)", physics, "steps/s ");
    line("env + rendering (PixelEnv::step)", step, "steps/s ");
    line("agent loop (act + PixelEnv::step)", loop, "steps/s ");
    std::printf("agent loop / env + rendering: %.2f (%.2f)\n", loop.first / step.first,
                loop.second / step.second);
  }
  if (keep_dir) {
    std::printf("\nkept %s (networks, batch, C++ metrics; python.json)\n", dir.string().c_str());
  } else {
    std::error_code ignored;
    fs::remove_all(dir, ignored);
  }
  return 0;
}
