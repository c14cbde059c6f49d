// `clearsight selftest`: a short end-to-end smoke of the library on this machine: a run
// directory, a resolved config, a small MLP trained with progress and metrics, weights saved to
// safetensors and read back bit-exactly.
#include <torch/torch.h>

#include <chrono>
#include <cstdio>

#include "clearsight/core/config.h"
#include "clearsight/core/error.h"
#include "clearsight/core/log.h"
#include "clearsight/core/progress.h"
#include "clearsight/core/run_dir.h"
#include "clearsight/core/safetensors.h"
#include "clearsight/core/torch_compat.h"
#include "commands.h"

namespace clearsight::cli {
namespace {

struct SelftestConfig {
  int steps = 300;
  int batch = 256;
  int hidden = 256;
  double lr = 1e-3;
  template <typename V>
  void visit(V& v) {
    v("steps", steps, "training steps");
    v("batch", batch, "batch size");
    v("hidden", hidden, "hidden width of the MLP");
    v("lr", lr, "Adam learning rate");
  }
  void validate() const {
    CS_CHECK_AS(ConfigError, steps > 0 && batch > 0 && hidden > 0 && lr > 0,
                "selftest: steps, batch, hidden and lr must be positive");
  }
};

int run_selftest(const GlobalOptions& global, const std::string& out,
                 const std::vector<std::string>& overrides) {
  start_runtime(global);
  config::Json raw = config::Json::object();
  for (const auto& o : overrides) config::apply_override(raw, o);
  const auto cfg = config::from_json<SelftestConfig>(raw, "selftest");
  const RunDir run = out.empty() ? RunDir::create("runs", "selftest") : RunDir::at(out);
  config::Json resolved = config::to_json(cfg);
  resolved["runtime"] = config::to_json(global.runtime);
  run.write_config(resolved);

  // Regression of a fixed random teacher network: 17 inputs -> 6 outputs (a HalfCheetah-sized
  // policy), so the loss must fall if autograd, the optimiser and BLAS work.
  const auto device = default_device();
  auto teacher =
      torch::nn::Sequential(torch::nn::Linear(17, 64), torch::nn::Tanh(), torch::nn::Linear(64, 6));
  auto student = torch::nn::Sequential(torch::nn::Linear(17, cfg.hidden), torch::nn::ReLU(),
                                       torch::nn::Linear(cfg.hidden, cfg.hidden), torch::nn::ReLU(),
                                       torch::nn::Linear(cfg.hidden, 6));
  teacher->to(device);
  student->to(device);
  torch::optim::Adam optimizer(student->parameters(), torch::optim::AdamOptions(cfg.lr));

  ProgressBar bar("selftest", cfg.steps, {.unit = "steps"});
  const auto start = std::chrono::steady_clock::now();
  double first_loss = 0, last_loss = 0;
  for (int step = 1; step <= cfg.steps; ++step) {
    auto x = torch::randn({cfg.batch, 17}, torch::TensorOptions().device(device));
    torch::Tensor y;
    {
      torch::NoGradGuard no_grad;
      y = teacher->forward(x);
    }
    auto loss = torch::mse_loss(student->forward(x), y);
    compat::zero_grad(optimizer);
    loss.backward();
    optimizer.step();
    last_loss = loss.item<double>();
    if (step == 1) first_loss = last_loss;
    if (step % 25 == 0 || step == cfg.steps) {
      run.log_metrics({{"step", step}, {"loss", last_loss}});
      char postfix[64];
      std::snprintf(postfix, sizeof(postfix), "loss %.4f", last_loss);
      bar.set_postfix(postfix);
    }
    bar.advance();
  }
  bar.finish();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  std::vector<std::pair<std::string, torch::Tensor>> weights;
  for (const auto& item : student->named_parameters())
    weights.emplace_back(item.key(), item.value());
  const auto weights_path = run.file("student.safetensors");
  safetensors::save(weights_path, weights, {{"producer", "clearsight selftest"}});
  const auto loaded = safetensors::load(weights_path);
  for (const auto& [name, tensor] : weights) {
    CS_CHECK_AS(FormatError, loaded.count(name) && torch::equal(loaded.at(name), tensor.cpu()),
                "selftest: tensor '", name, "' did not survive the safetensors round trip");
  }
  const bool learned = last_loss < 0.5 * first_loss;
  run.write_json("summary.json", {{"first_loss", first_loss},
                                  {"last_loss", last_loss},
                                  {"steps", cfg.steps},
                                  {"ms_per_step", 1000.0 * seconds / cfg.steps},
                                  {"learned", learned}});
  std::printf("selftest: loss %.4f -> %.4f over %d steps (%.2f ms/step), weights round-trip ok\n",
              first_loss, last_loss, cfg.steps, 1000.0 * seconds / cfg.steps);
  std::printf("selftest: run directory %s\n", run.path().c_str());
  CS_CHECK_AS(RuntimeError, learned, "selftest: the loss did not halve (", first_loss, " -> ",
              last_loss, "); something is wrong with this build");
  return 0;
}

}  // namespace

void add_selftest_command(Context& context) {
  auto* cmd = context.app.add_subcommand("selftest", "Short end-to-end smoke of the library");
  auto out = std::make_shared<std::string>();
  auto overrides = std::make_shared<std::vector<std::string>>();
  cmd->add_option("--out", *out, "Run directory (default: runs/<date>-selftest)");
  cmd->add_option("--set", *overrides, "Config override key=value (steps, batch, hidden, lr)");
  cmd->callback([&context, out, overrides] {
    context.action = [&context, out, overrides] {
      return run_selftest(context.global, *out, *overrides);
    };
  });
}

}  // namespace clearsight::cli
