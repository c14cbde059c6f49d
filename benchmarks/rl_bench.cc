// RL throughput against baselines measured in the same run, on one core:
//  - SAC gradient updates/s (Hopper sizes: obs 11, act 3; --hidden, --batch; default 256-256,
//    batch 256) on the fast path and on LibTorch autograd, vs the same update written in PyTorch
//    Python (benchmarks/py/rl_sac.py, two nn.Sequential critics as in CleanRL), and its GFLOP/s
//    against the SGEMM rate measured in the run (the roofline);
//  - PPO env-steps/s (Hopper-v4, 2048-step rollout + 10 epochs of minibatch 64, 64-64 tanh
//    networks) vs the same loop in PyTorch Python, whose environment is a synthetic one with no
//    physics (Debian has no MuJoCo Python bindings), so the Python figure is an upper bound;
//  - batch-1 policy inference latency (rl::Policy::act on a std::span) vs LibTorch's raw forward
//    of the same actor on a ready tensor.
//
// Usage: bench_rl [--hidden 128,128] [--batch 128] [--json] [--no-ppo]
//                 [--python /usr/bin/python3] [google benchmark flags]
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "bench_util.h"
#include "clearsight/core/log.h"
#include "clearsight/core/runtime.h"
#include "clearsight/core/strings.h"
#include "clearsight/rl/policy_io.h"
#include "clearsight/rl/trainer.h"

