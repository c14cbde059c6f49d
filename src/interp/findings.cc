#include "clearsight/interp/findings.h"

#include <cmath>
#include <limits>
#include <random>
#include <set>

#include "clearsight/core/error.h"
#include "clearsight/core/log.h"
#include "clearsight/core/progress.h"
#include "clearsight/core/strings.h"
#include "clearsight/interp/geometry.h"
#include "clearsight/interp/knockout.h"
#include "clearsight/interp/lens.h"
#include "clearsight/interp/probe.h"
#include "clearsight/interp/report.h"
#include "clearsight/miner/pipeline.h"
#include "clearsight/miner/selection_io.h"
#include "clearsight/mm/presets.h"

namespace clearsight::interp {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

bool is_audio_model(const mm::MultimodalModel& model) {
  return model.config().audio_config.enabled;
}

std::vector<std::string> media_tasks(const mm::MultimodalModel& model) {
  if (is_audio_model(model)) return {"sound_event", "speech"};
  return {"scene_vqa", "motion_qa"};
}

double cosine(const torch::Tensor& a, const torch::Tensor& b) {
  const double na = a.norm().item<double>(), nb = b.norm().item<double>();
  if (na < 1e-12 || nb < 1e-12) return kNaN;
  return (a * b).sum().item<double>() / (na * nb);
}

torch::Tensor mean_at(const torch::Tensor& states, const std::vector<std::int64_t>& pos) {
  return states.index_select(0, torch::tensor(pos, torch::kInt64)).mean(0);
}

// Per-point mean over every prompt position of every sample (the centre of centred cosines).
torch::Tensor prompt_centre(const ResidualStreams& rs, const Examples& ex) {
  const auto points = rs.streams.size(0);
  auto sum = torch::zeros({points, rs.streams.size(3)}, torch::kFloat64);
  std::int64_t n = 0;
  for (std::int64_t i = 0; i < ex.size(); ++i) {
    const auto len = ex.prompt_lengths[i];
    sum += rs.streams.select(1, i).narrow(1, 0, len).to(torch::kFloat64).sum(1);
    n += len;
  }
  return sum / static_cast<double>(n);
}

std::string first_below(const std::vector<std::string>& layers, const std::vector<double>& values,
                        double threshold) {
  for (std::size_t k = 0; k < values.size(); ++k) {
    if (values[k] < threshold) return layers[k];
  }
  return "none";
}

}  // namespace

SemanticProbing semantic_probing(const ModelRef& ref, std::int64_t samples, std::int64_t top_k) {
  torch::NoGradGuard no_grad;
  SemanticProbing out;
  out.points = lens_points(ref.model);
  out.top_k = top_k;
  const auto points = static_cast<std::int64_t>(out.points.size());
  out.spoken_probability.assign(points, 0.0);
  out.control_probability.assign(points, 0.0);
  out.spoken_hit_rate.assign(points, 0.0);
  out.control_hit_rate.assign(points, 0.0);
  out.audio_text_cosine.assign(points, 0.0);
  const auto task = mm::make_task("speech");
  check_task_fits(*task, ref.model);
  const auto all = load_samples(*task, mm::Split::kValidation, 0, samples);
  // The control words: words spoken in other samples of the set.
  std::set<std::int64_t> vocabulary;
  for (const auto& s : all) {
    for (auto id : ref.tokenizer.encode(s.answer)) vocabulary.insert(id);
  }
  std::mt19937_64 rng(17);
  std::int64_t cosine_n = 0;
  for (std::size_t first = 0; first < all.size(); first += 8) {
    const std::vector<mm::Sample> chunk(all.begin() + first,
                                        all.begin() + std::min(all.size(), first + 8));
    const auto ex = prepare_examples(chunk, ref.tokenizer, ref.model);
    const auto rs = residual_streams(ref.model, ex);
    const auto centre = prompt_centre(rs, ex);
    for (std::int64_t i = 0; i < ex.size(); ++i) {
      const auto& audio = ex.groups[i].at("audio");
      const auto& text = ex.groups[i].at("text");
      std::set<std::int64_t> spoken_set;
      for (auto id : ref.tokenizer.encode(chunk[i].answer)) spoken_set.insert(id);
      std::vector<std::int64_t> spoken(spoken_set.begin(), spoken_set.end());
      std::vector<std::int64_t> others;
      for (auto id : vocabulary) {
        if (!spoken_set.count(id)) others.push_back(id);
      }
      std::shuffle(others.begin(), others.end(), rng);
      std::vector<std::int64_t> control(others.begin(),
                                        others.begin() + std::min(others.size(), spoken.size()));
      const auto audio_idx = torch::tensor(audio, torch::kInt64);
      for (std::int64_t p = 0; p < points; ++p) {
        const auto states = rs.streams[p][i];  // [L, hidden]
        const auto probs = torch::softmax(
            lens_logits(ref.model, states.index_select(0, audio_idx)).to(torch::kFloat64),
            -1);  // [A, V]
        const auto top = std::get<1>(probs.topk(top_k, -1));
        auto read = [&](const std::vector<std::int64_t>& words, double& probability, double& hits) {
          if (words.empty()) return;
          const auto ids = torch::tensor(words, torch::kInt64);
          probability += probs.index_select(1, ids).max().item<double>();
          bool hit = false;
          for (auto w : words) hit = hit || (top == w).any().item<bool>();
          hits += hit ? 1.0 : 0.0;
        };
        read(spoken, out.spoken_probability[p], out.spoken_hit_rate[p]);
        read(control, out.control_probability[p], out.control_hit_rate[p]);
        const auto c = centre[p];
        const auto s64 = states.to(torch::kFloat64);
        out.audio_text_cosine[p] += cosine(mean_at(s64, audio) - c, mean_at(s64, text) - c);
      }
      ++cosine_n;
    }
  }
  out.samples = cosine_n;
  for (std::int64_t p = 0; p < points; ++p) {
    out.spoken_probability[p] /= static_cast<double>(cosine_n);
    out.control_probability[p] /= static_cast<double>(cosine_n);
    out.spoken_hit_rate[p] /= static_cast<double>(cosine_n);
    out.control_hit_rate[p] /= static_cast<double>(cosine_n);
    out.audio_text_cosine[p] /= static_cast<double>(cosine_n);
  }
  return out;
}

