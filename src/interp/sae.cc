#include "clearsight/interp/sae.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <numeric>
#include <sstream>

#include "clearsight/core/atomic_file.h"
#include "clearsight/core/error.h"
#include "clearsight/core/plot.h"
#include "clearsight/core/progress.h"
#include "clearsight/core/safetensors.h"
#include "clearsight/core/strings.h"
#include "clearsight/interp/report.h"

namespace clearsight::interp {

namespace {

bool is_topk(const std::string& architecture) { return architecture == "topk"; }

void check_architecture(const std::string& architecture) {
  CS_CHECK_AS(UnknownNameError, architecture == "standard" || architecture == "topk",
              "unknown SAE architecture '", architecture, "' (architectures: standard, topk)",
              did_you_mean(architecture, {"standard", "topk"}));
}

// The layer of a hook name ("blocks.3.hook_resid_post" -> 3), or -1.
std::int64_t hook_layer_of(const std::string& hook) {
  const std::string prefix = "blocks.";
  if (hook.rfind(prefix, 0) != 0) return -1;
  const auto end = hook.find('.', prefix.size());
  try {
    return std::stoll(hook.substr(prefix.size(), end - prefix.size()));
  } catch (const std::exception&) {
    return -1;
  }
}

// Keeps the k largest of relu(pre) per row, zero elsewhere.
torch::Tensor topk_activation(const torch::Tensor& pre, std::int64_t k) {
  const auto kept = std::min<std::int64_t>(k, pre.size(-1));
  const auto [values, indices] = pre.topk(kept, -1);
  return torch::zeros_like(pre).scatter(-1, indices, torch::relu(values));
}

torch::Tensor encode_with(const torch::Tensor& x, const torch::Tensor& W_enc,
                          const torch::Tensor& b_enc, const torch::Tensor& b_dec,
                          const SaeConfig& config) {
  const auto input = config.apply_b_dec_to_input ? x - b_dec : x;
  const auto pre = torch::matmul(input, W_enc) + b_enc;
  return is_topk(config.architecture) ? topk_activation(pre, config.k) : torch::relu(pre);
}

nlohmann::json read_json(const std::filesystem::path& path) {
  std::ifstream in(path);
  CS_CHECK_AS(IoError, in.good(), "cannot read '", path.string(), "'");
  try {
    return nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    CS_THROW(FormatError, "'", path.string(), "' is not valid JSON: ", e.what());
  }
}

double mean_loss(mm::MultimodalModel& model, const Examples& examples) {
  const auto logits = forward_logits(model, examples);
  const auto score = target_score(logits, examples);
  std::int64_t tokens = 0;
  for (const auto& t : examples.target_tokens) tokens += static_cast<std::int64_t>(t.size());
  return -score.sum().item<double>() / static_cast<double>(std::max<std::int64_t>(1, tokens));
}

}  // namespace

Sae Sae::create(const SaeConfig& config, std::uint64_t seed) {
  check_architecture(config.architecture);
  CS_CHECK_AS(ConfigError, config.d_in >= 1 && config.d_sae >= 1,
              "an SAE needs d_in >= 1 and d_sae >= 1, got ", config.d_in, " and ", config.d_sae);
  CS_CHECK_AS(ConfigError, !is_topk(config.architecture) || config.k >= 1,
              "a topk SAE needs k >= 1, got ", config.k);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  Sae sae;
  sae.config = config;
  auto dec = torch::randn({config.d_sae, config.d_in}, gen, torch::kFloat32);
  sae.W_dec = dec / dec.norm(2, 1, true);
  sae.W_enc = sae.W_dec.t().contiguous();
  sae.b_enc = torch::zeros({config.d_sae});
  sae.b_dec = torch::zeros({config.d_in});
  return sae;
}

torch::Tensor Sae::encode(const torch::Tensor& x) const {
  return encode_with(x.to(torch::kFloat32), W_enc, b_enc, b_dec, config);
}

torch::Tensor Sae::decode(const torch::Tensor& features) const {
  return torch::matmul(features, W_dec) + b_dec;
}

torch::Tensor Sae::reconstruct(const torch::Tensor& x) const { return decode(encode(x)); }

void Sae::validate() const {
  check_architecture(config.architecture);
  const auto d_in = config.d_in, d_sae = config.d_sae;
  const std::vector<std::pair<std::string, std::pair<torch::Tensor, std::vector<std::int64_t>>>>
      expected = {{"W_enc", {W_enc, {d_in, d_sae}}},
                  {"b_enc", {b_enc, {d_sae}}},
                  {"W_dec", {W_dec, {d_sae, d_in}}},
                  {"b_dec", {b_dec, {d_in}}}};
  for (const auto& [name, entry] : expected) {
    const auto& [tensor, shape] = entry;
    CS_CHECK_AS(FormatError, tensor.defined(), "the SAE has no ", name);
    CS_CHECK_AS(ShapeError, tensor.sizes().vec() == shape, "SAE ", name, " has shape ",
                tensor.sizes(), ", expected ", c10::IntArrayRef(shape), " (d_in ", d_in, ", d_sae ",
                d_sae, ")");
    CS_CHECK_AS(FormatError, torch::isfinite(tensor).all().item<bool>(), "SAE ", name,
                " holds NaN or infinite values");
  }
}

void save_saelens(const Sae& sae, const std::filesystem::path& dir) {
  sae.validate();
  std::filesystem::create_directories(dir);
  const auto& c = sae.config;
  nlohmann::json cfg = {
      {"architecture", c.architecture},
      {"d_in", c.d_in},
      {"d_sae", c.d_sae},
      {"dtype", "float32"},
      {"device", "cpu"},
      {"model_name", c.model_name},
      {"hook_name", c.hook_name},
      {"hook_layer", c.hook_layer},
      {"hook_head_index", nullptr},
      {"activation_fn_str", is_topk(c.architecture) ? "topk" : "relu"},
      {"activation_fn_kwargs",
       is_topk(c.architecture) ? nlohmann::json{{"k", c.k}} : nlohmann::json::object()},
      {"apply_b_dec_to_input", c.apply_b_dec_to_input},
      {"finetuning_scaling_factor", false},
      {"normalize_activations", "none"},
      {"context_size", nullptr},
      {"prepend_bos", false},
      {"sae_lens_training_version", nullptr},
      {"trained_with", "clearsight"}};
  if (is_topk(c.architecture)) cfg["k"] = c.k;
  // Weights first: a folder whose cfg.json exists is complete.
  safetensors::save_map(dir / "sae_weights.safetensors", {{"W_enc", sae.W_enc.contiguous()},
                                                          {"b_enc", sae.b_enc.contiguous()},
                                                          {"W_dec", sae.W_dec.contiguous()},
                                                          {"b_dec", sae.b_dec.contiguous()}});
  atomic_write(dir / "cfg.json", cfg.dump(2) + "\n");
}

Sae load_saelens(const std::filesystem::path& dir) {
  const auto cfg_path = dir / "cfg.json";
  const auto weights_path = dir / "sae_weights.safetensors";
  CS_CHECK_AS(IoError, std::filesystem::exists(cfg_path), "'", dir.string(),
              "' is not a SAELens folder: no cfg.json");
  CS_CHECK_AS(IoError, std::filesystem::exists(weights_path), "'", dir.string(),
              "' is not a SAELens folder: no sae_weights.safetensors");
  const auto cfg = read_json(cfg_path);
  CS_CHECK_AS(FormatError, cfg.is_object(), "'", cfg_path.string(), "' is not a JSON object");
  Sae sae;
  auto& c = sae.config;
  try {
    c.d_in = cfg.at("d_in").get<std::int64_t>();
    c.d_sae = cfg.at("d_sae").get<std::int64_t>();
    c.hook_name = cfg.value("hook_name", std::string());
    c.hook_layer = cfg.contains("hook_layer") && cfg["hook_layer"].is_number_integer()
                       ? cfg["hook_layer"].get<std::int64_t>()
                       : hook_layer_of(c.hook_name);
    c.model_name = cfg.value("model_name", std::string());
    c.apply_b_dec_to_input = cfg.value("apply_b_dec_to_input", true);
    std::string activation = cfg.value("activation_fn_str", std::string("relu"));
    std::string architecture = cfg.value("architecture", std::string());
    if (architecture.empty()) architecture = activation == "topk" ? "topk" : "standard";
    CS_CHECK_AS(FormatError, architecture == "standard" || architecture == "topk", "'",
                cfg_path.string(), "': architecture '", architecture,
                "' is not supported (standard, topk)");
    CS_CHECK_AS(FormatError, architecture != "standard" || activation == "relu", "'",
                cfg_path.string(), "': activation_fn_str '", activation,
                "' is not supported for a standard SAE (relu)");
    c.architecture = architecture;
    if (architecture == "topk") {
      if (cfg.contains("k") && cfg["k"].is_number()) {
        c.k = cfg["k"].get<std::int64_t>();
      } else {
        c.k = cfg.at("activation_fn_kwargs").at("k").get<std::int64_t>();
      }
    }
    const auto norm = cfg.value("normalize_activations", std::string("none"));
    CS_CHECK_AS(FormatError, norm == "none", "'", cfg_path.string(), "': normalize_activations '",
                norm, "' is not supported (none; fold the scale into the weights)");
    const auto dtype = cfg.value("dtype", std::string("float32"));
    CS_CHECK_AS(FormatError,
                dtype == "float32" || dtype == "torch.float32" || dtype == "bfloat16" ||
                    dtype == "torch.bfloat16" || dtype == "float16" || dtype == "torch.float16",
                "'", cfg_path.string(), "': dtype '", dtype, "' is not supported");
  } catch (const nlohmann::json::exception& e) {
    CS_THROW(FormatError, "'", cfg_path.string(), "': ", e.what());
  }
  CS_CHECK_AS(FormatError, c.d_in >= 1 && c.d_sae >= 1 && c.k >= 1, "'", cfg_path.string(),
              "': d_in, d_sae and k must be >= 1");
  const auto file = safetensors::File::open(weights_path);
  for (const auto* name : {"W_enc", "b_enc", "W_dec", "b_dec"}) {
    CS_CHECK_AS(FormatError, file.contains(name), "'", weights_path.string(), "' has no ", name);
  }
  sae.W_enc = file.get("W_enc").to(torch::kFloat32);
  sae.b_enc = file.get("b_enc").to(torch::kFloat32);
  sae.W_dec = file.get("W_dec").to(torch::kFloat32);
  sae.b_dec = file.get("b_dec").to(torch::kFloat32);
  try {
    sae.validate();
  } catch (const Error& e) {
    CS_THROW(FormatError, "'", weights_path.string(), "': ", e.what());
  }
  return sae;
}

torch::Tensor sae_input(const torch::Tensor& activation) {
  if (activation.dim() == 4) {
    const auto b = activation.size(0), h = activation.size(1), l = activation.size(2),
               d = activation.size(3);
    return activation.permute({0, 2, 1, 3}).reshape({b, l, h * d});
  }
  CS_CHECK_AS(ShapeError, activation.dim() == 3, "an SAE reads activations [B, L, d] (or hook_z ",
              "[B, H, L, D]), got ", activation.sizes());
  return activation;
}

nn::HookHandle splice_sae(nn::HookedModule& model, const Sae& sae, bool keep_error,
                          std::function<torch::Tensor(const torch::Tensor&)> edit) {
  CS_CHECK_AS(ConfigError, !sae.config.hook_name.empty(), "the SAE names no hook");
  return model.add_hook(
      sae.config.hook_name,
      [sae, keep_error, edit](const torch::Tensor& x,
                              const std::string& name) -> std::optional<torch::Tensor> {
        const auto flat = sae_input(x);
        CS_CHECK_AS(ShapeError, flat.size(-1) == sae.config.d_in, "the SAE on ", name,
                    " reads width ", sae.config.d_in, ", the activation is ", x.sizes());
        const auto input = flat.to(torch::kFloat32);
        auto features = sae.encode(input);
        const auto reconstruction = sae.decode(features);
        if (edit) features = edit(features);
        auto out = sae.decode(features);
        if (keep_error) out = out + (input - reconstruction);
        out = out.to(x.scalar_type());
        if (x.dim() == 4) {
          out = out.view({x.size(0), x.size(2), x.size(1), x.size(3)}).permute({0, 2, 1, 3});
        }
        return out.contiguous();
      });
}

SaeMetrics sae_metrics(const Sae& sae, const torch::Tensor& x) {
  torch::NoGradGuard no_grad;
  CS_CHECK_AS(ShapeError, x.dim() == 2 && x.size(1) == sae.config.d_in,
              "SAE metrics need activations [T, ", sae.config.d_in, "], got ", x.sizes());
  CS_CHECK_AS(ConfigError, x.size(0) >= 1, "SAE metrics need at least one token");
  const auto xf = x.to(torch::kFloat32);
  const auto features = sae.encode(xf);
  const auto error = (sae.decode(features) - xf).to(torch::kFloat64);
  const auto centred = (xf - xf.mean(0, true)).to(torch::kFloat64);
  SaeMetrics m;
  m.tokens = x.size(0);
  const auto sse = error.pow(2).sum().item<double>();
  const auto sst = centred.pow(2).sum().item<double>();
  m.mse = sse / static_cast<double>(m.tokens);
  m.explained_variance = sst > 0 ? 1.0 - sse / sst : (sse == 0 ? 1.0 : 0.0);
  const auto active = features.gt(0);
  m.l0 = active.sum(1).to(torch::kFloat64).mean().item<double>();
  m.dead_fraction = active.any(0).logical_not().to(torch::kFloat64).mean().item<double>();
  return m;
}

std::pair<torch::Tensor, std::vector<std::pair<std::int64_t, std::int64_t>>> collect_activations(
    mm::MultimodalModel& model, const Examples& examples, const std::string& hook) {
  torch::NoGradGuard no_grad;
  auto captured = std::make_shared<torch::Tensor>();
  {
    auto handle = model.add_hook(
        hook,
        [captured](const torch::Tensor& x, const std::string&) -> std::optional<torch::Tensor> {
          *captured = sae_input(x.detach()).to(torch::kFloat32);
          return std::nullopt;
        });
    forward_logits(model, examples);
  }
  CS_CHECK_AS(RuntimeError, captured->defined(), "hook ", hook, " did not fire");
  std::vector<torch::Tensor> rows;
  std::vector<std::pair<std::int64_t, std::int64_t>> where;
  for (std::int64_t i = 0; i < examples.size(); ++i) {
    const auto length = static_cast<std::int64_t>(examples.tokens[i].size());
    rows.push_back((*captured)[i].narrow(0, 0, length));
    for (std::int64_t p = 0; p < length; ++p) where.emplace_back(i, p);
  }
  return {torch::cat(rows), where};
}

void check_sae_model(const Sae& sae, const std::string& model) {
  const auto& trained_on = sae.config.model_name;
  CS_CHECK_AS(ConfigError, trained_on.empty() || trained_on == model, "the SAE was trained on ",
              trained_on, ", not on ", model,
              " (its hook's width may match by chance; pass --any-model to use it anyway)");
}

SaeEvaluation evaluate_sae(const ModelRef& ref, const Sae& sae, const std::string& task_name,
                           std::int64_t samples) {
  sae.validate();
  CS_CHECK_AS(ConfigError, samples >= 1, "SAE evaluation needs at least one sample, got ", samples);
  auto& model = ref.model;
  model.eval();
  const auto task = mm::make_task(task_name);
  check_task_fits(*task, model);
  const auto count = std::min(samples, task->split_size(mm::Split::kValidation));
  CS_CHECK_AS(ConfigError, count >= 1, "task ", task_name, " has no validation samples");
  SaeEvaluation out;
  out.examples = prepare_examples(load_samples(*task, mm::Split::kValidation, 0, count),
                                  ref.tokenizer, model, Target{.kind = "answer", .token = {}});
  std::tie(out.activations, out.where) =
      collect_activations(model, out.examples, sae.config.hook_name);
  CS_CHECK_AS(ShapeError, out.activations.size(1) == sae.config.d_in, "the SAE reads width ",
              sae.config.d_in, " but ", sae.config.hook_name, " of ", ref.name, " has width ",
              out.activations.size(1));
  out.metrics = sae_metrics(sae, out.activations);
  torch::NoGradGuard no_grad;
  out.clean_loss = mean_loss(model, out.examples);
  {
    auto handle = splice_sae(model, sae);
    out.spliced_loss = mean_loss(model, out.examples);
  }
  {
    auto handle = model.add_hook(
        sae.config.hook_name,
        [](const torch::Tensor& x, const std::string&) -> std::optional<torch::Tensor> {
          return torch::zeros_like(x);
        });
    out.zero_loss = mean_loss(model, out.examples);
  }
  out.recovered = std::abs(out.zero_loss - out.clean_loss) > 1e-12
                      ? (out.zero_loss - out.spliced_loss) / (out.zero_loss - out.clean_loss)
                      : std::nan("");
  return out;
}

nlohmann::json evaluation_json(const SaeEvaluation& e) {
  return {{"eval_tokens", e.metrics.tokens},
          {"mse", e.metrics.mse},
          {"explained_variance", e.metrics.explained_variance},
          {"l0", e.metrics.l0},
          {"dead_fraction", e.metrics.dead_fraction},
          {"loss",
           {{"clean", e.clean_loss},
            {"spliced", e.spliced_loss},
            {"zero_ablation", e.zero_loss},
            {"ce_loss_score",
             std::isfinite(e.recovered) ? nlohmann::json(e.recovered) : nlohmann::json(nullptr)}}}};
}

nlohmann::json train_sae(const ModelRef& ref, const SaeTrainOptions& options,
                         const std::filesystem::path& out_dir) {
  check_architecture(options.architecture);
  CS_CHECK_AS(ConfigError, options.features >= 1, "--features must be >= 1, got ",
              options.features);
  CS_CHECK_AS(ConfigError, options.steps >= 1, "--steps must be >= 1, got ", options.steps);
  CS_CHECK_AS(ConfigError,
              options.batch_tokens >= 1 && options.buffer_tokens >= 2 * options.batch_tokens,
              "the buffer (", options.buffer_tokens, " tokens) must hold at least two batches of ",
              options.batch_tokens, " tokens");
  CS_CHECK_AS(ConfigError,
              !is_topk(options.architecture) || (options.k >= 1 && options.k <= options.features),
              "topk needs 1 <= k <= features, got k = ", options.k);
  CS_CHECK_AS(ConfigError, options.lr > 0 && std::isfinite(options.lr), "--lr must be > 0");
  CS_CHECK_AS(ConfigError, options.l1_coefficient >= 0, "--l1 must be >= 0");
  CS_CHECK_AS(ConfigError, options.eval_samples >= 1, "--eval-samples must be >= 1");
  auto& model = ref.model;
  model.eval();
  const auto task = mm::make_task(options.task);
  check_task_fits(*task, model);
  const auto train_size = task->split_size(mm::Split::kTrain);
  CS_CHECK_AS(ConfigError, train_size >= 1, "task ", options.task, " has no training samples");
  const Target answer{.kind = "answer", .token = {}};

  // The stream: train samples in order (wrapping), batch_size per forward pass.
  std::int64_t next_sample = 0, samples_read = 0, tokens_seen = 0;
  auto stream = [&](std::int64_t wanted) {
    std::vector<torch::Tensor> parts;
    std::int64_t got = 0;
    while (got < wanted) {
      const auto count = std::min(options.batch_size, train_size - next_sample);
      const auto samples = load_samples(*task, mm::Split::kTrain, next_sample, count);
      next_sample = (next_sample + count) % train_size;
      samples_read += count;
      const auto examples = prepare_examples(samples, ref.tokenizer, model, answer);
      auto acts = collect_activations(model, examples, options.hook).first;
      CS_CHECK_AS(NumericError, torch::isfinite(acts).all().item<bool>(), "hook ", options.hook,
                  " gave NaN or infinite activations");
      got += acts.size(0);
      parts.push_back(std::move(acts));
    }
    return torch::cat(parts);
  };

  auto gen = at::make_generator<at::CPUGeneratorImpl>(options.seed + 1);
  auto buffer = stream(options.buffer_tokens);
  const auto d_in = buffer.size(1);
  // Inputs are scaled to mean norm sqrt(d_in) while training (so one L1 coefficient suits every
  // hook); the scale is folded into the saved weights, which read raw activations.
  const double scale =
      std::sqrt(static_cast<double>(d_in)) / buffer.norm(2, 1).mean().item<double>();
  CS_CHECK_AS(NumericError, std::isfinite(scale) && scale > 0, "hook ", options.hook,
              " gave all-zero activations; an SAE cannot be trained on them");

  SaeConfig config;
  config.d_in = d_in;
  config.d_sae = options.features;
  config.architecture = options.architecture;
  config.k = options.k;
  config.hook_name = options.hook;
  config.hook_layer = hook_layer_of(options.hook);
  config.model_name = ref.name;
  auto sae = Sae::create(config, options.seed);
  auto W_enc = sae.W_enc.clone().requires_grad_(true);
  auto b_enc = sae.b_enc.clone().requires_grad_(true);
  auto W_dec = sae.W_dec.clone().requires_grad_(true);
  auto b_dec = (buffer * scale).mean(0).detach().clone().requires_grad_(true);
  torch::optim::Adam adam({W_enc, b_enc, W_dec, b_dec},
                          torch::optim::AdamOptions(options.lr).betas({0.9, 0.999}));

  ProgressOptions bar_options;
  bar_options.disable = !options.progress;
  bar_options.unit = "steps";
  ProgressBar progress("sae", options.steps, bar_options);
  nlohmann::json curve = nlohmann::json::array();
  const auto record_every = std::max<std::int64_t>(1, options.steps / 50);
  const auto warmup = std::max<std::int64_t>(1, options.steps / 20);
  const auto decay_start = options.steps - options.steps / 5;
  auto order = torch::randperm(buffer.size(0), gen, torch::kInt64);
  std::int64_t cursor = 0;
  for (std::int64_t step = 0; step < options.steps; ++step) {
    if (cursor + options.batch_tokens > buffer.size(0) / 2) {
      // Half the buffer served: keep the unserved tokens, add fresh ones, reshuffle.
      const auto rest = buffer.index_select(0, order.narrow(0, cursor, buffer.size(0) - cursor));
      buffer = torch::cat({rest, stream(options.buffer_tokens - rest.size(0))});
      order = torch::randperm(buffer.size(0), gen, torch::kInt64);
      cursor = 0;
    }
    const auto x = buffer.index_select(0, order.narrow(0, cursor, options.batch_tokens)) * scale;
    cursor += options.batch_tokens;
    tokens_seen += options.batch_tokens;
    const auto f = encode_with(x, W_enc, b_enc, b_dec, config);
    const auto x_hat = torch::matmul(f, W_dec) + b_dec;
    const auto mse = (x_hat - x).pow(2).sum(-1).mean();
    auto loss = mse;
    torch::Tensor sparsity;
    if (!is_topk(config.architecture)) {
      const double l1 = options.l1_coefficient *
                        std::min(1.0, static_cast<double>(step + 1) / static_cast<double>(warmup));
      sparsity = (f * W_dec.norm(2, 1)).sum(-1).mean();
      loss = loss + l1 * sparsity;
    }
    double lr = options.lr;
    if (step >= decay_start && options.steps > 1) {
      lr *= static_cast<double>(options.steps - step) /
            static_cast<double>(options.steps - decay_start + 1);
    }
    for (auto& group : adam.param_groups()) {
      static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);
    }
    adam.zero_grad();
    loss.backward();
    adam.step();
    if (is_topk(config.architecture)) {
      torch::NoGradGuard no_grad;
      W_dec.div_(W_dec.norm(2, 1, true).clamp_min(1e-8));
    }
    CS_CHECK_AS(NumericError, std::isfinite(loss.item<double>()), "SAE training diverged at step ",
                step, " (loss ", loss.item<double>(), "); lower --lr");
    if (step % record_every == 0 || step + 1 == options.steps) {
      const double l0 = f.gt(0).sum(1).to(torch::kFloat64).mean().item<double>();
      const double mse_value = mse.item<double>();
      const double var = (x - x.mean(0, true)).pow(2).sum(-1).mean().item<double>();
      curve.push_back({{"step", step + 1},
                       {"loss", loss.item<double>()},
                       {"mse_scaled", mse_value},
                       {"explained_variance", var > 0 ? 1 - mse_value / var : 0.0},
                       {"l0", l0}});
    }
    progress.advance(1);
  }
  progress.finish();

