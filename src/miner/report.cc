#include "clearsight/miner/report.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <string>
#include <vector>

#include "clearsight/core/atomic_file.h"
#include "clearsight/core/error.h"
#include "clearsight/core/plot.h"
#include "clearsight/core/report.h"
#include "clearsight/miner/neurons.h"
#include "clearsight/miner/selection_io.h"

namespace clearsight::miner {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

std::string fmt(double v, int digits = 3) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.*f", digits, v);
  return buffer;
}

const json& need(const json& j, const char* key, const fs::path& file) {
  CS_CHECK_AS(FormatError, j.contains(key), "'", file.string(), "' lacks '", key,
              "' (written by an older or interrupted miner run?)");
  return j.at(key);
}

std::string fmt_or_dash(const json& v, int digits = 3) {
  return v.is_number() ? fmt(v.get<double>(), digits) : std::string("-");
}

// The modalities in a stable order, so that a modality keeps its colour across figures.
std::size_t modality_slot(const std::string& name) {
  for (std::size_t i = 0; i < kModalities.size(); ++i) {
    if (name == kModalities[i]) return i;
  }
  return kModalities.size();
}

// One series per key of an object of per-layer arrays, coloured by modality; dashed when asked.
std::vector<PlotSeries> layer_series(const json& per_key, const std::string& suffix, bool dashed) {
  std::vector<PlotSeries> out;
  for (const auto& [name, values] : per_key.items()) {
    PlotSeries s;
    s.name = name + suffix;
    s.dashed = dashed;
    s.color = series_color(modality_slot(name));
    for (std::size_t l = 0; l < values.size(); ++l) {
      s.points.emplace_back(static_cast<double>(l), values[l].get<double>());
    }
    out.push_back(std::move(s));
  }
  return out;
}

LinePlot layer_plot(const std::string& title, const std::string& ylabel,
                    std::vector<PlotSeries> series) {
  LinePlot plot;
  plot.title = title;
  plot.xlabel = "layer";
  plot.ylabel = ylabel;
  plot.series = std::move(series);
  return plot;
}