Telomeres telomeres(const ModelRef& ref, std::int64_t samples_per_task) {
  torch::NoGradGuard no_grad;
  Telomeres out;
  out.points = lens_points(ref.model);
  const bool audio = is_audio_model(ref.model);
  out.tokens = audio ? std::vector<std::string>{"<|audio_bos|>", "<|audio_eos|>", "<|im_start|>",
                                                "<|im_end|>"}
                     : std::vector<std::string>{"<|vision_start|>", "<|vision_end|>",
                                                "<|im_start|>", "<|im_end|>"};
  const auto points = static_cast<std::int64_t>(out.points.size());
  const auto layers = ref.model.config().num_hidden_layers;
  const auto nt = out.tokens.size();
  std::vector<std::vector<double>> text_sum(nt, std::vector<double>(points, 0.0));
  auto span_sum = text_sum;
  std::vector<std::vector<double>> attn_sum(nt, std::vector<double>(layers, 0.0));
  std::vector<double> text_n(nt, 0.0), span_n(nt, 0.0);
  std::vector<std::string> pattern_names;
  for (std::int64_t l = 0; l < layers; ++l) {
    pattern_names.push_back("blocks." + std::to_string(l) + ".attn.hook_pattern");
  }
  for (const auto& task_name : media_tasks(ref.model)) {
    const auto task = mm::make_task(task_name);
    const auto all = load_samples(*task, mm::Split::kValidation, 0, samples_per_task);
    for (std::size_t first = 0; first < all.size(); first += 8) {
      const std::vector<mm::Sample> chunk(all.begin() + first,
                                          all.begin() + std::min(all.size(), first + 8));
      const auto ex = prepare_examples(chunk, ref.tokenizer, ref.model);
      const auto rs = residual_streams(ref.model, ex);
      const auto centre = prompt_centre(rs, ex);
      auto [logits, cache] =
          ref.model.run_with_cache([&] { return ref.model.forward(ex.batch.inputs); },
                                   [&](const std::string& name) {
                                     return std::find(pattern_names.begin(), pattern_names.end(),
                                                      name) != pattern_names.end();
                                   });
      for (std::int64_t i = 0; i < ex.size(); ++i) {
        const auto last = ex.last(i);
        for (std::size_t k = 0; k < nt; ++k) {
          const auto id = ref.tokenizer.id(out.tokens[k]);
          const auto& span = ex.groups[i].at(audio                      ? "audio"
                                             : chunk[i].video.defined() ? "video"
                                                                        : "image");
          const bool encloses_media = k < 2;
          for (std::int64_t t = 0; t < ex.prompt_lengths[i]; ++t) {
            if (ex.batch.inputs.input_ids[i][t].item<std::int64_t>() != id) continue;
            for (std::int64_t p = 0; p < points; ++p) {
              const auto s64 = rs.streams[p][i].to(torch::kFloat64);
              const auto c = centre[p];
              const auto h = s64[t] - c;
              text_sum[k][p] += cosine(h, mean_at(s64, ex.groups[i].at("text")) - c);
              if (encloses_media && !span.empty()) {
                span_sum[k][p] += cosine(h, mean_at(s64, span) - c);
              }
            }
            text_n[k] += 1;
            if (encloses_media && !span.empty()) span_n[k] += 1;
            for (std::int64_t l = 0; l < layers; ++l) {
              const auto& pat = cache[pattern_names[l]];  // [B, H, L, L]
              const double a = pat[i].select(1, last).select(1, t).mean().item<double>();
              attn_sum[k][l] += a * static_cast<double>(last + 1);
            }
          }
        }
      }
      out.samples += ex.size();
    }
  }
  out.text_cosine.resize(nt);
  out.span_cosine.resize(nt);
  out.attention_from_last.resize(nt);
  for (std::size_t k = 0; k < nt; ++k) {
    for (std::int64_t p = 0; p < points; ++p) {
      out.text_cosine[k].push_back(text_n[k] > 0 ? text_sum[k][p] / text_n[k] : kNaN);
      out.span_cosine[k].push_back(span_n[k] > 0 ? span_sum[k][p] / span_n[k] : kNaN);
    }
    for (std::int64_t l = 0; l < layers; ++l) {
      out.attention_from_last[k].push_back(text_n[k] > 0 ? attn_sum[k][l] / text_n[k] : kNaN);
    }
  }
  return out;
}

