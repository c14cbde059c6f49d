// Environment throughput against the physical limit measured in the same run:
//  - env steps/s single-threaded vs raw mj_step x frame_skip on the same model and controls
//    (everything an env adds: action checks, rewards, observations; target >= 0.9);
//  - a vector of 8 environments on 1 vs 2 threads;
//  - offscreen render frames/s at 64x64 and 84x84 (EGL, shadows/reflections/multisampling off).
//
// Usage: bench_envs [google benchmark flags]
#include <benchmark/benchmark.h>

#include <cstdio>
#include <random>

#include "bench_util.h"
#include "clearsight/core/log.h"
#include "clearsight/core/runtime.h"
#include "clearsight/envs/pixel_env.h"
#include "clearsight/envs/vector_env.h"

namespace {

using namespace clearsight;

const char* const kTasks[] = {"Hopper-v4",  "HalfCheetah-v4", "Walker2d-v4", "Ant-v4",
                              "Swimmer-v4", "walker-walk",    "cheetah-run"};
constexpr int kActions = 4096;

std::vector<double> random_actions(int act_dim) {
  std::mt19937_64 rng(0);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  std::vector<double> a(static_cast<std::size_t>(kActions) * act_dim);
  for (auto& x : a) x = u(rng);
  return a;
}

// The physical limit: the same model stepped with mj_step frame_skip times per env step.
void BM_RawMjStep(benchmark::State& state) {
  auto env = envs::make_mujoco_env(kTasks[state.range(0)]);
  env->reset(0);
  const mjModel* m = env->model();
  mjData* d = mj_makeData(m);
  mj_copyData(d, m, env->data());
  const int nu = m->nu;
  const int skip = env->spec().frame_skip;
  const auto actions = random_actions(nu);
  int k = 0;
  for (auto _ : state) {
    const double* a = actions.data() + (k++ % kActions) * nu;
    for (int i = 0; i < nu; ++i) d->ctrl[i] = a[i];
    for (int f = 0; f < skip; ++f) mj_step(m, d);
    if (k % 1000 == 0) mj_copyData(d, m, env->data());  // Bounded episodes, like the env.
  }
  mj_deleteData(d);
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(kTasks[state.range(0)]);
}

void BM_EnvStep(benchmark::State& state) {
  auto env = envs::make_env(kTasks[state.range(0)]);
  std::vector<double> obs = env->reset(0);
  const int nu = static_cast<int>(env->spec().action_space.size());
  const auto actions = random_actions(nu);
  int k = 0;
  for (auto _ : state) {
    const std::span<const double> a(actions.data() + (k++ % kActions) * nu, nu);
    const auto r = env->step(a, std::span<double>(obs));
    if (r.terminated || r.truncated) env->reset(std::span<double>(obs));
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(kTasks[state.range(0)]);
}

void BM_VectorEnv(benchmark::State& state) {
  envs::VectorEnv venv("HalfCheetah-v4", 8, static_cast<int>(state.range(0)));
  venv.reset(0);
  const auto actions = torch::rand({8, 6}) * 2 - 1;
  for (auto _ : state) benchmark::DoNotOptimize(venv.step(actions).rewards.data_ptr());
  state.SetItemsProcessed(state.iterations() * 8);
}

void BM_Render(benchmark::State& state) {
  envs::PixelOptions options;
  options.render.width = options.render.height = static_cast<int>(state.range(0));
  envs::PixelEnv env(envs::make_mujoco_env("walker-walk"), options);
  std::vector<std::uint8_t> pixels(env.observation_bytes());
  env.reset(0, pixels);
  for (auto _ : state) env.render_frame(pixels);
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(env.renderer().backend());
}

BENCHMARK(BM_RawMjStep)->DenseRange(0, 6)->UseRealTime();
BENCHMARK(BM_EnvStep)->DenseRange(0, 6)->UseRealTime();
BENCHMARK(BM_VectorEnv)->Arg(1)->Arg(2)->UseRealTime();
BENCHMARK(BM_Render)->Arg(64)->Arg(84)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  log::set_verbosity(-1);
  init_runtime();
  benchmark::Initialize(&argc, argv);
  bench::CapturingReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  std::printf("\n%-16s %12s %12s %8s\n", "task", "raw steps/s", "env steps/s", "ratio");
  for (int i = 0; i < 7; ++i) {
    const double raw = reporter.seconds("BM_RawMjStep/" + std::to_string(i) + "/real_time");
    const double env = reporter.seconds("BM_EnvStep/" + std::to_string(i) + "/real_time");
    if (raw <= 0 || env <= 0) continue;
    std::printf("%-16s %12.0f %12.0f %8.3f\n", kTasks[i], 1 / raw, 1 / env, raw / env);
  }
  const double v1 = reporter.seconds("BM_VectorEnv/1/real_time");
  const double v2 = reporter.seconds("BM_VectorEnv/2/real_time");
  if (v1 > 0 && v2 > 0) {
    std::printf(
        "\nvector env, 8 x HalfCheetah-v4: 1 thread %.0f steps/s, 2 threads %.0f steps/s, "
        "scaling %.2f x\n",
        8 / v1, 8 / v2, v1 / v2);
  }
  const double r64 = reporter.seconds("BM_Render/64/real_time");
  const double r84 = reporter.seconds("BM_Render/84/real_time");
  if (r64 > 0 && r84 > 0) {
    std::printf("render walker-walk: 64x64 %.0f frames/s, 84x84 %.0f frames/s\n", 1 / r64, 1 / r84);
  }
  return 0;
}