// The sections written from `clearsight explain findings` (miner run --findings) when present.
void append_findings(const fs::path& run_dir, Report& report) {
  const fs::path file = run_dir / "findings" / "result.json";
  if (!fs::exists(file)) return;
  json f;
  try {
    f = json::parse(read_file(file));
  } catch (const json::parse_error& e) {
    CS_THROW(FormatError, "'", file.string(), "' is not valid JSON: ", e.what());
  }
  report.section("MINER's open findings, measured");
  report.paragraph("The full findings report: [findings/report.html](../findings/report.html).");
  if (f.contains("convergence")) {
    const auto& c = f["convergence"];
    report.paragraph(
        "**Where modalities converge.** Criterion: the first layer where kNN modality purity (or "
        "the modality probe's held-out accuracy) falls below " +
        fmt(need(c, "threshold", file).get<double>(), 2) + ": purity **" +
        need(c, "knn_purity_layer", file).get<std::string>() + "**, probe **" +
        need(c, "probe_accuracy_layer", file).get<std::string>() + "**.");
    std::vector<std::vector<std::string>> rows;
    const auto& layers = need(c, "layers", file);
    for (std::size_t k = 0; k < layers.size(); ++k) {
      rows.push_back({layers[k].get<std::string>(), fmt_or_dash(c["knn_purity"][k]),
                      fmt_or_dash(c["chance_purity"][k]),
                      k < c["probe_accuracy"].size() ? fmt_or_dash(c["probe_accuracy"][k]) : "-",
                      k < c["probe_control_accuracy"].size()
                          ? fmt_or_dash(c["probe_control_accuracy"][k])
                          : "-"});
    }
    report.table({"layer", "kNN purity", "chance", "probe accuracy", "control"}, rows);
  }
  if (f.contains("semantic_probing")) {
    const auto& p = f["semantic_probing"];
    report.paragraph("**Semantic probing** (speech, logit lens at audio positions).");
    std::vector<std::vector<std::string>> rows;
    for (std::size_t k = 0; k < p["points"].size(); ++k) {
      rows.push_back({p["points"][k].get<std::string>(), fmt_or_dash(p["spoken_probability"][k]),
                      fmt_or_dash(p["control_probability"][k]),
                      fmt_or_dash(p["spoken_hit_rate"][k]), fmt_or_dash(p["control_hit_rate"][k]),
                      fmt_or_dash(p["audio_text_cosine"][k])});
    }
    report.table(
        {"point", "p(spoken)", "p(control)", "hit@k spoken", "hit@k control", "cos(audio, text)"},
        rows);
  }
  if (f.contains("telomeres")) {
    report.paragraph("**Semantic telomeres** (last lens point).");
    std::vector<std::vector<std::string>> rows;
    for (const auto& [token, v] : f["telomeres"]["tokens"].items()) {
      rows.push_back({"`" + token + "`", fmt_or_dash(v["text_cosine"].back()),
                      fmt_or_dash(v["span_cosine"].back())});
    }
    report.table({"token", "cos(token, text)", "cos(token, span)"}, rows);
  }
  if (f.contains("flow")) {
    const auto& fl = f["flow"];
    report.paragraph(
        "**Last-token flow by knockout, before and after deactivation.** Sum over layers of the "
        "change of p(answer) when one layer's edges are knocked out (" +
        fl["task"].get<std::string>() + ", " + std::to_string(fl["samples"].get<std::int64_t>()) +
        " test samples).");
    std::vector<std::string> header = {"condition", "neurons", "p(answer)"};
    for (const auto& e : fl["edge_sets"]) header.push_back(e.get<std::string>());
    std::vector<std::vector<std::string>> rows;
    for (const auto& c : fl["conditions"]) {
      std::vector<std::string> row = {c["name"].get<std::string>(),
                                      std::to_string(c["neurons"].get<std::int64_t>()),
                                      fmt_or_dash(c["clean_probability"])};
      for (const auto& e : fl["edge_sets"]) {
        double sum = 0;
        for (const auto& d : c["delta"][e.get<std::string>()]) sum += d.get<double>();
        row.push_back(fmt(sum));
      }
      rows.push_back(row);
    }
    report.table(header, rows);
  }
}

// The selection's facts and, with the run's score files, a layer x neuron importance heatmap per
// modality (the selected neurons are the largest cells of their modality's map).
void append_neurons(const fs::path& run_dir, const std::string& pct, Report& report) {
  const fs::path file = run_dir / "selection.safetensors";
  if (!fs::exists(file)) return;
  const auto selection = load_selection(file);
  const auto fused = run_fused_scores(run_dir, selection);
  const auto listing = list_neurons(selection, fused);
  report.section("Selected neurons");
  std::string per;
  for (const auto& [k, v] : listing["per_modality"].items()) {
    per += (per.empty() ? "" : ", ") + k + " " + std::to_string(v.get<std::int64_t>());
  }
  report.paragraph(
      pct + " of the " + std::to_string(listing["layers"].get<std::int64_t>()) + " x " +
      std::to_string(listing["neurons_per_layer"].get<std::int64_t>()) + " MLP neurons is " +
      std::to_string(listing["slots"].get<std::int64_t>()) + " selection slots; they became **" +
      std::to_string(listing["distinct"].get<std::int64_t>()) + " distinct neurons**, " +
      std::to_string(listing["shared"].get<std::int64_t>()) +
      " of them chosen by two or more modalities (per modality: " + per +
      "). `clearsight miner neurons " + run_dir.string() + "` lists them with their scores.");
  if (!fused.defined()) return;
  for (const auto& modality : selection.modalities) {
    if (modality == "random") continue;
    const auto map = fused[modality_index(modality)].to(torch::kFloat32);
    std::vector<std::string> rows;
    for (std::int64_t l = 0; l < map.size(0); ++l) rows.push_back("L" + std::to_string(l));
    report.heatmap(map, rows, {}, "Importance of each neuron for " + modality + " (fused score)",
                   "importance-" + modality + ".svg",
                   "Fused importance score of each LM MLP neuron (x: neuron index) for " +
                       modality + " tokens; the selection takes the largest.");
  }
}

}  // namespace