namespace {

nlohmann::json nan_safe(const std::vector<double>& v) {
  nlohmann::json out = nlohmann::json::array();
  for (double x : v) out.push_back(std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(nullptr));
  return out;
}

miner::Selection selection_for(const ModelRef& ref, const FindingsOptions& o) {
  if (!o.selection.empty()) {
    auto s = miner::load_selection(o.selection);
    CS_CHECK_AS(ShapeError,
                s.masks.size(1) == ref.model.config().num_hidden_layers &&
                    s.masks.size(2) == ref.model.neurons_per_layer(),
                "selection '", o.selection.string(), "' has masks ", s.masks.sizes(),
                " but the model has ", ref.model.config().num_hidden_layers, " layers x ",
                ref.model.neurons_per_layer(), " neurons");
    return s;
  }
  const std::string preset = is_audio_model(ref.model) ? "cs-tiny-audio" : "cs-tiny-vl";
  std::vector<miner::ScoreAccumulator> datasets;
  for (const auto& name : mm::preset_tasks(preset)) {
    miner::ScoreRun run;
    run.samples = o.miner_samples;
    run.progress = o.progress;
    datasets.push_back(miner::score_task(ref.model, ref.tokenizer, *mm::make_task(name), run));
  }
  const auto [scores, present] = miner::combine_datasets(datasets);
  miner::SelectOptions select;
  select.ratio = o.ratio;
  return miner::select_neurons(scores, present, select);
}

}  // namespace

