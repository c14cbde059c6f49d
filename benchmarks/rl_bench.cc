// RL throughput against baselines measured in the same run:
//  - SAC gradient updates/s (Hopper sizes: obs 11, act 3, 256-256 networks, batch 256) vs the
//    same update written in PyTorch Python (benchmarks/py/rl_sac.py, two nn.Sequential critics
//    as in CleanRL);
//  - PPO env-steps/s (Hopper-v4, 2048-step rollout + 10 epochs of minibatch 64, 64-64 tanh
//    networks) vs the same loop in PyTorch Python, whose environment is a synthetic one with no
//    physics (Debian has no MuJoCo Python bindings), so the Python figure is an upper bound;
//  - batch-1 policy inference latency (rl::Policy::act on a std::span) vs LibTorch's raw forward
//    of the same actor on a ready tensor.
//
// Usage: bench_rl [--python /usr/bin/python3] [google benchmark flags]
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "bench_util.h"
#include "clearsight/core/log.h"
#include "clearsight/core/runtime.h"
#include "clearsight/rl/policy_io.h"
#include "clearsight/rl/trainer.h"

namespace {

using namespace clearsight;
namespace fs = std::filesystem;

constexpr std::int64_t kObs = 11, kAct = 3;
constexpr std::int64_t kPpoSteps = 4096;

void BM_SacUpdate(benchmark::State& state) {
  torch::manual_seed(0);
  rl::Sac sac(rl::SacConfig{}, kObs, kAct);
  rl::ReplayBuffer buffer(20000, kObs, kAct, 256);
  buffer.add(torch::randn({20000, kObs}), torch::rand({20000, kAct}) * 2 - 1, torch::randn({20000}),
             torch::randn({20000, kObs}), torch::zeros({20000}));
  for (auto _ : state) {
    auto m = sac.update(buffer.sample());
    benchmark::DoNotOptimize(m.critic_loss);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SacUpdate)->Unit(benchmark::kMillisecond)->MinTime(3.0)->UseRealTime();

void BM_PpoTrain(benchmark::State& state) {
  const fs::path dir = fs::temp_directory_path() / ("cs_bench_ppo_" + std::to_string(getpid()));
  rl::RlTrainConfig c;
  c.env = "Hopper-v4";
  c.algo = "ppo";
  c.steps = kPpoSteps;
  c.eval_every = 1 << 30;
  c.eval_episodes = 1;
  c.checkpoint_every = 1 << 30;
  c.log_every = 1 << 30;
  for (auto _ : state) {
    std::error_code ec;
    fs::remove_all(dir, ec);
    rl::train_rl(c, dir);
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
  state.SetItemsProcessed(state.iterations() * kPpoSteps);
}
BENCHMARK(BM_PpoTrain)->Unit(benchmark::kMillisecond)->Iterations(2)->UseRealTime();

std::unique_ptr<rl::Policy> g_policy;
rl::TanhGaussianActor g_actor{nullptr};

void BM_PolicyActBatch1(benchmark::State& state) {
  std::vector<double> obs(kObs, 0.1), action(kAct);
  for (auto _ : state) {
    g_policy->act(obs, action, true);
    benchmark::DoNotOptimize(action.data());
  }
}
BENCHMARK(BM_PolicyActBatch1)->MinTime(1.0)->UseRealTime();

void BM_RawActorForwardBatch1(benchmark::State& state) {
  const auto obs = torch::full({1, kObs}, 0.1f);
  torch::NoGradGuard no_grad;
  for (auto _ : state) {
    auto a = g_actor->mean_action(obs);
    benchmark::DoNotOptimize(a.data_ptr<float>());
  }
}
BENCHMARK(BM_RawActorForwardBatch1)->MinTime(1.0)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  auto args = bench::split_args(argc, argv, {"--python"});
  const std::string python = args.get("--python", "/usr/bin/python3");
  auto& rest = args.rest;
  int rest_argc = static_cast<int>(rest.size());
  log::set_verbosity(-1);
  init_runtime();
  torch::manual_seed(0);
  const fs::path dir = fs::temp_directory_path() / ("cs_bench_rl_" + std::to_string(getpid()));
  g_actor = rl::TanhGaussianActor(kObs, kAct, std::vector<std::int64_t>{256, 256});
  rl::save_policy(dir / "policy",
                  {{"env", "Hopper-v4"},
                   {"algo", "sac"},
                   {"actor", "tanh_gaussian"},
                   {"hidden", {256, 256}},
                   {"obs_size", kObs},
                   {"act_size", kAct}},
                  *g_actor, nullptr);
  g_policy = rl::load_policy(dir / "policy");

  benchmark::Initialize(&rest_argc, rest.data());
  bench::CapturingReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  const double sac = reporter.seconds("BM_SacUpdate/min_time:3.000/real_time");
  const double ppo = reporter.seconds("BM_PpoTrain/iterations:2/real_time") / kPpoSteps;
  const double act = reporter.seconds("BM_PolicyActBatch1/min_time:1.000/real_time");
  const double raw = reporter.seconds("BM_RawActorForwardBatch1/min_time:1.000/real_time");
  const fs::path script_dir = fs::path(CS_SOURCE_DIR) / "benchmarks/py";
  const auto py_sac = bench::run_python(python, (script_dir / "rl_sac.py").string(), "",
                                        {"python_sac_seconds_per_update"});
  const auto py_ppo = bench::run_python(python, (script_dir / "rl_ppo.py").string(),
                                        std::to_string(kPpoSteps), {"python_ppo_seconds_per_step"});
  std::printf("\n%-44s %10.1f updates/s\n", "SAC update (ClearSight, Hopper sizes)", 1 / sac);
  if (py_sac.count("python_sac_seconds_per_update")) {
    const double p = py_sac.at("python_sac_seconds_per_update");
    std::printf("%-44s %10.1f updates/s  ClearSight/Python %.2fx\n", "SAC update (PyTorch Python)",
                1 / p, p / sac);
  }
  std::printf("%-44s %10.1f steps/s\n", "PPO train (ClearSight, Hopper-v4 physics)", 1 / ppo);
  if (py_ppo.count("python_ppo_seconds_per_step")) {
    const double p = py_ppo.at("python_ppo_seconds_per_step");
    std::printf("%-44s %10.1f steps/s  ClearSight/Python %.2fx\n",
                "PPO train (PyTorch Python, no physics)", 1 / p, p / ppo);
  }
  std::printf("%-44s %10.2f us  (%.2fx the raw forward)\n",
              "policy act, batch 1 (std::span in/out)", act * 1e6, act / raw);
  std::printf("%-44s %10.2f us\n", "raw LibTorch actor forward, batch 1", raw * 1e6);
  std::error_code ec;
  fs::remove_all(dir, ec);
  return 0;
}