// write_report without the translation of JSON type errors.
static fs::path write_report_unchecked(const fs::path& run_dir) {
  const fs::path summary_path = run_dir / "summary.json";
  json s;
  try {
    s = json::parse(read_file(summary_path));
  } catch (const json::parse_error& e) {
    CS_THROW(FormatError, "'", summary_path.string(), "' is not valid JSON: ", e.what());
  }
  const auto field = [&](const char* key) -> const json& { return need(s, key, summary_path); };
  // Every field the page needs is read before anything is written.
  const auto& benchmarks = field("benchmarks");
  const double ratio = field("ratio").get<double>();
  const std::string model = field("model").get<std::string>();
  const std::string strategy = field("strategy").get<std::string>();
  const auto neurons_selected = field("neurons_selected").get<std::int64_t>();
  const auto score_samples = field("score_samples").get<std::int64_t>();
  const auto eval_samples = field("eval_samples").get<std::int64_t>();
  const auto random_seeds = field("random_seeds").get<std::int64_t>();
  const double drop_miner = field("mean_relative_drop_miner").get<double>();
  const double drop_random = field("mean_relative_drop_random").get<double>();
  const std::string pct = fmt(100 * ratio, 1) + "%";

  const fs::path dir = run_dir / "report";
  Report report(dir, "MINER report: " + model);
  report.paragraph("Strategy " + strategy + ", " + pct + " of the LM's MLP neurons (" +
                   std::to_string(neurons_selected) + " neurons), scores from " +
                   std::to_string(score_samples) + " validation samples per task, evaluation on " +
                   std::to_string(eval_samples) + " test samples per task, random control over " +
                   std::to_string(random_seeds) + " seeds (mean +- sample standard deviation).");

  report.section("Deactivation (paper-style table)");
  std::vector<std::vector<std::string>> rows;
  BarPlot bars;
  bars.title = "Task scores with " + pct + " of the neurons deactivated";
  bars.ylabel = "score";
  bars.groups = {"original", "MINER " + pct, "random " + pct + " (+- sd)"};
  bars.colors = {"#666666", "#d95f02", "#7570b3"};
  bars.values.assign(3, {});
  bars.errors.assign(3, {});
  double sum_o = 0, sum_m = 0, sum_r = 0;
  for (const auto& [name, b] : benchmarks.items()) {
    const double o = need(b, "original", summary_path).get<double>();
    const double m = need(b, "miner", summary_path).get<double>();
    const double r = need(b, "random_mean", summary_path).get<double>();
    const double sd = need(b, "random_sd", summary_path).get<double>();
    rows.push_back({name, fmt(o), fmt(m), fmt(r) + " +- " + fmt(sd)});
    bars.categories.push_back(name);
    bars.values[0].push_back(o);
    bars.values[1].push_back(m);
    bars.values[2].push_back(r);
    bars.errors[0].push_back(0.0);
    bars.errors[1].push_back(0.0);
    bars.errors[2].push_back(sd);
    sum_o += o;
    sum_m += m;
    sum_r += r;
  }
  const double n = std::max<double>(1, benchmarks.size());
  rows.push_back({"**mean**", fmt(sum_o / n), fmt(sum_m / n), fmt(sum_r / n)});
  report.table({"benchmark", "original", "MINER " + pct, "random " + pct}, rows);
  report.paragraph("Mean relative drop: MINER " + fmt(drop_miner) + ", random " + fmt(drop_random) +
                   ".");
  if (!bars.categories.empty()) {
    report.bar_plot(bars, "deactivation.svg",
                    "Each benchmark's score: original, MINER's neurons off, and random neurons of "
                    "the same number off (error bars: sample standard deviation over " +
                        std::to_string(random_seeds) + " seeds).");
  }

  if (s.contains("specificity_relative_drop")) {
    const auto& spec = s["specificity_relative_drop"];
    report.section("Specificity matrix");
    report.paragraph(
        "Relative drop of each benchmark (columns) when only one modality's neurons (rows) are "
        "deactivated; a modality-specific set should hurt its own modality's benchmarks most.");
    std::vector<std::string> columns;
    for (const auto& [name, b] : benchmarks.items()) columns.push_back(name);
    std::vector<std::string> header = {"deactivated"};
    header.insert(header.end(), columns.begin(), columns.end());
    std::vector<std::vector<std::string>> spec_rows;
    std::vector<std::string> modalities;
    std::vector<float> values;
    for (const auto& [modality, row] : spec.items()) {
      std::vector<std::string> cells = {modality};
      modalities.push_back(modality);
      for (const auto& c : columns) {
        const double v = need(row, c.c_str(), summary_path).get<double>();
        cells.push_back(fmt(v));
        values.push_back(static_cast<float>(v));
      }
      spec_rows.push_back(cells);
    }
    report.table(header, spec_rows);
    if (!modalities.empty() && !columns.empty()) {
      const auto matrix = torch::tensor(values).view({static_cast<std::int64_t>(modalities.size()),
                                                      static_cast<std::int64_t>(columns.size())});
      report.heatmap(matrix, modalities, columns, "Specificity: relative drop", "specificity.svg",
                     "Relative drop (red: the benchmark got worse) per deactivated modality.");
    }
  }

  append_neurons(run_dir, pct, report);

  if (s.contains("ablation")) {
    report.section("Strategy x metric-weight ablation");
    report.paragraph("Mean relative drop of the benchmarks with " + pct +
                     " of neurons deactivated.");
    const auto& ab = s["ablation"];
    std::vector<std::string> weight_names;
    for (const auto& [w, v] : ab.begin().value().items()) weight_names.push_back(w);
    std::vector<std::string> header = {"strategy"};
    header.insert(header.end(), weight_names.begin(), weight_names.end());
    std::vector<std::vector<std::string>> ab_rows;
    for (const auto& [name, row] : ab.items()) {
      std::vector<std::string> cells = {name};
      for (const auto& w : weight_names) {
        cells.push_back(fmt(need(row, w.c_str(), summary_path).get<double>()));
      }
      ab_rows.push_back(cells);
    }
    report.table(header, ab_rows);
  }

  report.section("Where the modalities live, and what the last token reads");
  if (s.contains("convergence")) {
    report.line_plot(layer_plot("Share of each modality's neurons per layer",
                                "fraction of the modality's neurons",
                                layer_series(s["convergence"]["share"], "", false)),
                     "layers.svg", "Where each modality's selected neurons sit.");
    report.line_plot(
        layer_plot(
            "Shared neurons per layer", "neurons",
            layer_series(json{{"shared by 2+ modalities", s["convergence"]["shared_per_layer"]}},
                         "", false)),
        "shared.svg", "Neurons chosen by two or more modalities, per layer.");
  }
  if (s.contains("flow_before")) {
    report.line_plot(layer_plot("Linear CKA of modality-mean hidden states", "CKA with text",
                                layer_series(s["flow_before"]["cka"], "", false)),
                     "cka.svg", "Similarity of each modality's mean hidden state to text's.");
    auto series = layer_series(s["flow_before"]["last_token_flow"], " (before)", false);
    if (s.contains("flow_after_miner")) {
      const auto after =
          layer_series(s["flow_after_miner"]["last_token_flow"], " (MINER off)", true);
      series.insert(series.end(), after.begin(), after.end());
    }
    report.line_plot(layer_plot("Attention from the last prompt token", "attention mass", series),
                     "flow.svg",
                     "Attention mass the last prompt token gives each modality: solid before, "
                     "dashed with MINER's neurons off (one colour per modality).");
  }
  append_findings(run_dir, report);
  report.paragraph(
      "Produced by `clearsight miner report " + run_dir.string() + "` from `summary.json`" +
      (fs::exists(run_dir / "selection.safetensors") ? ", `selection.safetensors`" : "") +
      (fs::exists(run_dir / "findings" / "result.json") ? " and `findings/result.json`" : "") +
      ".");
  report.write();
  return dir / "report.md";
}

fs::path write_report(const fs::path& run_dir) {
  try {
    return write_report_unchecked(run_dir);
  } catch (const json::type_error& e) {
    CS_THROW(FormatError, "'", (run_dir / "summary.json").string(),
             "' has a field of the wrong type: ", e.what());
  }
}

}  // namespace clearsight::miner