namespace {

using namespace clearsight;
namespace fs = std::filesystem;

constexpr std::int64_t kObs = 11, kAct = 3;
constexpr std::int64_t kPpoSteps = 4096;

std::vector<std::int64_t> g_hidden = {256, 256};
std::int64_t g_batch = 256;

// One SAC update at the chosen sizes with the given backend (a 20000-transition buffer).
void sac_update(benchmark::State& state, const std::string& backend) {
  rl::SacConfig config;
  config.hidden = g_hidden;
  config.batch_size = g_batch;
  config.backend = backend;
  rl::Sac sac(config, kObs, kAct, 0, 0);
  rl::ReplayBuffer buffer(20000, kObs, kAct, g_batch);
  torch::manual_seed(0);
  buffer.add(torch::randn({20000, kObs}), torch::rand({20000, kAct}) * 2 - 1, torch::randn({20000}),
             torch::randn({20000, kObs}), torch::zeros({20000}));
  for (int i = 0; i < 20; ++i) sac.update(buffer.sample(sac.generator()));
  for (auto _ : state) {
    auto m = sac.update(buffer.sample(sac.generator()));
    benchmark::DoNotOptimize(m.critic_loss);
  }
  state.SetItemsProcessed(state.iterations());
}

// The machine's single-core SGEMM rate (the roofline): a 1024^3 product through the same BLAS.
void BM_Gemm(benchmark::State& state) {
  const auto a = torch::randn({1024, 1024});
  const auto b = torch::randn({1024, 1024});
  auto c = torch::empty({1024, 1024});
  for (auto _ : state) {
    torch::mm_out(c, a, b);
    benchmark::DoNotOptimize(c.data_ptr<float>());
  }
}
BENCHMARK(BM_Gemm)->MinTime(1.0)->UseRealTime();

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

std::unique_ptr<rl::Policy> g_policy;
rl::TanhGaussianActor g_actor{nullptr};

// rl::Policy::act, batch 1: the fast path since the small-network issue.
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
  auto args = bench::split_args(argc, argv, {"--python", "--hidden", "--batch"});
  const std::string python = args.get("--python", "/usr/bin/python3");
  bool json = false;
  bool skip_ppo = false;
  std::vector<char*> rest_args;
  for (char* a : args.rest) {
    if (std::string(a) == "--json") {
      json = true;
    } else if (std::string(a) == "--no-ppo") {
      skip_ppo = true;
    } else {
      rest_args.push_back(a);
    }
  }
  args.rest = rest_args;
  try {
    g_hidden.clear();
    for (const auto& part : split(args.get("--hidden", "256,256"), ',')) {
      g_hidden.push_back(std::stoll(part));
    }
    g_batch = std::stoll(args.get("--batch", "256"));
  } catch (const std::exception&) {
    std::fprintf(stderr,
                 "clearsight: usage error: --hidden takes sizes like 128,128 and --batch "
                 "a positive integer\n");
    return 1;
  }
  if (g_hidden.empty() || g_batch <= 0 ||
      std::any_of(g_hidden.begin(), g_hidden.end(), [](std::int64_t h) { return h <= 0; })) {
    std::fprintf(stderr, "clearsight: usage error: --hidden and --batch must be positive\n");
    return 1;
  }
  auto& rest = args.rest;
  int rest_argc = static_cast<int>(rest.size());
  log::set_verbosity(-1);
  init_runtime();
  // Figures are per core: one intra-op thread, one BLAS thread.
  torch::set_num_threads(1);
  set_blas_threads(1);
  benchmark::RegisterBenchmark("BM_SacUpdateFast", sac_update, std::string("fast"))
      ->MinTime(2.0)
      ->UseRealTime();
  benchmark::RegisterBenchmark("BM_SacUpdateTorch", sac_update, std::string("torch"))
      ->MinTime(2.0)
      ->UseRealTime();
  if (!skip_ppo) {
    benchmark::RegisterBenchmark("BM_PpoTrain", BM_PpoTrain)
        ->Unit(benchmark::kMillisecond)
        ->Iterations(2)
        ->UseRealTime();
  }
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
  const double sac = reporter.seconds("BM_SacUpdateFast/min_time:2.000/real_time");
  const double sac_torch = reporter.seconds("BM_SacUpdateTorch/min_time:2.000/real_time");
  const double gemm = reporter.seconds("BM_Gemm/min_time:1.000/real_time");
  const double ppo = reporter.seconds("BM_PpoTrain/iterations:2/real_time") / kPpoSteps;
  const double act = reporter.seconds("BM_PolicyActBatch1/min_time:1.000/real_time");
  const double raw = reporter.seconds("BM_RawActorForwardBatch1/min_time:1.000/real_time");
  const fs::path script_dir = fs::path(CS_SOURCE_DIR) / "benchmarks/py";
  std::string hidden_arg;
  for (auto h : g_hidden) hidden_arg += (hidden_arg.empty() ? "" : ",") + std::to_string(h);
  const auto py_sac = bench::run_python(python, (script_dir / "rl_sac.py").string(),
                                        hidden_arg + " " + std::to_string(g_batch),
                                        {"python_sac_seconds_per_update"});
  std::map<std::string, double> py_ppo;
  if (!skip_ppo) {
    py_ppo = bench::run_python(python, (script_dir / "rl_ppo.py").string(),
                               std::to_string(kPpoSteps), {"python_ppo_seconds_per_step"});
  }
  const double flops = rl::sac_update_flops(kObs, kAct, 0, g_hidden, g_batch);
  const double gemm_gflops = 2.0 * 1024.0 * 1024.0 * 1024.0 / gemm / 1e9;
  nlohmann::json j = {{"hidden", g_hidden},
                      {"batch", g_batch},
                      {"obs", kObs},
                      {"act", kAct},
                      {"threads", 1},
                      {"sac_updates_per_s", 1 / sac},
                      {"sac_updates_per_s_torch", 1 / sac_torch},
                      {"sac_fast_over_torch", sac_torch / sac},
                      {"sac_update_mflop", flops / 1e6},
                      {"sac_update_gflops", flops / sac / 1e9},
                      {"sac_update_gflops_torch", flops / sac_torch / 1e9},
                      {"gemm_gflops_1024", gemm_gflops},
                      {"sac_roofline_share", flops / sac / 1e9 / gemm_gflops},
                      {"act_us", act * 1e6},
                      {"act_torch_forward_us", raw * 1e6},
                      {"act_over_torch_forward", act / raw}};
  if (py_sac.count("python_sac_seconds_per_update")) {
    const double p = py_sac.at("python_sac_seconds_per_update");
    j["sac_updates_per_s_python"] = 1 / p;
    j["sac_fast_over_python"] = p / sac;
    j["sac_torch_over_python"] = p / sac_torch;
  }
  if (!skip_ppo) {
    j["ppo_steps_per_s"] = 1 / ppo;
    if (py_ppo.count("python_ppo_seconds_per_step")) {
      j["ppo_steps_per_s_python_no_physics"] = 1 / py_ppo.at("python_ppo_seconds_per_step");
    }
  }
  if (json) {
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    std::printf("\nSAC update, obs %lld act %lld, hidden %s, batch %lld (%.1f MFLOP), one core:\n",
                static_cast<long long>(kObs), static_cast<long long>(kAct), hidden_arg.c_str(),
                static_cast<long long>(g_batch), flops / 1e6);
    std::printf("  %-40s %9.1f updates/s  %6.1f GFLOP/s  %4.0f%% of the GEMM rate\n",
                "fast path (default)", 1 / sac, flops / sac / 1e9,
                100 * flops / sac / 1e9 / gemm_gflops);
    std::printf("  %-40s %9.1f updates/s  %6.1f GFLOP/s  fast/torch %.2fx\n",
                "LibTorch autograd (reference)", 1 / sac_torch, flops / sac_torch / 1e9,
                sac_torch / sac);
    if (j.contains("sac_updates_per_s_python")) {
      std::printf("  %-40s %9.1f updates/s                  fast/Python %.2fx\n", "PyTorch Python",
                  j["sac_updates_per_s_python"].get<double>(),
                  j["sac_fast_over_python"].get<double>());
    }
    std::printf("  %-40s %9.1f GFLOP/s\n", "SGEMM 1024^3 (the roofline)", gemm_gflops);
    if (!skip_ppo) {
      std::printf("%-42s %10.1f steps/s\n", "PPO train (ClearSight, Hopper-v4 physics)", 1 / ppo);
      if (j.contains("ppo_steps_per_s_python_no_physics")) {
        std::printf("%-42s %10.1f steps/s\n", "PPO train (PyTorch Python, no physics)",
                    j["ppo_steps_per_s_python_no_physics"].get<double>());
      }
    }
    std::printf("%-42s %10.2f us  (%.2fx LibTorch's forward, %.2f us)\n",
                "policy act, batch 1 (std::span in/out)", act * 1e6, act / raw, raw * 1e6);
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
  return 0;
}
