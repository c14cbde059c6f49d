#include "clearsight/interp/attention.h"

#include <algorithm>

#include "clearsight/core/error.h"
#include "clearsight/core/strings.h"
#include "clearsight/interp/report.h"

namespace clearsight::interp {

namespace {

std::string pattern_hook(std::int64_t layer) {
  return "blocks." + std::to_string(layer) + ".attn.hook_pattern";
}

// The positions of a group below limit (prompt positions), as an int64 tensor.
torch::Tensor positions_below(const std::map<std::string, std::vector<std::int64_t>>& groups,
                              const std::string& name, std::int64_t limit) {
  std::vector<std::int64_t> kept;
  const auto it = groups.find(name);
  if (it != groups.end()) {
    for (const auto p : it->second) {
      if (p >= 0 && p < limit) kept.push_back(p);
    }
  }
  return torch::tensor(kept, torch::kInt64);
}

void check_maps(const torch::Tensor& maps) {
  CS_CHECK_AS(ShapeError, maps.defined() && maps.dim() == 4 && maps.size(2) == maps.size(3),
              "attention maps must be [layers, heads, P, P], got ",
              maps.defined() ? maps.sizes() : torch::IntArrayRef{});
}

}  // namespace

std::vector<torch::Tensor> attention_maps(mm::MultimodalModel& model, const Examples& examples) {
  torch::NoGradGuard no_grad;
  model.eval();
  const auto layers = model.config().num_hidden_layers;
  const auto is_pattern = nn::ends_with(".attn.hook_pattern");
  auto filter = [&is_pattern](const std::string& name) {
    return name.rfind("blocks.", 0) == 0 && is_pattern(name);
  };
  auto [logits, cache] =
      model.run_with_cache([&] { return forward_logits(model, examples); }, filter);
  std::vector<torch::Tensor> patterns;
  patterns.reserve(layers);
  for (std::int64_t l = 0; l < layers; ++l) {
    patterns.push_back(cache[pattern_hook(l)].to(torch::kCPU, torch::kFloat64));
  }
  std::vector<torch::Tensor> out;
  out.reserve(examples.size());
  for (std::int64_t i = 0; i < examples.size(); ++i) {
    const auto p = examples.prompt_lengths[i];
    std::vector<torch::Tensor> per_layer;
    per_layer.reserve(layers);
    for (const auto& pattern : patterns) {
      per_layer.push_back(pattern[i].narrow(1, 0, p).narrow(2, 0, p));
    }
    out.push_back(torch::stack(per_layer).contiguous());
  }
  return out;
}

std::vector<std::string> default_attention_groups(const Examples& examples) {
  auto groups = input_modalities(examples);
  groups.emplace_back("question");
  groups.emplace_back("last");
  return groups;
}

torch::Tensor modality_mass(const torch::Tensor& maps,
                            const std::map<std::string, std::vector<std::int64_t>>& groups,
                            const std::vector<std::string>& names) {
  check_maps(maps);
  for (const auto& name : names) check_group(name);
  const auto layers = maps.size(0);
  const auto p = maps.size(2);
  const auto g = static_cast<std::int64_t>(names.size());
  const auto mean_heads = maps.to(torch::kFloat64).mean(1);  // [layers, P, P]
  auto mass = torch::zeros({layers, g, g}, torch::kFloat64);
  std::vector<torch::Tensor> index;
  index.reserve(g);
  for (const auto& name : names) index.push_back(positions_below(groups, name, p));
  for (std::int64_t a = 0; a < g; ++a) {
    if (index[a].numel() == 0) continue;
    const auto rows = mean_heads.index_select(1, index[a]);  // [layers, nq, P]
    for (std::int64_t b = 0; b < g; ++b) {
      if (index[b].numel() == 0) continue;
      mass.select(1, a).select(1, b).copy_(rows.index_select(2, index[b]).sum(2).mean(1));
    }
  }
  return mass;
}

ModalityMass modality_mass(const std::vector<torch::Tensor>& maps, const Examples& examples,
                           const std::vector<std::string>& groups) {
  CS_CHECK_AS(ConfigError, static_cast<std::int64_t>(maps.size()) == examples.size(),
              "modality mass: ", maps.size(), " attention maps for ", examples.size(), " samples");
  CS_CHECK_AS(ConfigError, !maps.empty(), "modality mass: no samples");
  ModalityMass out;
  out.groups = groups;
  const auto g = static_cast<std::int64_t>(groups.size());
  std::vector<torch::Tensor> per_sample;
  out.present = torch::zeros({examples.size(), g}, torch::kBool);
  for (std::int64_t i = 0; i < examples.size(); ++i) {
    per_sample.push_back(modality_mass(maps[i], examples.groups[i], groups));
    for (std::int64_t a = 0; a < g; ++a) {
      out.present[i][a] =
          positions_below(examples.groups[i], groups[a], maps[i].size(2)).numel() > 0;
    }
  }
  out.per_sample = torch::stack(per_sample);            // [N, layers, G, G]
  const auto weight = out.present.to(torch::kFloat64);  // [N, G]
  const auto counts = weight.sum(0).clamp_min(1.0);     // [G]
  out.mean = (out.per_sample * weight.view({-1, 1, g, 1})).sum(0) / counts.view({1, g, 1});
  return out;
}

torch::Tensor attention_rollout(const torch::Tensor& maps) {
  check_maps(maps);
  const auto p = maps.size(2);
  const auto mean_heads = maps.to(torch::kFloat64).mean(1);  // [layers, P, P]
  const auto eye = torch::eye(p, torch::kFloat64);
  auto rollout = eye.clone();
  for (std::int64_t l = 0; l < maps.size(0); ++l) {
    auto a_hat = 0.5 * (mean_heads[l] + eye);
    a_hat = a_hat / a_hat.sum(-1, /*keepdim=*/true).clamp_min(1e-300);
    rollout = torch::matmul(a_hat, rollout);  // later layers act on the left
  }
  return rollout;
}

std::map<std::string, double> rollout_by_group(
    const torch::Tensor& row, const std::map<std::string, std::vector<std::int64_t>>& groups,
    const std::vector<std::string>& names) {
  CS_CHECK_AS(ShapeError, row.defined() && row.dim() == 1, "a rollout row must be 1-D");
  std::map<std::string, double> out;
  for (const auto& name : names) {
    check_group(name);
    const auto index = positions_below(groups, name, row.size(0));
    out[name] = index.numel() == 0
                    ? 0.0
                    : row.to(torch::kFloat64).index_select(0, index).sum().item<double>();
  }
  return out;
}

nlohmann::json run_attention(const ModelRef& ref, const SampleSelection& selection,
                             const AttentionMapOptions& options,
                             const std::filesystem::path& out_dir) {
  CS_CHECK_AS(ConfigError, selection.batch_size >= 1, "batch_size must be >= 1, got ",
              selection.batch_size);
  CS_CHECK_AS(ConfigError, options.map_samples >= 0, "map_samples must be >= 0, got ",
              options.map_samples);
  for (const auto& g : options.groups) check_group(g);
  const auto samples = select_samples(ref, selection);
  const auto n = static_cast<std::int64_t>(samples.size());
  const auto layers = ref.model.config().num_hidden_layers;
  const auto heads = ref.model.config().num_attention_heads;

  std::vector<std::string> groups = options.groups;
  std::vector<torch::Tensor> mass_per_sample, present_per_sample, rollout_rows;
  std::vector<std::vector<std::string>> prompt_tokens;
  std::vector<std::map<std::string, double>> by_group;
  std::map<std::string, torch::Tensor> tensors;
  std::vector<torch::Tensor> kept_maps;  // head maps of the first map_samples samples
  std::vector<torch::Tensor> kept_rollouts;
  for (std::int64_t start = 0; start < n; start += selection.batch_size) {
    const auto end = std::min(n, start + selection.batch_size);
    const std::vector<mm::Sample> chunk(samples.begin() + start, samples.begin() + end);
    const auto examples = prepare_examples(chunk, ref.tokenizer, ref.model);
    if (groups.empty()) groups = default_attention_groups(examples);
    const auto maps = attention_maps(ref.model, examples);
    const auto mass = modality_mass(maps, examples, groups);
    for (std::int64_t i = 0; i < examples.size(); ++i) {
      const auto global = start + i;
      mass_per_sample.push_back(mass.per_sample[i]);
      present_per_sample.push_back(mass.present[i]);
      const auto p = examples.prompt_lengths[i];
      prompt_tokens.emplace_back(examples.tokens[i].begin(), examples.tokens[i].begin() + p);
      if (options.rollout) {
        const auto rollout = attention_rollout(maps[i]);
        const auto row = rollout[examples.last(i)];
        rollout_rows.push_back(row);
        by_group.push_back(rollout_by_group(row, examples.groups[i], groups));
        tensors["rollout_last." + std::to_string(samples[global].index)] = row;
        if (global < options.map_samples) kept_rollouts.push_back(rollout);
      }
      if (global < options.map_samples) {
        kept_maps.push_back(maps[i]);
        tensors["maps." + std::to_string(samples[global].index)] = maps[i].to(torch::kFloat32);
      }
    }
  }
  const auto g = static_cast<std::int64_t>(groups.size());
  const auto per_sample = torch::stack(mass_per_sample);  // [N, layers, G, G]
  const auto present = torch::stack(present_per_sample);  // [N, G]
  const auto weight = present.to(torch::kFloat64);
  const auto counts = weight.sum(0);
  const auto mean =
      (per_sample * weight.view({-1, 1, g, 1})).sum(0) / counts.clamp_min(1.0).view({1, g, 1});
  tensors["modality_mass"] = per_sample;
  tensors["modality_mass_mean"] = mean;
  tensors["present"] = present.to(torch::kUInt8);

  nlohmann::json result;
  result["method"] = "attention";
  result["model"] = ref.name;
  result["task"] = selection.task;
  result["split"] = selection.split;
  std::vector<std::int64_t> indices;
  for (const auto& s : samples) indices.push_back(s.index);
  result["samples"] = indices;
  result["layers"] = layers;
  result["heads"] = heads;
  result["groups"] = groups;
  result["modality_mass"] = {{"mean", tensor_to_json(mean)},
                             {"present_count", tensor_to_json(counts)},
                             {"per_sample", tensor_to_json(per_sample)}};
  std::map<std::string, double> mean_by_group;
  if (options.rollout) {
    nlohmann::json rollout_json;
    nlohmann::json rows = nlohmann::json::array();
    for (std::int64_t i = 0; i < n; ++i) {
      for (const auto& [name, value] : by_group[i]) mean_by_group[name] += value / n;
      rows.push_back({{"index", samples[i].index},
                      {"tokens", prompt_tokens[i]},
                      {"last_row", tensor_to_json(rollout_rows[i])},
                      {"by_group", by_group[i]}});
    }
    rollout_json["mean_by_group"] = mean_by_group;
    rollout_json["per_sample"] = rows;
    result["rollout"] = rollout_json;
  }
  result["files"] = {
      {"tensors", "attention.safetensors"}, {"report", "report.html"}, {"markdown", "report.md"}};

  write_tensors(out_dir, "attention.safetensors", tensors, "attention");
  write_result(out_dir, result);

  Report report(out_dir, "Attention: " + selection.task + " on " + ref.name);
  report.paragraph(
      "Post-softmax attention patterns (blocks.{l}.attn.hook_pattern) over the prompt "
      "positions of " +
      std::to_string(n) + " " + selection.split + " samples; heads averaged unless stated.");
  report.section("Modality mass");
  report.paragraph(
      "Row a, column b: over the queries of group a, the mean summed attention to "
      "the keys of group b (groups may overlap, so rows need not sum to 1).");
  for (std::int64_t l = 0; l < layers; ++l) {
    report.heatmap(mean[l].to(torch::kFloat32), groups, groups,
                   "modality mass, layer " + std::to_string(l),
                   "mass_layer" + std::to_string(l) + ".svg",
                   "Layer " + std::to_string(l) + ": query group (rows) to key group (columns).");
  }
  {
    std::vector<std::string> header = {"layer", "query group"};
    for (const auto& name : groups) header.push_back(name);
    std::vector<std::vector<std::string>> rows;
    for (std::int64_t l = 0; l < layers; ++l) {
      for (std::int64_t a = 0; a < g; ++a) {
        std::vector<std::string> row = {std::to_string(l), groups[a]};
        for (std::int64_t b = 0; b < g; ++b)
          row.push_back(format_number(mean[l][a][b].item<double>()));
        rows.push_back(row);
      }
    }
    report.table(header, rows);
  }
  if (!kept_maps.empty()) {
    report.section("Attention maps");
    for (std::size_t s = 0; s < kept_maps.size(); ++s) {
      const auto index = std::to_string(samples[s].index);
      const auto& labels = prompt_tokens[s];
      report.paragraph("Sample " + index + ": \"" + samples[s].prompt + "\" (answer \"" +
                       samples[s].answer + "\").");
      for (std::int64_t l = 0; l < layers; ++l) {
        report.heatmap(kept_maps[s][l].mean(0).to(torch::kFloat32), labels, labels,
                       "sample " + index + ", layer " + std::to_string(l),
                       "map_s" + index + "_layer" + std::to_string(l) + ".svg",
                       "Layer " + std::to_string(l) + ", heads averaged: queries (rows) to keys.");
        if (options.report_heads && s == 0) {
          for (std::int64_t h = 0; h < heads; ++h) {
            report.heatmap(kept_maps[s][l][h].to(torch::kFloat32), labels, labels,
                           "layer " + std::to_string(l) + " head " + std::to_string(h),
                           "map_s" + index + "_layer" + std::to_string(l) + "_head" +
                               std::to_string(h) + ".svg",
                           "Layer " + std::to_string(l) + ", head " + std::to_string(h) + ".");
          }
        }
      }
    }
  }
  if (options.rollout) {
    report.section("Attention rollout");
    report.paragraph(
        "A_hat = 0.5 (A + I) per layer (heads averaged, rows renormalised), multiplied "
        "over layers; the last prompt token's row says where its final state comes "
        "from.");
    std::vector<std::vector<std::string>> rows;
    for (const auto& name : groups) rows.push_back({name, format_number(mean_by_group[name])});
    report.table({"group", "mean rollout mass of the last token"}, rows);
    for (std::size_t s = 0; s < kept_rollouts.size(); ++s) {
      const auto row = rollout_rows[s];
      std::vector<double> scores(row.data_ptr<double>(), row.data_ptr<double>() + row.numel());
      report.tokens(prompt_tokens[s], scores,
                    "Sample " + std::to_string(samples[s].index) + ": last-token rollout.");
    }
  }
  report.write();
  return result;
}

}  // namespace clearsight::interp