nlohmann::json run_findings(const ModelRef& ref, const FindingsOptions& options,
                            const std::filesystem::path& out_dir) {
  CS_CHECK_AS(ConfigError, options.samples >= 4, "findings needs at least 4 samples per task");
  CS_CHECK_AS(ConfigError, options.threshold < 1,
              "the convergence threshold must be below 1 (negative: halfway above chance)");
  Report report(out_dir, "MINER's open findings, measured on " + ref.name);
  nlohmann::json result = {{"method", "findings"}, {"model", ref.name}};
  std::vector<std::string> summary;

  // (a) Convergence.
  GeometryOptions go;
  go.samples = options.samples;
  go.seed = options.seed;
  go.progress = options.progress;
  const auto geometry = measure_geometry(ref, go);
  ProbeOptions po;
  po.train_samples = options.samples;
  po.test_samples = std::max<std::int64_t>(4, options.samples / 2);
  po.seed = options.seed;
  po.progress = options.progress;
  const auto probe = probe_layers(ref, po);
  double purity_threshold = options.threshold, probe_threshold = options.threshold;
  if (options.threshold < 0) {
    double chance = 0;
    for (double c : geometry.chance_purity) chance += c / geometry.chance_purity.size();
    purity_threshold = 0.5 * (chance + 1.0);
    probe_threshold = 0.5 * (probe.chance.front() + 1.0);
  }
  const auto purity_layer = first_below(geometry.layers, geometry.knn_purity, purity_threshold);
  const auto probe_layer = first_below(probe.layers, probe.accuracy, probe_threshold);
  result["convergence"] = {{"threshold", purity_threshold},
                           {"probe_threshold", probe_threshold},
                           {"layers", geometry.layers},
                           {"knn_purity", geometry.knn_purity},
                           {"chance_purity", geometry.chance_purity},
                           {"knn_purity_layer", purity_layer},
                           {"probe_layers", probe.layers},
                           {"probe_accuracy", probe.accuracy},
                           {"probe_control_accuracy", probe.control_accuracy},
                           {"probe_chance", probe.chance},
                           {"probe_accuracy_layer", probe_layer},
                           {"centred_cosine", geometry.centred_cosine},
                           {"cka", geometry.cka}};
  report.section("(a) Where do the modalities converge?");
  report.paragraph(
      "Criterion, stated before measuring: the modalities have converged at the first layer where "
      "the k-nearest-neighbour modality purity of prompt positions (k = " +
      std::to_string(go.k) + ", " + go.distance + " distance) falls below " +
      format_number(purity_threshold, 3) +
      (options.threshold < 0 ? " (halfway between its chance level and 1)" : "") +
      "; the same criterion on the held-out accuracy of a linear modality probe (threshold " +
      format_number(probe_threshold, 3) + "). " + std::to_string(geometry.prompts) + " prompts, " +
      std::to_string(geometry.positions) + " positions.");
  {
    std::vector<std::vector<std::string>> rows;
    for (std::size_t k = 0; k < geometry.layers.size(); ++k) {
      const auto it = std::find(probe.layers.begin(), probe.layers.end(), geometry.layers[k]);
      const auto j = static_cast<std::size_t>(it - probe.layers.begin());
      rows.push_back({geometry.layers[k], format_number(geometry.knn_purity[k], 3),
                      format_number(geometry.chance_purity[k], 3),
                      j < probe.layers.size() ? format_number(probe.accuracy[j], 3) : "-",
                      j < probe.layers.size() ? format_number(probe.control_accuracy[j], 3) : "-"});
    }
    report.table({"layer", "kNN purity", "chance purity", "probe accuracy", "control"}, rows);
    LinePlot plot{"Modality separability by layer", "lens point (0 = embeddings)", "value", {}};
    PlotSeries purity{"kNN purity", {}}, chance{"chance purity", {}}, acc{"probe accuracy", {}};
    for (std::size_t k = 0; k < geometry.layers.size(); ++k) {
      purity.points.emplace_back(k, geometry.knn_purity[k]);
      chance.points.emplace_back(k, geometry.chance_purity[k]);
    }
    for (std::size_t k = 0; k < probe.layers.size(); ++k)
      acc.points.emplace_back(k, probe.accuracy[k]);
    plot.series = {purity, chance, acc};
    report.line_plot(plot, "convergence.svg", "kNN modality purity and probe accuracy by layer");
  }
  report.paragraph("First layer below the threshold: kNN purity **" + purity_layer +
                   "**, probe accuracy **" + probe_layer + "**.");
  summary.push_back("convergence (purity < " + format_number(purity_threshold, 2) +
                    "): " + purity_layer + "; probe: " + probe_layer);

  // (b) Semantic probing.
  if (is_audio_model(ref.model)) {
    const auto sp = semantic_probing(ref, options.samples, 5);
    result["semantic_probing"] = {{"points", sp.points},
                                  {"spoken_probability", sp.spoken_probability},
                                  {"control_probability", sp.control_probability},
                                  {"spoken_hit_rate", sp.spoken_hit_rate},
                                  {"control_hit_rate", sp.control_hit_rate},
                                  {"audio_text_cosine", nan_safe(sp.audio_text_cosine)},
                                  {"samples", sp.samples},
                                  {"top_k", sp.top_k}};
    report.section("(b) Semantic probing: do audio positions read as the spoken words?");
    report.paragraph(
        "Speech task, " + std::to_string(sp.samples) +
        " validation samples. Per lens point: the largest logit-lens probability of a spoken word "
        "at any audio position (mean over samples), the fraction of samples with a spoken word in "
        "the top-" +
        std::to_string(sp.top_k) +
        " at some audio position, the same for as many words spoken in *other* samples (control), "
        "and the centred cosine between the audio positions' mean and the text positions' mean.");
    std::vector<std::vector<std::string>> rows;
    for (std::size_t p = 0; p < sp.points.size(); ++p) {
      rows.push_back(
          {sp.points[p], format_number(sp.spoken_probability[p], 3),
           format_number(sp.control_probability[p], 3), format_number(sp.spoken_hit_rate[p], 3),
           format_number(sp.control_hit_rate[p], 3), format_number(sp.audio_text_cosine[p], 3)});
    }
    report.table(
        {"point", "p(spoken)", "p(control)", "hit@k spoken", "hit@k control", "cos(audio, text)"},
        rows);
    summary.push_back("semantic probing: final-layer hit@5 spoken " +
                      format_number(sp.spoken_hit_rate.back(), 2) + " vs control " +
                      format_number(sp.control_hit_rate.back(), 2));
  }

  // (c) Telomeres.
  const auto tel = telomeres(ref, std::max<std::int64_t>(2, options.samples / 2));
  {
    nlohmann::json js = {{"points", tel.points}, {"samples", tel.samples}, {"tokens", {}}};
    report.section("(c) Semantic telomeres: do boundary tokens resemble text or their span?");
    report.paragraph(
        "Per boundary token: centred cosine of its residual state to the prompt's text mean and to "
        "the mean of the media span it encloses, and the attention the last position pays it, "
        "relative to a uniform share of the visible keys (" +
        std::to_string(tel.samples) + " validation prompts of the media tasks).");
    LinePlot plot{
        "Boundary tokens: cosine to text minus cosine to span", "lens point", "difference", {}};
    for (std::size_t k = 0; k < tel.tokens.size(); ++k) {
      js["tokens"][tel.tokens[k]] = {{"text_cosine", nan_safe(tel.text_cosine[k])},
                                     {"span_cosine", nan_safe(tel.span_cosine[k])},
                                     {"attention_from_last", nan_safe(tel.attention_from_last[k])}};
      std::vector<std::vector<std::string>> rows;
      for (std::size_t p = 0; p < tel.points.size(); ++p) {
        rows.push_back({tel.points[p], format_number(tel.text_cosine[k][p], 3),
                        format_number(tel.span_cosine[k][p], 3),
                        p == 0 ? "-" : format_number(tel.attention_from_last[k][p - 1], 3)});
      }
      report.paragraph("`" + tel.tokens[k] + "`");
      report.table(
          {"point", "cos(token, text)", "cos(token, span)", "attention from last / uniform"}, rows);
      if (std::isfinite(tel.span_cosine[k].back())) {
        PlotSeries s{tel.tokens[k], {}};
        for (std::size_t p = 0; p < tel.points.size(); ++p) {
          s.points.emplace_back(p, tel.text_cosine[k][p] - tel.span_cosine[k][p]);
        }
        plot.series.push_back(s);
      }
    }
    if (!plot.series.empty()) {
      report.line_plot(plot, "telomeres.svg",
                       "Above zero: the boundary token is closer to text than to its span");
    }
    result["telomeres"] = js;
  }

  // (d) Last-token flow under MINER deactivation, by knockout.
  const auto selection = selection_for(ref, options);
  const std::string flow_task = is_audio_model(ref.model) ? "sound_event" : "scene_vqa";
  const std::string medium = is_audio_model(ref.model) ? "audio" : "image";
  const auto samples =
      load_samples(*mm::make_task(flow_task), mm::Split::kTest, 0, options.knockout_samples);
  Target first;
  first.kind = "first";
  const auto examples = prepare_examples(samples, ref.tokenizer, ref.model, first);
  const auto layers = ref.model.config().num_hidden_layers;
  const std::vector<std::string> edge_sets = {medium + "-last", "question-last"};
  struct Condition {
    std::string name;
    std::string modality;
    std::string kind;  // none, miner, random
    miner::Selection selection;
  };
  std::vector<Condition> conditions = {{"original", "", "none", {}}};
  for (const auto& m : selection.modalities) {
    miner::Selection one;
    one.modalities = {m};
    one.masks = selection.mask(m).unsqueeze(0);
    one.options = selection.options;
    conditions.push_back({"miner:" + m, m, "miner", one});
    for (int s = 0; s < options.random_seeds; ++s) {
      auto r = miner::random_like(one, options.seed + 1000 + s);
      conditions.push_back({"random:" + m + "#" + std::to_string(s), m, "random", r});
    }
  }
  nlohmann::json flow = {
      {"task", flow_task},
      {"samples", options.knockout_samples},
      {"edge_sets", edge_sets},
      {"selection",
       {{"modalities", selection.modalities},
        {"ratio", selection.options.ratio},
        {"source", options.selection.empty() ? "selected here" : options.selection.string()}}},
      {"conditions", nlohmann::json::array()}};
  std::map<std::string, std::vector<double>> curves;  // condition/edge -> delta per layer
  ProgressOptions progress;
  progress.disable = !options.progress;
  progress.unit = "conditions";
  ProgressBar bar("knockout flow", static_cast<std::int64_t>(conditions.size()), progress);
  for (const auto& c : conditions) {
    std::vector<nn::HookHandle> handles;
    if (c.kind != "none") handles = miner::deactivate(ref.model, c.selection, {});
    const auto clean = knockout_scores(ref.model, examples, {{}, {}}).exp();
    nlohmann::json cj = {
        {"name", c.name},
        {"modality", c.modality},
        {"kind", c.kind},
        {"neurons", c.kind == "none" ? 0 : c.selection.masks.sum().item<std::int64_t>()},
        {"clean_probability", clean.mean().item<double>()},
        {"delta", nlohmann::json::object()}};
    for (const auto& set : edge_sets) {
      std::vector<double> deltas;
      for (std::int64_t l = 0; l < layers; ++l) {
        const auto p = knockout_scores(ref.model, examples, {parse_edge_set(set), {l}}).exp();
        deltas.push_back((p - clean).mean().item<double>());
      }
      cj["delta"][set] = deltas;
      curves[c.name + " " + set] = deltas;
    }
    flow["conditions"].push_back(cj);
    bar.advance();
  }
  bar.finish();
  result["flow"] = flow;
  report.section("(d) The last token's flow after MINER deactivation, by knockout");
  report.paragraph(
      "Task " + flow_task + ", " + std::to_string(options.knockout_samples) +
      " test samples; the answer's first token probability at the last position. For each "
      "condition (nothing deactivated; one modality's MINER neurons deactivated (zero); as many "
      "random neurons, " +
      std::to_string(options.random_seeds) +
      " seeds), the change of that probability when one layer's edges are knocked out. A "
      "modality's MSNs carry its flow to the last token if deactivating them shrinks the "
      "knockout effect of its edge more than random neurons do.");
  {
    std::vector<std::vector<std::string>> rows;
    for (const auto& cj : flow["conditions"]) {
      std::vector<std::string> row = {cj["name"].get<std::string>(),
                                      std::to_string(cj["neurons"].get<std::int64_t>()),
                                      format_number(cj["clean_probability"].get<double>(), 3)};
      for (const auto& set : edge_sets) {
        double sum = 0;
        for (const auto& d : cj["delta"][set]) sum += d.get<double>();
        row.push_back(format_number(sum, 3));
      }
      rows.push_back(row);
    }
    std::vector<std::string> header = {"condition", "neurons", "p(answer)"};
    for (const auto& set : edge_sets) header.push_back("sum of deltas " + set);
    report.table(header, rows);
    for (const auto& set : edge_sets) {
      LinePlot plot{"Knockout " + set + " by layer", "layer", "change of p(answer)", {}};
      for (const auto& cj : flow["conditions"]) {
        const auto name = cj["name"].get<std::string>();
        if (name.find('#') != std::string::npos && name.back() != '0') continue;
        PlotSeries s{name, {}};
        const auto& d = curves[name + " " + set];
        for (std::size_t l = 0; l < d.size(); ++l) s.points.emplace_back(l, d[l]);
        plot.series.push_back(s);
      }
      std::string file = "flow_" + set + ".svg";
      report.line_plot(plot, file, "Curves: original, MINER per modality, first random seed");
    }
  }
  const auto& orig = flow["conditions"][0];
  double orig_media = 0;
  for (const auto& d : orig["delta"][edge_sets[0]]) orig_media += d.get<double>();
  summary.push_back("knockout " + edge_sets[0] + " (sum over layers) original " +
                    format_number(orig_media, 3));
  result["summary"] = join(summary, "; ");
  report.section("Summary");
  report.paragraph(result["summary"].get<std::string>());
  write_result(out_dir, result);
  report.write();
  return result;
}

}  // namespace clearsight::interp
