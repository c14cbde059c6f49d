#include "clearsight/miner/report.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <sstream>

#include "clearsight/core/atomic_file.h"
#include "clearsight/core/error.h"
#include "clearsight/core/plot.h"

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

// One series per key of an object of per-layer arrays.
LinePlot layer_plot(const json& per_key, const std::string& title, const std::string& ylabel,
                    const std::string& suffix = "") {
  LinePlot plot;
  plot.title = title;
  plot.xlabel = "layer";
  plot.ylabel = ylabel;
  for (const auto& [name, values] : per_key.items()) {
    PlotSeries s;
    s.name = name + suffix;
    for (std::size_t l = 0; l < values.size(); ++l) {
      s.points.emplace_back(static_cast<double>(l), values[l].get<double>());
    }
    plot.series.push_back(std::move(s));
  }
  return plot;
}

std::string fmt_or_dash(const json& v, int digits = 3) {
  return v.is_number() ? fmt(v.get<double>(), digits) : std::string("-");
}

// The sections written from `clearsight explain findings` (miner run --findings) when present.
void append_findings(const fs::path& run_dir, const fs::path& dir, std::ostringstream& md) {
  const fs::path file = run_dir / "findings" / "result.json";
  if (!fs::exists(file)) return;
  json f;
  try {
    f = json::parse(read_file(file));
  } catch (const json::parse_error& e) {
    CS_THROW(FormatError, "'", file.string(), "' is not valid JSON: ", e.what());
  }
  md << "## MINER's open findings, measured ([findings/report.html](../findings/report.html))\n\n";
  if (f.contains("convergence")) {
    const auto& c = f["convergence"];
    md << "### Where modalities converge\n\nCriterion: the first layer where kNN modality purity "
          "(or the modality probe's held-out accuracy) falls below "
       << fmt(need(c, "threshold", file).get<double>(), 2) << ": purity **"
       << need(c, "knn_purity_layer", file).get<std::string>() << "**, probe **"
       << need(c, "probe_accuracy_layer", file).get<std::string>() << "**.\n\n"
       << "| layer | kNN purity | chance | probe accuracy | control |\n|---|---|---|---|---|\n";
    const auto& layers = need(c, "layers", file);
    for (std::size_t k = 0; k < layers.size(); ++k) {
      md << "| " << layers[k].get<std::string>() << " | " << fmt_or_dash(c["knn_purity"][k])
         << " | " << fmt_or_dash(c["chance_purity"][k]) << " | "
         << (k < c["probe_accuracy"].size() ? fmt_or_dash(c["probe_accuracy"][k]) : "-") << " | "
         << (k < c["probe_control_accuracy"].size() ? fmt_or_dash(c["probe_control_accuracy"][k])
                                                    : "-")
         << " |\n";
    }
    md << "\n";
  }
  if (f.contains("semantic_probing")) {
    const auto& p = f["semantic_probing"];
    md << "### Semantic probing (speech, logit lens at audio positions)\n\n"
       << "| point | p(spoken) | p(control) | hit@k spoken | hit@k control | cos(audio, text) |\n"
       << "|---|---|---|---|---|---|\n";
    for (std::size_t k = 0; k < p["points"].size(); ++k) {
      md << "| " << p["points"][k].get<std::string>() << " | "
         << fmt_or_dash(p["spoken_probability"][k]) << " | "
         << fmt_or_dash(p["control_probability"][k]) << " | "
         << fmt_or_dash(p["spoken_hit_rate"][k]) << " | " << fmt_or_dash(p["control_hit_rate"][k])
         << " | " << fmt_or_dash(p["audio_text_cosine"][k]) << " |\n";
    }
    md << "\n";
  }
  if (f.contains("telomeres")) {
    const auto& t = f["telomeres"];
    md << "### Semantic telomeres (last lens point)\n\n"
       << "| token | cos(token, text) | cos(token, span) |\n|---|---|---|\n";
    for (const auto& [token, v] : t["tokens"].items()) {
      md << "| `" << token << "` | " << fmt_or_dash(v["text_cosine"].back()) << " | "
         << fmt_or_dash(v["span_cosine"].back()) << " |\n";
    }
    md << "\n";
  }
  if (f.contains("flow")) {
    const auto& fl = f["flow"];
    md << "### Last-token flow by knockout, before and after deactivation\n\n"
       << "Sum over layers of the change of p(answer) when one layer's edges are knocked out ("
       << fl["task"].get<std::string>() << ", " << fl["samples"].get<std::int64_t>()
       << " test samples).\n\n| condition | neurons | p(answer) |";
    for (const auto& e : fl["edge_sets"]) md << " " << e.get<std::string>() << " |";
    md << "\n|---|---|---|";
    for (std::size_t k = 0; k < fl["edge_sets"].size(); ++k) md << "---|";
    md << "\n";
    for (const auto& c : fl["conditions"]) {
      md << "| " << c["name"].get<std::string>() << " | " << c["neurons"].get<std::int64_t>()
         << " | " << fmt_or_dash(c["clean_probability"]) << " |";
      for (const auto& e : fl["edge_sets"]) {
        double sum = 0;
        for (const auto& d : c["delta"][e.get<std::string>()]) sum += d.get<double>();
        md << " " << fmt(sum) << " |";
      }
      md << "\n";
    }
    md << "\n";
  }
  (void)dir;
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
  const fs::path dir = run_dir / "report";
  fs::create_directories(dir);
  std::ostringstream md;
  const auto& benchmarks = need(s, "benchmarks", summary_path);
  const double ratio = need(s, "ratio", summary_path).get<double>();
  const std::string pct = fmt(100 * ratio, 1) + "%";
  const auto field = [&](const char* key) { return need(s, key, summary_path); };
  md << "# MINER report: " << field("model").get<std::string>() << "\n\n"
     << "Strategy " << field("strategy").get<std::string>() << ", " << pct << " of the LM's MLP "
     << "neurons (" << field("neurons_selected").get<std::int64_t>() << " neurons), scores from "
     << field("score_samples").get<std::int64_t>() << " validation samples per task, evaluation on "
     << field("eval_samples").get<std::int64_t>() << " test samples per task, random control over "
     << field("random_seeds").get<std::int64_t>()
     << " seeds (mean +- sample standard deviation).\n\n";

  md << "## Deactivation (paper-style table)\n\n| benchmark | original | MINER " << pct
     << " | random " << pct << " |\n|---|---|---|---|\n";
  double sum_o = 0, sum_m = 0, sum_r = 0;
  for (const auto& [name, b] : benchmarks.items()) {
    md << "| " << name << " | " << fmt(b["original"]) << " | " << fmt(b["miner"]) << " | "
       << fmt(b["random_mean"]) << " +- " << fmt(b["random_sd"]) << " |\n";
    sum_o += b["original"].get<double>();
    sum_m += b["miner"].get<double>();
    sum_r += b["random_mean"].get<double>();
  }
  const double n = std::max<double>(1, benchmarks.size());
  md << "| **mean** | " << fmt(sum_o / n) << " | " << fmt(sum_m / n) << " | " << fmt(sum_r / n)
     << " |\n\nMean relative drop: MINER " << fmt(field("mean_relative_drop_miner").get<double>())
     << ", random " << fmt(field("mean_relative_drop_random").get<double>()) << ".\n\n";

  if (s.contains("specificity_relative_drop")) {
    const auto& spec = s["specificity_relative_drop"];
    md << "## Specificity matrix\n\nRelative drop of each benchmark (columns) when only one "
          "modality's neurons (rows) are deactivated; a modality-specific set should hurt its own "
          "modality's benchmarks most.\n\n| deactivated |";
    std::vector<std::string> columns;
    for (const auto& [name, b] : benchmarks.items()) {
      columns.push_back(name);
      md << " " << name << " |";
    }
    md << "\n|---|";
    for (std::size_t i = 0; i < columns.size(); ++i) md << "---|";
    md << "\n";
    for (const auto& [modality, row] : spec.items()) {
      md << "| " << modality << " |";
      for (const auto& c : columns)
        md << " " << fmt(need(row, c.c_str(), summary_path).get<double>()) << " |";
      md << "\n";
    }
    md << "\n";
  }

  if (s.contains("ablation")) {
    md << "## Strategy x metric-weight ablation\n\nMean relative drop of the benchmarks with "
       << pct << " of neurons deactivated.\n\n| strategy |";
    const auto& ab = s["ablation"];
    std::vector<std::string> weight_names;
    for (const auto& [w, v] : ab.begin().value().items()) weight_names.push_back(w);
    for (const auto& w : weight_names) md << " " << w << " |";
    md << "\n|---|";
    for (std::size_t i = 0; i < weight_names.size(); ++i) md << "---|";
    md << "\n";
    for (const auto& [strategy, row] : ab.items()) {
      md << "| " << strategy << " |";
      for (const auto& w : weight_names)
        md << " " << fmt(need(row, w.c_str(), summary_path).get<double>()) << " |";
      md << "\n";
    }
    md << "\n";
  }

  md << "## Figures\n\n";
  std::vector<std::pair<std::string, LinePlot>> figures;
  if (s.contains("convergence")) {
    figures.emplace_back("layers.svg", layer_plot(s["convergence"]["share"],
                                                  "Share of each modality's neurons per layer",
                                                  "fraction of the modality's neurons"));
    auto shared =
        layer_plot(json{{"shared by 2+ modalities", s["convergence"]["shared_per_layer"]}},
                   "Shared neurons per layer", "neurons");
    figures.emplace_back("shared.svg", shared);
  }
  if (s.contains("flow_before")) {
    figures.emplace_back(
        "cka.svg", layer_plot(s["flow_before"]["cka"], "Linear CKA of modality-mean hidden states",
                              "CKA with text"));
    auto flow = layer_plot(s["flow_before"]["last_token_flow"],
                           "Attention from the last prompt token", "attention mass", " (before)");
    if (s.contains("flow_after_miner")) {
      const auto after =
          layer_plot(s["flow_after_miner"]["last_token_flow"], "", "", " (MINER off)");
      flow.series.insert(flow.series.end(), after.series.begin(), after.series.end());
    }
    figures.emplace_back("flow.svg", flow);
  }
  for (const auto& [file, plot] : figures) {
    render_svg(plot, dir / file);
    md << "![" << plot.title << "](" << file << ")\n\n";
  }
  append_findings(run_dir, dir, md);
  md << "Produced by `clearsight miner report " << run_dir.string() << "` from `summary.json`"
     << (fs::exists(run_dir / "findings" / "result.json") ? " and `findings/result.json`" : "")
     << ".\n";
  const fs::path report = dir / "report.md";
  atomic_write(report, md.str());
  return report;
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
