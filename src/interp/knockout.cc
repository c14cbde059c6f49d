#include "clearsight/interp/knockout.h"

#include <algorithm>
#include <cmath>

#include "clearsight/core/error.h"
#include "clearsight/core/plot.h"
#include "clearsight/core/progress.h"
#include "clearsight/core/strings.h"
#include "clearsight/interp/report.h"

namespace clearsight::interp {

namespace {

// The pseudo-group of every (non-padding) position of a sample.
constexpr const char* kAllGroup = "all";

void check_edge_group(const std::string& edge, const std::string& name) {
  if (name == kAllGroup) return;
  const auto& names = group_names();
  if (std::find(names.begin(), names.end(), name) != names.end()) return;
  auto candidates = names;
  candidates.emplace_back(kAllGroup);
  const auto hint = did_you_mean(name, candidates);
  CS_THROW(UnknownNameError, "knockout edge '", edge, "': unknown group '", name, "'.",
           hint.empty() ? "" : " ", hint, " Groups: ", join(candidates, ", "));
}

std::string trim(const std::string& text) {
  const auto begin = text.find_first_not_of(" \t");
  if (begin == std::string::npos) return "";
  const auto end = text.find_last_not_of(" \t");
  return text.substr(begin, end - begin + 1);
}

// A [L] bool mask of the positions of group name in sample i of examples.
torch::Tensor group_mask(const Examples& examples, std::int64_t i, const std::string& name,
                         std::int64_t length) {
  auto mask = torch::zeros({length}, torch::kBool);
  if (name == kAllGroup) {
    mask.narrow(0, 0, static_cast<std::int64_t>(examples.tokens[i].size())).fill_(true);
    return mask;
  }
  const auto& positions = examples.positions(i, name);
  if (!positions.empty()) mask.index_fill_(0, torch::tensor(positions, torch::kInt64), true);
  return mask;
}

std::string pattern_hook(std::int64_t layer) {
  return "blocks." + std::to_string(layer) + ".attn.hook_pattern";
}

}  // namespace

std::vector<KnockoutEdge> parse_edge_set(const std::string& spec) {
  std::vector<KnockoutEdge> edges;
  const auto whole = trim(spec);
  if (whole.empty() || whole == "none") return edges;
  for (const auto& piece : split(whole, ',')) {
    const auto edge = trim(piece);
    CS_CHECK_AS(ConfigError, !edge.empty(), "knockout edge set '", spec,
                "' has an empty edge (write edges as SRC-TGT separated by commas)");
    std::string source, target;
    const auto arrow = edge.find("->");
    if (arrow != std::string::npos) {
      source = edge.substr(0, arrow);
      target = edge.substr(arrow + 2);
    } else {
      const auto parts = split(edge, '-');
      CS_CHECK_AS(ConfigError, parts.size() == 2, "knockout edge '", edge,
                  "' must be SRC-TGT (e.g. image-last: queries of 'last' cannot attend to keys "
                  "of 'image')");
      source = parts[0];
      target = parts[1];
    }
    source = trim(source);
    target = trim(target);
    CS_CHECK_AS(ConfigError, !source.empty() && !target.empty(), "knockout edge '", edge,
                "' must be SRC-TGT with both groups named");
    CS_CHECK_AS(ConfigError,
                target.find('-') == std::string::npos && target.find('>') == std::string::npos,
                "knockout edge '", edge, "' must be SRC-TGT with exactly one separator");
    check_edge_group(edge, source);
    check_edge_group(edge, target);
    edges.push_back({source, target});
  }
  return edges;
}

std::string edge_set_name(const std::vector<KnockoutEdge>& edges) {
  if (edges.empty()) return "none";
  std::vector<std::string> parts;
  parts.reserve(edges.size());
  for (const auto& e : edges) parts.push_back(e.source + "-" + e.target);
  return join(parts, ",");
}

torch::Tensor knockout_mask(const Examples& examples, const std::vector<KnockoutEdge>& edges) {
  const auto b = examples.size();
  const auto length = examples.batch.inputs.input_ids.size(1);
  auto mask = torch::zeros({b, length, length}, torch::kBool);
  for (std::int64_t i = 0; i < b; ++i) {
    for (const auto& e : edges) {
      const auto keys = group_mask(examples, i, e.source, length);
      const auto queries = group_mask(examples, i, e.target, length);
      mask[i].logical_or_(queries.unsqueeze(1).logical_and(keys.unsqueeze(0)));
    }
  }
  return mask;
}

torch::Tensor knock_out_pattern(const torch::Tensor& pattern, const torch::Tensor& blocked) {
  CS_CHECK_AS(ShapeError,
              pattern.dim() == 4 && blocked.dim() == 3 && pattern.size(0) == blocked.size(0) &&
                  pattern.size(2) == blocked.size(1) && pattern.size(3) == blocked.size(2),
              "attention knockout: pattern ", pattern.sizes(), " does not match the mask ",
              blocked.sizes(), " (the hooks were made for another batch, or a KV cache is in use)");
  const auto block = blocked.to(pattern.device()).unsqueeze(1);  // [B, 1, Lq, Lk]
  const auto kept = pattern.masked_fill(block, 0.0);
  const auto remaining = kept.sum(-1, /*keepdim=*/true);
  // Blocking with -inf before the softmax gives exp(s_j) / sum over unblocked exp(s_k), which is
  // p_j / (sum of the unblocked p_k): zeroing and renormalising is the same. A row none of whose
  // blocked entries carries attention (e.g. causally hidden keys) is left bit-identical. A row
  // whose every visible entry would be blocked has no valid softmax (all -inf); it keeps its
  // original values rather than becoming NaN or uniform.
  const auto affected = pattern.masked_fill(block.logical_not(), 0.0).gt(0).any(-1, true);
  const auto renormalise = affected.logical_and(remaining.gt(0));
  return torch::where(renormalise, kept / remaining.clamp_min(1e-30), pattern);
}

std::vector<nn::HookHandle> add_knockout_hooks(mm::MultimodalModel& model, const Examples& examples,
                                               const KnockoutSpec& spec) {
  const auto layers = model.config().num_hidden_layers;
  for (const auto l : spec.layers) {
    CS_CHECK_AS(ConfigError, l >= 0 && l < layers, "knockout layer ", l,
                " is out of range: the model has layers 0..", layers - 1);
  }
  std::vector<nn::HookHandle> handles;
  if (spec.edges.empty() || spec.layers.empty()) return handles;
  const auto blocked = knockout_mask(examples, spec.edges);
  if (!blocked.any().item<bool>()) return handles;
  std::vector<std::int64_t> unique = spec.layers;
  std::sort(unique.begin(), unique.end());
  unique.erase(std::unique(unique.begin(), unique.end()), unique.end());
  for (const auto l : unique) {
    handles.push_back(model.add_hook(pattern_hook(l),
                                     [blocked](const torch::Tensor& pattern,
                                               const std::string&) -> std::optional<torch::Tensor> {
                                       return knock_out_pattern(pattern, blocked);
                                     }));
  }
  return handles;
}

torch::Tensor knockout_logits(mm::MultimodalModel& model, const Examples& examples,
                              const KnockoutSpec& spec) {
  torch::NoGradGuard no_grad;
  model.eval();
  const auto handles = add_knockout_hooks(model, examples, spec);
  return forward_logits(model, examples);
}

torch::Tensor knockout_scores(mm::MultimodalModel& model, const Examples& examples,
                              const KnockoutSpec& spec) {
  torch::NoGradGuard no_grad;
  return target_score(knockout_logits(model, examples, spec), examples).to(torch::kCPU);
}

std::vector<std::vector<std::int64_t>> knockout_windows(std::int64_t layers, std::int64_t window) {
  CS_CHECK_AS(ConfigError, window >= 1 && window <= layers, "knockout window must be 1..", layers,
              " layers, got ", window);
  std::vector<std::vector<std::int64_t>> out;
  for (std::int64_t start = 0; start + window <= layers; ++start) {
    std::vector<std::int64_t> w(window);
    for (std::int64_t j = 0; j < window; ++j) w[j] = start + j;
    out.push_back(std::move(w));
  }
  return out;
}

std::vector<std::string> default_edge_sets(const std::vector<std::string>& media_modalities) {
  std::vector<std::string> out;
  for (const auto& m : media_modalities) {
    if (m == "text") continue;
    out.push_back(m + "-last");
    out.push_back(m + "-question");
  }
  out.emplace_back("question-last");
  return out;
}

nlohmann::json run_knockout(const ModelRef& ref, const SampleSelection& selection,
                            const KnockoutOptions& options, const std::filesystem::path& out_dir) {
  CS_CHECK_AS(ConfigError, selection.batch_size >= 1, "batch_size must be >= 1, got ",
              selection.batch_size);
  const auto layers = ref.model.config().num_hidden_layers;
  const auto windows = knockout_windows(layers, options.window);
  auto specs = options.edge_sets;
  if (specs.empty()) specs = default_edge_sets(mm::make_task(selection.task)->modalities());
  std::vector<std::vector<KnockoutEdge>> edge_sets;
  std::vector<std::string> names;
  for (const auto& spec : specs) {
    edge_sets.push_back(parse_edge_set(spec));
    names.push_back(edge_set_name(edge_sets.back()));
  }
  const auto samples = select_samples(ref, selection);
  const auto n = static_cast<std::int64_t>(samples.size());
  const auto w = static_cast<std::int64_t>(windows.size());
  const auto e = static_cast<std::int64_t>(edge_sets.size());

  auto clean = torch::zeros({n}, torch::kFloat64);
  auto knocked = torch::zeros({e, w, n}, torch::kFloat64);
  ProgressOptions bar_options;
  bar_options.disable = !options.progress;
  bar_options.unit = "samples";
  ProgressBar progress("knockout", n * (1 + e * w), bar_options);
  for (std::int64_t start = 0; start < n; start += selection.batch_size) {
    const auto end = std::min(n, start + selection.batch_size);
    const std::vector<mm::Sample> chunk(samples.begin() + start, samples.begin() + end);
    const auto examples = prepare_examples(chunk, ref.tokenizer, ref.model, options.target);
    clean.narrow(0, start, end - start).copy_(knockout_scores(ref.model, examples, {}).exp());
    progress.advance(end - start);
    for (std::int64_t s = 0; s < e; ++s) {
      for (std::int64_t k = 0; k < w; ++k) {
        const KnockoutSpec spec{edge_sets[s], windows[k]};
        knocked[s][k]
            .narrow(0, start, end - start)
            .copy_(knockout_scores(ref.model, examples, spec).exp());
        progress.advance(end - start);
      }
    }
  }
  progress.finish();

  const auto delta = knocked - clean.view({1, 1, n});  // [E, W, N]
  const auto relative = 100.0 * delta / clean.clamp_min(1e-300).view({1, 1, n});
  const auto mean_delta = delta.mean(-1);
  const auto mean_relative = relative.mean(-1);

  nlohmann::json result;
  result["method"] = "knockout";
  result["model"] = ref.name;
  result["task"] = selection.task;
  result["split"] = selection.split;
  std::vector<std::int64_t> indices;
  for (const auto& sample : samples) indices.push_back(sample.index);
  result["samples"] = indices;
  result["target"] = {{"kind", options.target.kind}, {"token", options.target.token}};
  result["window"] = options.window;
  result["layers"] = layers;
  result["edge_sets"] = names;
  result["clean_probability"] = tensor_to_json(clean);
  nlohmann::json window_json = nlohmann::json::array();
  for (std::int64_t s = 0; s < e; ++s) {
    for (std::int64_t k = 0; k < w; ++k) {
      nlohmann::json per_sample = nlohmann::json::array();
      for (std::int64_t i = 0; i < n; ++i) {
        per_sample.push_back({{"index", indices[i]},
                              {"probability", knocked[s][k][i].item<double>()},
                              {"delta", delta[s][k][i].item<double>()},
                              {"relative_change_percent", relative[s][k][i].item<double>()}});
      }
      window_json.push_back({{"edge_set", names[s]},
                             {"layers", windows[k]},
                             {"delta", mean_delta[s][k].item<double>()},
                             {"relative_change_percent", mean_relative[s][k].item<double>()},
                             {"per_sample", per_sample}});
    }
  }
  result["windows"] = window_json;
  result["files"] = {
      {"tensors", "knockout.safetensors"}, {"report", "report.html"}, {"markdown", "report.md"}};

  std::map<std::string, torch::Tensor> tensors;
  tensors["clean_probability"] = clean;
  for (std::int64_t s = 0; s < e; ++s) tensors["probability." + names[s]] = knocked[s];
  write_tensors(out_dir, "knockout.safetensors", tensors, "knockout");
  write_result(out_dir, result);

  Report report(out_dir, "Attention knockout: " + selection.task + " on " + ref.name);
  report.paragraph(
      "Edge SRC-TGT: queries of group TGT cannot attend to keys of group SRC, over "
      "windows of " +
      std::to_string(options.window) +
      " consecutive layer(s). p is "
      "the probability of the target (" +
      options.target.kind + ") over " + std::to_string(n) + " " + selection.split +
      " samples; mean clean p = " + format_number(clean.mean().item<double>()) + ".");
  LinePlot delta_plot{"Change of the answer probability under knockout",
                      "first layer of the window",
                      "mean (p_knock - p_clean)",
                      {},
                      true};
  LinePlot relative_plot{"Relative change of the answer probability",
                         "first layer of the window",
                         "mean relative change (%)",
                         {},
                         true};
  for (std::int64_t s = 0; s < e; ++s) {
    PlotSeries d{names[s], {}}, r{names[s], {}};
    for (std::int64_t k = 0; k < w; ++k) {
      const auto x = static_cast<double>(windows[k].front());
      d.points.emplace_back(x, mean_delta[s][k].item<double>());
      r.points.emplace_back(x, mean_relative[s][k].item<double>());
    }
    delta_plot.series.push_back(std::move(d));
    relative_plot.series.push_back(std::move(r));
  }
  report.section("Knockout by layer");
  report.line_plot(delta_plot, "knockout_delta.svg",
                   "Mean change of the answer probability, one curve per edge set.");
  report.line_plot(relative_plot, "knockout_relative.svg",
                   "Mean relative change of the answer probability in percent.");
  std::vector<std::vector<std::string>> rows;
  for (std::int64_t s = 0; s < e; ++s) {
    for (std::int64_t k = 0; k < w; ++k) {
      rows.push_back({names[s],
                      std::to_string(windows[k].front()) + "-" + std::to_string(windows[k].back()),
                      format_number(mean_delta[s][k].item<double>()),
                      format_number(mean_relative[s][k].item<double>())});
    }
  }
  report.table({"edge set", "layers", "delta", "relative change (%)"}, rows);
  report.write();
  return result;
}

}  // namespace clearsight::interp