  // Fold the training scale s into the weights: encode(s x) and decode(.) / s with raw inputs.
  {
    torch::NoGradGuard no_grad;
    sae.W_enc = (W_enc.detach() * scale).contiguous();
    sae.b_enc = b_enc.detach().clone();
    sae.W_dec = (W_dec.detach() / scale).contiguous();
    sae.b_dec = (b_dec.detach() / scale).contiguous();
  }

  // Evaluation on validation samples: metrics, spliced loss, dashboards.
  const auto evaluation = evaluate_sae(ref, sae, options.task, options.eval_samples);
  const auto& metrics = evaluation.metrics;
  const auto& eval_examples = evaluation.examples;
  const auto& eval_acts = evaluation.activations;
  const auto& where = evaluation.where;
  const auto eval_count = eval_examples.size();
  const double clean_loss = evaluation.clean_loss, spliced_loss = evaluation.spliced_loss,
               zero_loss = evaluation.zero_loss, recovered = evaluation.recovered;

  // Dashboards: the features that fire on most evaluation tokens, then the strongest.
  torch::NoGradGuard no_grad;
  const auto features = sae.encode(eval_acts);  // [T, d_sae]
  const auto frequency = features.gt(0).sum(0);
  const auto peak = std::get<0>(features.max(0));
  std::vector<std::int64_t> chosen;
  {
    const auto by_frequency = frequency.argsort(0, true);
    const auto by_peak = peak.argsort(0, true);
    for (std::int64_t k = 0;
         k < features.size(1) && static_cast<std::int64_t>(chosen.size()) < options.dashboards;
         ++k) {
      for (const auto& order_by : {by_frequency, by_peak}) {
        const auto f = order_by[k].item<std::int64_t>();
        if (static_cast<std::int64_t>(chosen.size()) >= options.dashboards) break;
        if (frequency[f].item<std::int64_t>() == 0) continue;
        if (std::find(chosen.begin(), chosen.end(), f) == chosen.end()) chosen.push_back(f);
      }
    }
  }
  const bool residual =
      d_in == model.config().hidden_size && options.hook.find("hook_resid") != std::string::npos;
  nlohmann::json dashboards = nlohmann::json::array();
  Report report(out_dir, "Sparse autoencoder: " + options.hook + " of " + ref.name);
  report.paragraph(
      std::string(is_topk(config.architecture)
                      ? "TopK (k = " + std::to_string(config.k) + ")"
                      : "ReLU (L1 " + format_number(options.l1_coefficient) + ")") +
      " SAE with " + std::to_string(options.features) + " features on " + options.hook + ", " +
      std::to_string(options.steps) + " steps of " + std::to_string(options.batch_tokens) +
      " tokens (" + std::to_string(tokens_seen) + " tokens from " + std::to_string(samples_read) +
      " streamed " + options.task + " train samples). Evaluated on " + std::to_string(eval_count) +
      " validation samples (" + std::to_string(metrics.tokens) + " tokens).");
  report.table({"metric", "value"},
               {{"MSE (raw units, summed over d_in)", format_number(metrics.mse)},
                {"explained variance", format_number(metrics.explained_variance)},
                {"L0 (active features per token)", format_number(metrics.l0)},
                {"dead fraction", format_number(metrics.dead_fraction)},
                {"answer loss, clean", format_number(clean_loss)},
                {"answer loss, SAE spliced in", format_number(spliced_loss)},
                {"answer loss, hook zero-ablated", format_number(zero_loss)},
                {"loss recovered", std::isfinite(recovered) ? format_number(recovered) : "n/a"}});
  LinePlot plot{"SAE training", "step", "value", {}, true};
  PlotSeries ev{"explained variance (train batch)", {}}, l0_series{"L0 / features", {}};
  for (const auto& point : curve) {
    ev.points.emplace_back(point["step"].get<double>(), point["explained_variance"].get<double>());
    l0_series.points.emplace_back(
        point["step"].get<double>(),
        point["l0"].get<double>() / static_cast<double>(options.features));
  }
  plot.series = {ev, l0_series};
  if (gnuplot_available()) report.line_plot(plot, "sae_training.svg", "Training curve.");
  report.section("Feature dashboards");
  for (const auto f : chosen) {
    const auto column = features.select(1, f);
    const auto top = std::get<1>(column.topk(std::min<std::int64_t>(5, column.size(0))));
    nlohmann::json entry = {
        {"feature", f},
        {"frequency", frequency[f].item<double>() / static_cast<double>(features.size(0))},
        {"max_activation", peak[f].item<double>()}};
    std::vector<std::vector<std::string>> rows;
    nlohmann::json top_json = nlohmann::json::array();
    std::map<std::string, std::int64_t> by_modality;
    for (std::int64_t t = 0; t < features.size(0); ++t) {
      if (column[t].item<float>() <= 0) continue;
      const auto [row, position] = where[static_cast<std::size_t>(t)];
      ++by_modality[eval_examples.modality[row][position]];
    }
    for (std::int64_t j = 0; j < top.size(0); ++j) {
      const auto t = top[j].item<std::int64_t>();
      if (column[t].item<float>() <= 0) break;
      const auto [row, position] = where[static_cast<std::size_t>(t)];
      const auto& token = eval_examples.tokens[row][position];
      const auto& modality = eval_examples.modality[row][position];
      top_json.push_back({{"sample", eval_examples.samples[row].index},
                          {"position", position},
                          {"token", token},
                          {"modality", modality},
                          {"activation", column[t].item<double>()}});
      rows.push_back({std::to_string(eval_examples.samples[row].index), std::to_string(position),
                      token, modality, format_number(column[t].item<double>())});
    }
    entry["top"] = top_json;
    entry["modality_counts"] = by_modality;
    report.section("Feature " + std::to_string(f));
    std::string modality_text;
    for (const auto& [m, count] : by_modality) {
      modality_text += (modality_text.empty() ? "" : ", ") + m + " " + std::to_string(count);
    }
    report.paragraph("Fires on " + format_number(entry["frequency"].get<double>() * 100, 3) +
                     "% of evaluation tokens (by modality: " + modality_text +
                     "); top activations:");
    report.table({"sample", "position", "token", "modality", "activation"}, rows);
    if (residual) {
      // Logit lens of the decoder direction: which tokens writing it into the stream promotes.
      torch::NoGradGuard no_grad;
      const auto direction =
          sae.W_dec[f].unsqueeze(0) * model.ln_final->weight.detach().to(torch::kFloat32);
      const auto logits = (model.config().tie_word_embeddings
                               ? torch::matmul(direction, model.embed_tokens->weight.t())
                               : model.lm_head->forward(direction))[0];
      const auto best = std::get<1>(logits.topk(5));
      nlohmann::json lens = nlohmann::json::array();
      std::string text;
      for (std::int64_t j = 0; j < best.size(0); ++j) {
        const auto& word = ref.tokenizer.token(best[j].item<std::int64_t>());
        lens.push_back(word);
        text += (j ? ", " : "") + word;
      }
      entry["logit_lens"] = lens;
      report.paragraph("Logit lens of the decoder direction (top tokens): " + text + ".");
    }
    // Where it fires in the image of its top sample.
    if (!top_json.empty()) {
      const auto [row, position] = where[static_cast<std::size_t>(top[0].item<std::int64_t>())];
      const auto& image_positions = eval_examples.groups[row].at("image");
      const auto side = static_cast<std::int64_t>(
          std::lround(std::sqrt(static_cast<double>(image_positions.size()))));
      if (!image_positions.empty() && eval_examples.samples[row].image.defined() &&
          side * side == static_cast<std::int64_t>(image_positions.size())) {
        auto heat = torch::zeros({side * side});
        for (std::size_t j = 0; j < image_positions.size(); ++j) {
          // Token index of (row, image position j) in the flattened evaluation tokens.
          std::int64_t offset = 0;
          for (std::int64_t r = 0; r < row; ++r) {
            offset += static_cast<std::int64_t>(eval_examples.tokens[r].size());
          }
          heat[static_cast<std::int64_t>(j)] = column[offset + image_positions[j]];
        }
        const auto file = "sae_feature_" + std::to_string(f) + "_image.png";
        report.image_overlay(eval_examples.samples[row].image, heat.view({side, side}), file,
                             "Feature " + std::to_string(f) + " over the image patches of sample " +
                                 std::to_string(eval_examples.samples[row].index) + ".");
        entry["image_overlay"] = file;
      }
    }
    dashboards.push_back(entry);
  }

  save_saelens(sae, out_dir);
  nlohmann::json result = {
      {"method", "sae"},
      {"model", ref.name},
      {"task", options.task},
      {"hook", options.hook},
      {"features", options.features},
      {"d_in", d_in},
      {"architecture", options.architecture},
      {"k", is_topk(options.architecture) ? nlohmann::json(options.k) : nlohmann::json(nullptr)},
      {"l1_coefficient", options.l1_coefficient},
      {"steps", options.steps},
      {"batch_tokens", options.batch_tokens},
      {"tokens_seen", tokens_seen},
      {"samples_streamed", samples_read},
      {"training_scale", scale},
      {"eval_samples", eval_count},
      {"curve", curve},
      {"dashboards", dashboards},
      {"seed", options.seed},
      {"files",
       {{"cfg", "cfg.json"},
        {"weights", "sae_weights.safetensors"},
        {"report", "report.html"},
        {"markdown", "report.md"}}}};
  result.update(evaluation_json(evaluation));
  write_result(out_dir, result);
  report.write();
  return result;
}

}  // namespace clearsight::interp
