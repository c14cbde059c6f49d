#include "clearsight/interp/neuron_importance.h"

#include <algorithm>
#include <map>
#include <memory>
#include <numeric>

#include "clearsight/core/error.h"
#include "clearsight/core/progress.h"
#include "clearsight/core/strings.h"
#include "clearsight/mm/tasks.h"

namespace clearsight::interp {

namespace {

std::string neuron_hook(std::int64_t layer) {
  return "blocks." + std::to_string(layer) + ".mlp.hook_post";
}

// [B, L] float64: 1 at each sample's own positions (prompt and answer), 0 at padding.
torch::Tensor position_mask(const Examples& examples, std::int64_t length) {
  auto mask = torch::zeros({examples.size(), length}, torch::kFloat64);
  for (std::int64_t i = 0; i < examples.size(); ++i)
    mask[i].narrow(0, 0, static_cast<std::int64_t>(examples.tokens[i].size())).fill_(1.0);
  return mask;
}

// Per sample and neuron [B, layers, neurons] of one batch.
torch::Tensor batch_importance(mm::MultimodalModel& model, const Examples& examples,
                               const std::string& criterion, std::int64_t layers) {
  struct Captured {
    torch::Tensor activation, zero;
  };
  auto captured = std::make_shared<std::map<std::string, Captured>>();
  const bool gradients = criterion == "attribution";
  std::vector<nn::HookHandle> handles;
  for (std::int64_t l = 0; l < layers; ++l) {
    handles.push_back(model.add_hook(
        neuron_hook(l),
        [captured, gradients](const torch::Tensor& x,
                              const std::string& hook) -> std::optional<torch::Tensor> {
          if (!gradients) {
            (*captured)[hook] = {x.detach().to(torch::kFloat64), {}};
            return std::nullopt;
          }
          // A zero leaf added at the hook: its gradient is the activation's.
          auto zero = torch::zeros_like(x).requires_grad_(true);
          (*captured)[hook] = {x.detach().to(torch::kFloat64), zero};
          return x + zero;
        }));
  }
  std::vector<torch::Tensor> grads;
  if (gradients) {
    torch::AutoGradMode grad_mode(true);
    const auto logits = forward_with_inputs(model, examples, InputTensors{});
    handles.clear();
    const auto score = target_score(logits, examples).sum();
    std::vector<torch::Tensor> leaves;
    for (std::int64_t l = 0; l < layers; ++l) {
      CS_CHECK_AS(RuntimeError, captured->count(neuron_hook(l)), "hook ", neuron_hook(l),
                  " did not fire");
      leaves.push_back(captured->at(neuron_hook(l)).zero);
    }
    grads = torch::autograd::grad({score}, leaves, {}, false, false, true);
  } else {
    torch::NoGradGuard no_grad;
    forward_logits(model, examples);
    handles.clear();
  }
  std::vector<torch::Tensor> per_layer;
  for (std::int64_t l = 0; l < layers; ++l) {
    CS_CHECK_AS(RuntimeError, captured->count(neuron_hook(l)), "hook ", neuron_hook(l),
                " did not fire");
    const auto& a = captured->at(neuron_hook(l)).activation;  // [B, L, N]
    const auto mask = position_mask(examples, a.size(1)).unsqueeze(-1);
    if (gradients) {
      const auto g =
          grads[l].defined() ? grads[l].detach().to(torch::kFloat64) : torch::zeros_like(a);
      per_layer.push_back((a * g * mask).sum(1).abs());
    } else {
      per_layer.push_back((a.abs() * mask).sum(1) / mask.sum(1));
    }
  }
  return torch::stack(per_layer, 1);
}

}  // namespace

const std::vector<std::string>& neuron_criterion_names() {
  static const std::vector<std::string> names = {"magnitude", "attribution"};
  return names;
}

void check_neuron_importance_options(const NeuronImportanceOptions& options) {
  const auto& names = neuron_criterion_names();
  CS_CHECK_AS(ConfigError, std::find(names.begin(), names.end(), options.criterion) != names.end(),
              "unknown neuron criterion '", options.criterion, "' (criteria: ", join(names, ", "),
              ")", did_you_mean(options.criterion, names));
  CS_CHECK_AS(ConfigError, !options.tasks.empty(), "neuron importance needs at least one task");
  CS_CHECK_AS(ConfigError, options.samples >= 1, "samples must be at least 1, not ",
              options.samples);
  CS_CHECK_AS(ConfigError, options.batch_size >= 1, "batch size must be at least 1, not ",
              options.batch_size);
}

torch::Tensor neuron_importance(const ModelRef& ref, const NeuronImportanceOptions& options) {
  check_neuron_importance_options(options);
  const std::int64_t layers = ref.model.config().num_hidden_layers;
  const std::int64_t neurons = ref.model.neurons_per_layer();
  // Every task is checked and loaded before any forward pass.
  std::vector<std::vector<mm::Sample>> task_samples;
  for (const auto& t : options.tasks) {
    SampleSelection selection;
    selection.task = t;
    selection.split = options.split;
    selection.count = options.samples;
    task_samples.push_back(select_samples(ref, selection));
  }
  ProgressOptions bar_options;
  bar_options.disable = !options.progress;
  ProgressBar progress("neurons " + options.criterion,
                       options.samples * static_cast<std::int64_t>(options.tasks.size()),
                       bar_options);
  auto total = torch::zeros({layers, neurons}, torch::kFloat64);
  for (const auto& samples : task_samples) {
    auto sum = torch::zeros({layers, neurons}, torch::kFloat64);
    const auto n = static_cast<std::int64_t>(samples.size());
    for (std::int64_t first = 0; first < n; first += options.batch_size) {
      const auto count = std::min(options.batch_size, n - first);
      const std::vector<mm::Sample> chunk(samples.begin() + first, samples.begin() + first + count);
      const auto examples = prepare_examples(chunk, ref.tokenizer, ref.model, Target{});
      sum += batch_importance(ref.model, examples, options.criterion, layers).sum(0);
      progress.advance(count);
    }
    total += sum / static_cast<double>(n);
  }
  progress.finish();
  total /= static_cast<double>(options.tasks.size());
  CS_CHECK_AS(NumericError, torch::isfinite(total).all().item<bool>(), "a neuron's ",
              options.criterion, " importance is not finite");
  return total;
}

miner::Selection top_neurons(const torch::Tensor& importance, std::int64_t count,
                             const std::string& name) {
  CS_CHECK_AS(ShapeError, importance.dim() == 2,
              "neuron importance must be [layers, neurons], not ", importance.sizes());
  CS_CHECK_AS(ConfigError, count > 0 && count <= importance.numel(), "cannot select ", count,
              " of ", importance.numel(), " neurons");
  const auto flat = importance.to(torch::kFloat64).contiguous().view(-1);
  std::vector<std::int64_t> order(flat.numel());
  std::iota(order.begin(), order.end(), 0);
  const auto* v = flat.data_ptr<double>();
  // Stable: among equal importances the lower flat index (lower layer, then neuron) wins.
  std::stable_sort(order.begin(), order.end(),
                   [v](std::int64_t a, std::int64_t b) { return v[a] > v[b]; });
  auto mask = torch::zeros({flat.numel()}, torch::kBool);
  auto* m = mask.data_ptr<bool>();
  for (std::int64_t k = 0; k < count; ++k) m[order[k]] = true;
  miner::Selection selection;
  selection.modalities = {name};
  selection.masks = mask.view({1, importance.size(0), importance.size(1)});
  selection.options.strategy = name;
  selection.options.ratio = static_cast<double>(count) / static_cast<double>(importance.numel());
  return selection;
}

}  // namespace clearsight::interp
