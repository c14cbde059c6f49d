#include "clearsight/interp/patching.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "clearsight/core/error.h"
#include "clearsight/core/progress.h"
#include "clearsight/core/strings.h"
#include "clearsight/interp/report.h"

namespace clearsight::interp {

namespace {

bool is_position_component(const std::string& component) { return component != "heads"; }

std::string component_hook(const std::string& component, std::int64_t layer) {
  const auto block = "blocks." + std::to_string(layer) + ".";
  if (component == "heads") return block + "attn.hook_z";
  return block + "hook_" + component;
}

void check_name(const std::string& what, const std::string& name,
                const std::vector<std::string>& names) {
  if (std::find(names.begin(), names.end(), name) != names.end()) return;
  CS_THROW(UnknownNameError, "unknown ", what, " '", name, "' (", what, "s: ", join(names, ", "),
           ")", did_you_mean(name, names));
}

torch::Tensor repeat_rows(const torch::Tensor& x, std::int64_t rows) {
  if (!x.defined()) return x;
  std::vector<std::int64_t> reps(x.dim(), 1);
  reps[0] = rows;
  return x.repeat(reps);
}

InputTensors repeat_inputs(const InputTensors& in, std::int64_t rows) {
  InputTensors out;
  for (const auto* m : {"text", "image", "video", "audio"})
    out.get(m) = repeat_rows(in.get(m), rows);
  return out;
}

// The (position, token) scored by logit_diff: the first target token.
std::pair<std::int64_t, std::int64_t> first_target(const Examples& examples) {
  CS_CHECK_AS(ConfigError, !examples.target_tokens.empty() && !examples.target_tokens[0].empty(),
              "the sample has no target token to score");
  return examples.target_tokens[0][0];
}

// The activation and d metric / d activation of every hook in names, on the run with inputs
// (one forward and one backward pass).
std::map<std::string, std::pair<torch::Tensor, torch::Tensor>> metric_gradients(
    mm::MultimodalModel& model, const Examples& single, const InputTensors& inputs,
    const std::vector<std::string>& names, const std::string& metric, std::int64_t foil) {
  torch::AutoGradMode grad_mode(true);
  // A zero added at each hook is a leaf whose gradient is the activation's, without cutting the
  // graph between hooks (so every layer's gradient flows through the later layers).
  struct Leaf {
    torch::Tensor activation, zero;
  };
  auto leaves = std::make_shared<std::map<std::string, Leaf>>();
  std::vector<nn::HookHandle> handles;
  for (const auto& name : names) {
    handles.push_back(model.add_hook(
        name,
        [leaves](const torch::Tensor& x, const std::string& hook) -> std::optional<torch::Tensor> {
          auto zero = torch::zeros_like(x).requires_grad_(true);
          (*leaves)[hook] = {x.detach().clone(), zero};
          return x + zero;
        }));
  }
  const auto logits = forward_with_inputs(model, single, inputs);
  handles.clear();
  const auto value = patch_metric(logits, single, metric, foil).sum();
  std::vector<torch::Tensor> list;
  for (const auto& name : names) {
    CS_CHECK_AS(RuntimeError, leaves->count(name), "hook ", name, " did not fire");
    list.push_back(leaves->at(name).zero);
  }
  const auto grads = torch::autograd::grad({value}, list, {}, false, false, true);
  std::map<std::string, std::pair<torch::Tensor, torch::Tensor>> out;
  for (std::size_t k = 0; k < names.size(); ++k) {
    out[names[k]] = {leaves->at(names[k]).activation,
                     grads[k].defined() ? grads[k].detach() : torch::zeros_like(list[k])};
  }
  return out;
}

void check_cell(const PatchCell& c) {
  CS_CHECK_AS(ConfigError, c.position < 0 || c.head < 0, "patch cell ", c.hook,
              " names both a position and a head");
}

double pearson(const std::vector<double>& a, const std::vector<double>& b) {
  const auto n = static_cast<double>(a.size());
  if (a.size() < 2) return std::numeric_limits<double>::quiet_NaN();
  double ma = 0, mb = 0;
  for (std::size_t k = 0; k < a.size(); ++k) {
    ma += a[k];
    mb += b[k];
  }
  ma /= n;
  mb /= n;
  double sab = 0, saa = 0, sbb = 0;
  for (std::size_t k = 0; k < a.size(); ++k) {
    sab += (a[k] - ma) * (b[k] - mb);
    saa += (a[k] - ma) * (a[k] - ma);
    sbb += (b[k] - mb) * (b[k] - mb);
  }
  if (saa <= 0 || sbb <= 0) return std::numeric_limits<double>::quiet_NaN();
  return sab / std::sqrt(saa * sbb);
}

nlohmann::json number_or_null(double x) {
  return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(nullptr);
}

nlohmann::json matrix_json(const torch::Tensor& m) {
  nlohmann::json rows = nlohmann::json::array();
  const auto a = m.contiguous().to(torch::kFloat64);
  for (std::int64_t r = 0; r < a.size(0); ++r) {
    nlohmann::json row = nlohmann::json::array();
    for (std::int64_t c = 0; c < a.size(1); ++c)
      row.push_back(number_or_null(a[r][c].item<double>()));
    rows.push_back(row);
  }
  return rows;
}

// What one sample contributes to the study.
struct SampleResult {
  double clean = 0, corrupted = 0;
  std::int64_t positions = 0;
  // Per component: raw effects m_patched - m_corrupted and their attribution estimates,
  // [layers, positions or heads].
  std::map<std::string, torch::Tensor> effect, estimate;
};

}  // namespace

const std::vector<std::string>& corruption_names() {
  static const std::vector<std::string> names = {"blank", "other", "shuffle", "swap"};
  return names;
}

const std::vector<std::string>& patch_component_names() {
  static const std::vector<std::string> names = {"resid_pre", "resid_post", "attn_out", "mlp_out",
                                                 "heads"};
  return names;
}

const std::vector<std::string>& patch_metric_names() {
  static const std::vector<std::string> names = {"logit_diff", "prob", "logprob"};
  return names;
}

InputTensors corrupted_inputs(mm::MultimodalModel& model, const Examples& single,
                              const InputTensors& clean, const std::string& kind,
                              const Examples* donor) {
  check_name("corruption", kind, corruption_names());
  CS_CHECK_AS(ConfigError, single.size() == 1, "corrupted_inputs takes one sample, got ",
              single.size());
  InputTensors out = clean;
  const bool has_media = clean.image.defined() || clean.video.defined() || clean.audio.defined();
  if (kind == "blank") {
    CS_CHECK_AS(ConfigError, has_media,
                "corruption 'blank' replaces media, but the sample has none (use --corrupt swap)");
    const auto base = baseline_inputs(model, single, clean, {"grey", "silence", "pad", "question"});
    out.image = base.image;
    out.video = base.video;
    out.audio = base.audio;
  } else if (kind == "other") {
    CS_CHECK_AS(ConfigError, has_media,
                "corruption 'other' swaps media, but the sample has none (use --corrupt swap)");
    CS_CHECK_AS(ConfigError, donor != nullptr && donor->size() == 1,
                "corruption 'other' needs one donor sample");
    const auto theirs = clean_inputs(model, *donor);
    for (const auto* m : {"image", "video", "audio"}) {
      const auto& mine = clean.get(m);
      if (!mine.defined()) continue;
      const auto& other = theirs.get(m);
      CS_CHECK_AS(ShapeError, other.defined() && other.sizes() == mine.sizes(),
                  "corruption 'other': ", m, " of donor sample ", donor->samples[0].index,
                  " has shape ", other.defined() ? other.sizes() : c10::IntArrayRef{}, ", sample ",
                  single.samples[0].index, " has ", mine.sizes(),
                  " (patching needs the same number of positions)");
      out.get(m) = other;
    }
  } else if (kind == "shuffle") {
    CS_CHECK_AS(ConfigError, clean.audio.defined(),
                "corruption 'shuffle' permutes the audio's frames, but the sample has no audio");
    auto gen = at::make_generator<at::CPUGeneratorImpl>(0);
    const auto perm = torch::randperm(clean.audio.size(-1), gen, torch::kInt64);
    out.audio = clean.audio.index_select(-1, perm);
  } else {  // swap
    const auto& q = single.groups[0].at("question");
    CS_CHECK_AS(ConfigError, q.size() >= 2,
                "corruption 'swap' reverses the question's words, but "
                "sample ",
                single.samples[0].index, " has ", q.size(), " question token(s)");
    out.text = clean.text.clone();
    for (std::size_t k = 0; k < q.size(); ++k) {
      out.text[0][q[k]].copy_(clean.text[0][q[q.size() - 1 - k]]);
    }
  }
  return out;
}

std::pair<torch::Tensor, std::map<std::string, torch::Tensor>> run_with_cache(
    mm::MultimodalModel& model, const Examples& single, const InputTensors& inputs,
    const std::vector<std::string>& names) {
  torch::NoGradGuard no_grad;
  auto cache = std::make_shared<std::map<std::string, torch::Tensor>>();
  std::vector<nn::HookHandle> handles;
  for (const auto& name : names) {
    handles.push_back(model.add_hook(
        name,
        [cache](const torch::Tensor& x, const std::string& hook) -> std::optional<torch::Tensor> {
          (*cache)[hook] = x.detach().clone();
          return std::nullopt;
        }));
  }
  auto logits = forward_with_inputs(model, single, inputs);
  handles.clear();
  return {logits, *cache};
}

torch::Tensor patch_metric(const torch::Tensor& logits, const Examples& repeated,
                           const std::string& metric, std::int64_t foil) {
  check_name("metric", metric, patch_metric_names());
  if (metric == "logit_diff") {
    const auto [position, token] = first_target(repeated);
    const auto at = logits.select(1, position).to(torch::kFloat64);
    return (at.select(1, token) - at.select(1, foil));
  }
  const auto score = target_score(logits, repeated);
  return metric == "prob" ? score.exp() : score;
}

torch::Tensor patch_cells(mm::MultimodalModel& model, const Examples& single,
                          const InputTensors& corrupted,
                          const std::map<std::string, torch::Tensor>& clean_cache,
                          const std::vector<PatchCell>& cells, const std::string& metric,
                          std::int64_t foil, std::int64_t rows) {
  torch::NoGradGuard no_grad;
  CS_CHECK_AS(ConfigError, rows >= 1, "patched runs per pass must be >= 1, got ", rows);
  const auto n = static_cast<std::int64_t>(cells.size());
  auto out = torch::empty({n}, torch::kFloat64);
  Examples repeated;
  std::int64_t repeated_rows = 0;
  InputTensors inputs;
  for (std::int64_t start = 0; start < n; start += rows) {
    const auto r = std::min(rows, n - start);
    if (r != repeated_rows) {
      repeated = repeat_examples(single, r);
      inputs = repeat_inputs(corrupted, r);
      repeated_rows = r;
    }
    // Group the chunk's cells by hook: the rows patched at one index of dim 1 (a position or a
    // head), and the rows patched whole.
    struct Plan {
      std::vector<std::int64_t> rows, index, whole;
    };
    std::map<std::string, Plan> by_hook;
    for (std::int64_t k = 0; k < r; ++k) {
      const auto& c = cells[start + k];
      check_cell(c);
      auto& plan = by_hook[c.hook];
      const auto index = c.position >= 0 ? c.position : c.head;
      if (index < 0) {
        plan.whole.push_back(k);
      } else {
        plan.rows.push_back(k);
        plan.index.push_back(index);
      }
    }
    std::vector<nn::HookHandle> handles;
    for (const auto& [hook, plan] : by_hook) {
      const auto found = clean_cache.find(hook);
      CS_CHECK_AS(ConfigError, found != clean_cache.end(), "no clean activation of ", hook);
      const auto source = found->second;  // [1, L, d] or [1, H, L, D]
      const auto row_index = torch::tensor(plan.rows, torch::kInt64);
      const auto index = torch::tensor(plan.index, torch::kInt64);
      const auto whole = torch::tensor(plan.whole, torch::kInt64);
      const auto max_index =
          plan.index.empty() ? -1 : *std::max_element(plan.index.begin(), plan.index.end());
      CS_CHECK_AS(ShapeError, source.dim() >= 3 && source.size(1) > max_index, "patching ", hook,
                  ": the activation ", source.sizes(), " has no index ", max_index);
      const auto values = plan.index.empty() ? torch::Tensor() : source[0].index_select(0, index);
      handles.push_back(model.add_hook(
          hook,
          [source, row_index, index, whole, values](
              const torch::Tensor& x, const std::string& name) -> std::optional<torch::Tensor> {
            CS_CHECK_AS(ShapeError, x.sizes().slice(1) == source.sizes().slice(1), "patching ",
                        name, ": the corrupted activation ", x.sizes(),
                        " does not match the clean one ", source.sizes());
            auto patched = x.clone();
            if (values.defined()) {
              patched.index_put_({row_index, index}, values.to(x.scalar_type()));
            }
            if (whole.numel() > 0) {
              auto sizes = source.sizes().vec();
              sizes[0] = whole.numel();
              patched.index_copy_(0, whole, source.to(x.scalar_type()).expand(sizes).contiguous());
            }
            return patched;
          }));
    }
    const auto logits = forward_with_inputs(model, repeated, inputs);
    handles.clear();
    out.narrow(0, start, r).copy_(patch_metric(logits, repeated, metric, foil).to(torch::kCPU));
  }
  return out;
}

torch::Tensor attribution_cells(mm::MultimodalModel& model, const Examples& single,
                                const InputTensors& corrupted,
                                const std::map<std::string, torch::Tensor>& clean_cache,
                                const std::vector<PatchCell>& cells, const std::string& metric,
                                std::int64_t foil) {
  std::vector<std::string> hooks;
  for (const auto& c : cells) {
    check_cell(c);
    CS_CHECK_AS(ConfigError, clean_cache.count(c.hook), "no clean activation of ", c.hook);
    if (std::find(hooks.begin(), hooks.end(), c.hook) == hooks.end()) hooks.push_back(c.hook);
  }
  const auto grads = metric_gradients(model, single, corrupted, hooks, metric, foil);
  // Per hook: (a_clean - a_corrupted) * gradient, float64, without the batch dim.
  std::map<std::string, torch::Tensor> products;
  for (const auto& hook : hooks) {
    const auto& [activation, grad] = grads.at(hook);
    const auto& clean = clean_cache.at(hook);
    CS_CHECK_AS(ShapeError, clean.sizes() == activation.sizes(), "attribution patching ", hook,
                ": the clean activation ", clean.sizes(), " does not match the corrupted one ",
                activation.sizes());
    products[hook] = ((clean.to(torch::kFloat64) - activation.to(torch::kFloat64)) *
                      grad.to(torch::kFloat64))[0];
  }
  auto out = torch::empty({static_cast<std::int64_t>(cells.size())}, torch::kFloat64);
  for (std::size_t k = 0; k < cells.size(); ++k) {
    const auto& c = cells[k];
    const auto& prod = products.at(c.hook);
    const auto index = c.position >= 0 ? c.position : c.head;
    CS_CHECK_AS(ShapeError, index < prod.size(0), "attribution patching ", c.hook,
                ": the activation has no index ", index);
    out[static_cast<std::int64_t>(k)] = index < 0 ? prod.sum() : prod[index].sum();
  }
  return out;
}

nlohmann::json run_patching(const ModelRef& ref, const SampleSelection& selection,
                            const PatchOptions& options, const std::filesystem::path& out_dir) {
  check_name("corruption", options.corrupt, corruption_names());
  check_name("metric", options.metric, patch_metric_names());
  CS_CHECK_AS(ConfigError, !options.components.empty(), "patching needs at least one component");
  for (const auto& c : options.components) check_name("component", c, patch_component_names());
  CS_CHECK_AS(ConfigError, options.rows >= 1, "patched runs per pass must be >= 1, got ",
              options.rows);
  auto& model = ref.model;
  model.eval();
  const auto layers = model.config().num_hidden_layers;
  const auto heads = model.config().num_attention_heads;
  const auto samples = select_samples(ref, selection);
  const auto n = static_cast<std::int64_t>(samples.size());
  std::vector<mm::Sample> donors;
  if (options.corrupt == "other") {
    // Each sample takes the media of the sample `count` places later in the split (wrapping to
    // the start of the selection when the split ends), independent of the batch size.
    const auto task = mm::make_task(selection.task);
    const auto split = parse_split(selection.split);
    const auto size = task->split_size(split);
    for (std::int64_t k = 0; k < n; ++k) {
      auto index = samples[k].index + n;
      if (index >= size) index = samples[(k + 1) % n].index;
      CS_CHECK_AS(ConfigError, index != samples[k].index,
                  "corruption 'other' needs a second sample in the split");
      donors.push_back(load_samples(*task, split, index, 1)[0]);
    }
  }

  std::vector<std::string> hooks;
  for (const auto& c : options.components) {
    for (std::int64_t l = 0; l < layers; ++l) hooks.push_back(component_hook(c, l));
  }

  std::vector<SampleResult> results(n);
  std::vector<std::vector<std::string>> tokens(n), modality(n);
  std::vector<std::map<std::string, std::vector<std::int64_t>>> groups(n);
  std::int64_t total_cells = 0;
  std::vector<Examples> prepared;
  for (std::int64_t k = 0; k < n; ++k) {
    prepared.push_back(prepare_examples({samples[k]}, ref.tokenizer, model, options.target));
    const auto p = prepared.back().prompt_lengths[0];
    for (const auto& c : options.components)
      total_cells += layers * (is_position_component(c) ? p : heads);
  }
  ProgressOptions bar_options;
  bar_options.disable = !options.progress;
  bar_options.unit = "runs";
  ProgressBar progress("patch", total_cells, bar_options);
  for (std::int64_t k = 0; k < n; ++k) {
    const auto& single = prepared[k];
    auto& res = results[k];
    tokens[k] = single.tokens[0];
    modality[k] = single.modality[0];
    groups[k] = single.groups[0];
    res.positions = single.prompt_lengths[0];
    const auto clean = clean_inputs(model, single);
    std::optional<Examples> donor;
    if (!donors.empty())
      donor = prepare_examples({donors[k]}, ref.tokenizer, model, options.target);
    const auto corrupted =
        corrupted_inputs(model, single, clean, options.corrupt, donor ? &*donor : nullptr);
    const auto [clean_logits, clean_cache] = run_with_cache(model, single, clean, hooks);
    const auto [corrupt_logits, corrupt_cache] = run_with_cache(model, single, corrupted, {});
    // The foil of logit_diff: the corrupted run's most likely token other than the target.
    const auto [position, token] = first_target(single);
    auto ranked = corrupt_logits[0][position].clone();
    ranked[token] = -std::numeric_limits<float>::infinity();
    const auto foil = ranked.argmax().item<std::int64_t>();
    res.clean = patch_metric(clean_logits, single, options.metric, foil)[0].item<double>();
    res.corrupted = patch_metric(corrupt_logits, single, options.metric, foil)[0].item<double>();
    // Every cell of every component; the cells of one component are contiguous.
    std::vector<PatchCell> cells;
    std::map<std::string, std::pair<std::size_t, std::int64_t>> span;  // start, width
    for (const auto& c : options.components) {
      const bool positional = is_position_component(c);
      const auto width = positional ? res.positions : heads;
      span[c] = {cells.size(), width};
      for (std::int64_t l = 0; l < layers; ++l) {
        for (std::int64_t j = 0; j < width; ++j) {
          cells.push_back(positional ? PatchCell{component_hook(c, l), j, -1}
                                     : PatchCell{component_hook(c, l), -1, j});
        }
      }
    }
    std::vector<torch::Tensor> parts;
    const auto chunk_cells = static_cast<std::size_t>(options.rows) * 4;
    for (std::size_t s = 0; s < cells.size(); s += chunk_cells) {
      const auto e = std::min(cells.size(), s + chunk_cells);
      const std::vector<PatchCell> chunk(cells.begin() + static_cast<std::ptrdiff_t>(s),
                                         cells.begin() + static_cast<std::ptrdiff_t>(e));
      parts.push_back(patch_cells(model, single, corrupted, clean_cache, chunk, options.metric,
                                  foil, options.rows));
      progress.advance(static_cast<std::int64_t>(e - s));
    }
    const auto effects = torch::cat(parts) - res.corrupted;
    torch::Tensor estimates;
    if (options.attribution) {
      estimates =
          attribution_cells(model, single, corrupted, clean_cache, cells, options.metric, foil);
    }
    for (const auto& c : options.components) {
      const auto [first, width] = span.at(c);
      const auto count = layers * width;
      res.effect[c] =
          effects.narrow(0, static_cast<std::int64_t>(first), count).view({layers, width});
      if (options.attribution) {
        res.estimate[c] =
            estimates.narrow(0, static_cast<std::int64_t>(first), count).view({layers, width});
      }
    }
  }
  progress.finish();

  // Aggregate grids: positions aligned at the prompt start.
  std::int64_t max_positions = 0;
  for (const auto& r : results) max_positions = std::max(max_positions, r.positions);
  nlohmann::json components = nlohmann::json::object();
  std::map<std::string, torch::Tensor> tensors;
  std::map<std::string, torch::Tensor> aggregate;
  std::map<std::string, double> correlation;
  for (const auto& c : options.components) {
    const bool positional = is_position_component(c);
    const auto width = positional ? max_positions : heads;
    auto num = torch::zeros({layers, width}, torch::kFloat64);
    auto num_estimate = torch::zeros({layers, width}, torch::kFloat64);
    auto den = torch::zeros({width}, torch::kFloat64);
    std::vector<double> real_values, estimated_values;
    for (std::int64_t k = 0; k < n; ++k) {
      const auto& r = results[k];
      const auto w = r.effect.at(c).size(1);
      num.narrow(1, 0, w).add_(r.effect.at(c));
      den.narrow(0, 0, w).add_(r.clean - r.corrupted);
      const auto denom = r.clean - r.corrupted;
      const auto scale = std::abs(denom) > 1e-12 ? 1.0 / denom : std::nan("");
      tensors[c + "." + std::to_string(k)] = (r.effect.at(c) * scale).to(torch::kFloat32);
      if (options.attribution) {
        num_estimate.narrow(1, 0, w).add_(r.estimate.at(c));
        tensors["attribution." + c + "." + std::to_string(k)] =
            (r.estimate.at(c) * scale).to(torch::kFloat32);
        const auto a = r.effect.at(c).contiguous();
        const auto b = r.estimate.at(c).contiguous();
        real_values.insert(real_values.end(), a.data_ptr<double>(),
                           a.data_ptr<double>() + a.numel());
        estimated_values.insert(estimated_values.end(), b.data_ptr<double>(),
                                b.data_ptr<double>() + b.numel());
      }
    }
    const auto changed = den.abs().gt(1e-12);
    const auto safe = torch::where(changed, den, torch::ones_like(den));
    const auto nan = torch::full_like(num, std::nan(""));
    const auto grid = torch::where(changed.unsqueeze(0), num / safe, nan);
    aggregate[c] = grid;
    nlohmann::json entry;
    entry["grid"] = matrix_json(grid);
    if (options.attribution) {
      entry["attribution_grid"] =
          matrix_json(torch::where(changed.unsqueeze(0), num_estimate / safe, nan));
      correlation[c] = pearson(real_values, estimated_values);
      entry["attribution_correlation"] = number_or_null(correlation[c]);
    }
    if (positional) {
      // Per group: the normalised effect over the group's positions and the samples, a ratio of
      // sums as the grid is (sum of effects / sum of clean - corrupted gaps), so that a sample
      // the corruption barely moves does not blow the mean up.
      nlohmann::json by_group = nlohmann::json::object();
      for (const auto& g : group_names()) {
        std::vector<double> per_layer(layers, 0.0);
        double gaps = 0.0;
        for (std::int64_t k = 0; k < n; ++k) {
          const auto& r = results[k];
          const auto denom = r.clean - r.corrupted;
          if (std::abs(denom) <= 1e-12) continue;
          const auto effect = r.effect.at(c).contiguous();
          for (const auto p : groups[k].at(g)) {
            if (p >= r.positions) continue;
            for (std::int64_t l = 0; l < layers; ++l) per_layer[l] += effect[l][p].item<double>();
            gaps += denom;
          }
        }
        if (std::abs(gaps) <= 1e-12) continue;
        nlohmann::json values = nlohmann::json::array();
        for (auto v : per_layer) values.push_back(v / gaps);
        by_group[g] = values;
      }
      entry["groups"] = by_group;
    }
    components[c] = entry;
    tensors["grid." + c] = grid.to(torch::kFloat32);
  }

  std::string grid_component;
  for (const auto& c : options.components) {
    if (is_position_component(c)) {
      grid_component = c;
      break;
    }
  }

  nlohmann::json result;
  result["method"] = "patch";
  result["model"] = ref.name;
  result["task"] = selection.task;
  result["split"] = selection.split;
  std::vector<std::int64_t> indices;
  for (const auto& s : samples) indices.push_back(s.index);
  result["samples"] = indices;
  result["corrupt"] = options.corrupt;
  result["metric"] = options.metric;
  result["target"] = {{"kind", options.target.kind}, {"token", options.target.token}};
  result["layers"] = layers;
  result["heads"] = heads;
  result["components"] = components;
  nlohmann::json clean_json = nlohmann::json::array(), corrupt_json = nlohmann::json::array();
  nlohmann::json per_sample = nlohmann::json::array();
  for (std::int64_t k = 0; k < n; ++k) {
    clean_json.push_back(results[k].clean);
    corrupt_json.push_back(results[k].corrupted);
    nlohmann::json s = {{"index", indices[k]},
                        {"clean_metric", results[k].clean},
                        {"corrupted_metric", results[k].corrupted},
                        {"positions", results[k].positions},
                        {"changed", std::abs(results[k].clean - results[k].corrupted) > 1e-12}};
    if (!donors.empty()) s["donor"] = donors[k].index;
    per_sample.push_back(s);
  }
  result["clean_metric"] = clean_json;
  result["corrupted_metric"] = corrupt_json;
  result["grid_component"] =
      grid_component.empty() ? nlohmann::json(nullptr) : nlohmann::json(grid_component);
  result["grid"] =
      grid_component.empty() ? nlohmann::json(nullptr) : components[grid_component]["grid"];
  nlohmann::json positions = nlohmann::json::array();
  for (std::int64_t p = 0; p < results[0].positions; ++p) {
    positions.push_back({{"token", tokens[0][p]}, {"modality", modality[0][p]}});
  }
  result["positions"] = positions;
  result["per_sample"] = per_sample;
  result["files"] = {
      {"tensors", "patching.safetensors"}, {"report", "report.html"}, {"markdown", "report.md"}};
  write_tensors(out_dir, "patching.safetensors", tensors, "patch");
  write_result(out_dir, result);

  // The report: one heatmap per component (layers x positions labelled by modality, or x heads).
  Report report(out_dir, "Activation patching: " + selection.task + " on " + ref.name);
  std::int64_t changed_samples = 0;
  for (const auto& r : results) changed_samples += std::abs(r.clean - r.corrupted) > 1e-12;
  report.paragraph("Corruption '" + options.corrupt + "', metric " + options.metric + " of the " +
                   options.target.kind + " target, " + std::to_string(n) + " " + selection.split +
                   " sample(s) (" + std::to_string(changed_samples) +
                   " changed by the corruption). Each cell copies one clean activation into the "
                   "corrupted run; 0 = corrupted, 1 = clean. Positions are aligned at the start "
                   "of the prompt and labelled by the first sample's tokens.");
  std::vector<std::vector<std::string>> rows;
  for (std::int64_t k = 0; k < n; ++k) {
    rows.push_back({std::to_string(indices[k]), format_number(results[k].clean),
                    format_number(results[k].corrupted)});
  }
  report.table({"sample", "clean " + options.metric, "corrupted " + options.metric}, rows);
  std::vector<std::string> layer_labels;
  for (std::int64_t l = 0; l < layers; ++l) layer_labels.push_back("L" + std::to_string(l));
  std::vector<std::string> position_labels;
  for (std::int64_t p = 0; p < max_positions; ++p) {
    if (p < results[0].positions) {
      const auto& m = modality[0][p];
      position_labels.push_back(m == "text" ? tokens[0][p] : m.substr(0, 3));
    } else {
      position_labels.push_back(std::to_string(p));
    }
  }
  std::vector<std::string> head_labels;
  for (std::int64_t h = 0; h < heads; ++h) head_labels.push_back("H" + std::to_string(h));
  for (const auto& c : options.components) {
    const bool positional = is_position_component(c);
    report.section("Patching " + c);
    const auto picture = torch::nan_to_num(aggregate[c], 0.0).to(torch::kFloat32);
    report.heatmap(picture, layer_labels, positional ? position_labels : head_labels,
                   "patching " + c, "patch_" + c + ".svg",
                   "Normalised effect of patching " + c +
                       (positional ? " per layer x position" : " per layer x head") +
                       " (cells the corruption did not change drawn as 0).");
    if (options.attribution) {
      report.paragraph(
          "Attribution patching vs real patching, Pearson r over every cell of every "
          "sample: " +
          (std::isfinite(correlation[c]) ? format_number(correlation[c], 3) : "n/a") + ".");
    }
  }
  report.write();
  return result;
}

}  // namespace clearsight::interp
