// Imitation costs against GAIL measured in the same run (Hopper sizes: obs 11 + absorbing flag,
// act 3; 256-256 discriminators, batch 256):
//  - one reward-learner update: GAIL's discriminator vs DIDA's encoder + D_p + D_n + MINE (with
//    Domain Adversarial Sampling's doubled agent batch), and DIDA with each part switched off;
//  - end-to-end environment steps/s of `imitate` (the protocol's sizes: SAC 128-128, batch 128;
//  discriminators 64-64) for GAIL and DIDA,
//    with the SAC generator on the fast path and on LibTorch autograd.
//
// Usage: bench_il [google benchmark flags]
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "bench_util.h"
#include "clearsight/core/log.h"
#include "clearsight/core/runtime.h"
#include "clearsight/il/adversarial.h"
#include "clearsight/il/collect.h"
#include "clearsight/il/imitate.h"
#include "clearsight/rl/policy.h"

namespace {

using namespace clearsight;
namespace fs = std::filesystem;

constexpr std::int64_t kObs = 12, kAct = 3, kRows = 20000, kSteps = 3000;
fs::path g_dir;

rl::ReplayBuffer buffer(float shift) {
  rl::ReplayBuffer b(kRows, kObs, kAct, 256);
  b.add(torch::randn({kRows, kObs}) + shift, torch::rand({kRows, kAct}) * 2 - 1,
        torch::zeros({kRows}), torch::randn({kRows, kObs}) + shift, torch::zeros({kRows}));
  return b;
}

il::DidaConfig dida_variant(int variant) {
  il::DidaConfig d;
  if (variant == 1) d.mi_constraint = false;
  if (variant == 2) d.domain_adversarial_sampling = false;
  if (variant == 3) {
    d.noise_discriminator = false;
    d.mi_constraint = false;
    d.anchor = false;
  }
  return d;
}

void BM_RewardUpdate(benchmark::State& state) {
  torch::manual_seed(0);
  auto expert = buffer(1.0f), agent = buffer(0.0f);
  rl::ReplayBuffer anchor(kRows, kObs, kAct, 256);
  il::fill_anchor(expert, torch::randperm(kRows, torch::kInt64), anchor);
  il::DiscriminatorConfig disc;
  std::unique_ptr<il::RewardLearner> learner;
  if (state.range(0) < 0) {
    learner = il::make_gail_reward(disc, kObs, kAct);
  } else {
    learner =
        il::make_dida_reward(disc, dida_variant(static_cast<int>(state.range(0))), kObs, kAct);
  }
  for (auto _ : state) benchmark::DoNotOptimize(learner->update(expert, agent, &anchor));
}
BENCHMARK(BM_RewardUpdate)
    ->Arg(-1)
    ->Arg(0)
    ->Arg(1)
    ->Arg(2)
    ->Arg(3)
    ->Unit(benchmark::kMillisecond)
    ->MinTime(2.0)
    ->UseRealTime();

void BM_Imitate(benchmark::State& state) {
  for (auto _ : state) {
    il::ImitateConfig c;
    c.algo = state.range(0) == 0 ? "gail" : "dida";
    c.env = "Hopper-v4";
    c.demos = (g_dir / "hopper.h5").string();
    c.steps = kSteps;
    c.eval_every = 1 << 30;
    c.eval_episodes = 1;
    c.checkpoint_every = 1 << 30;
    c.log_every = 1 << 30;
    c.sac.hidden = {128, 128};  // The protocol's sizes (configs/bench-il/hopper.json).
    c.sac.batch_size = 128;
    c.sac.learning_starts = 500;
    c.sac.backend = state.range(1) == 0 ? "fast" : "torch";
    c.disc.hidden = {64, 64};
    c.disc.batch_size = 128;
    std::error_code ec;
    fs::remove_all(g_dir / "run", ec);
    il::imitate(c, g_dir / "run");
  }
  state.SetItemsProcessed(state.iterations() * kSteps);
}
BENCHMARK(BM_Imitate)
    ->Args({0, 0})
    ->Args({1, 0})
    ->Args({0, 1})
    ->Args({1, 1})
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1)
    ->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  log::set_verbosity(-1);
  init_runtime();
  g_dir = fs::temp_directory_path() / ("cs_bench_il_" + std::to_string(getpid()));
  fs::create_directories(g_dir);
  {
    auto random = rl::make_random_policy("Hopper-v4");
    il::CollectOptions o;
    o.episodes = 20;
    o.progress = false;
    il::save_demos(g_dir / "hopper.h5", il::collect_demos(*random, "Hopper-v4", o));
  }
  benchmark::Initialize(&argc, argv);
  bench::CapturingReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  const auto update = [&](const char* arg) {
    return reporter.seconds(std::string("BM_RewardUpdate/") + arg + "/min_time:2.000/real_time");
  };
  const double gail = update("-1");
  std::printf("\n%-46s %8.2f ms  (baseline)\n", "GAIL discriminator update", gail * 1e3);
  const char* names[] = {"DIDA update (all parts)", "DIDA update, no MI constraint",
                         "DIDA update, no DAS", "DIDA update, D_p + encoder only"};
  for (int v = 0; v < 4; ++v) {
    const double s = update(std::to_string(v).c_str());
    std::printf("%-46s %8.2f ms  %.2fx GAIL\n", names[v], s * 1e3, s / gail);
  }
  const auto e2e = [&](int algo, int backend) {
    return reporter.seconds("BM_Imitate/" + std::to_string(algo) + "/" + std::to_string(backend) +
                            "/iterations:1/real_time") /
           kSteps;
  };
  const double e2e_gail = e2e(0, 0), e2e_dida = e2e(1, 0);
  std::printf("%-46s %8.1f steps/s (baseline)\n", "imitate end to end, GAIL", 1 / e2e_gail);
  std::printf("%-46s %8.1f steps/s  %.2fx GAIL's time per step\n", "imitate end to end, DIDA",
              1 / e2e_dida, e2e_dida / e2e_gail);
  std::printf("%-46s %8.1f steps/s  fast SAC %.2fx faster end to end\n",
              "imitate, GAIL, SAC on LibTorch autograd", 1 / e2e(0, 1), e2e(0, 1) / e2e_gail);
  std::printf("%-46s %8.1f steps/s  fast SAC %.2fx faster end to end\n",
              "imitate, DIDA, SAC on LibTorch autograd", 1 / e2e(1, 1), e2e(1, 1) / e2e_dida);
  std::error_code ec;
  fs::remove_all(g_dir, ec);
  return 0;
}
