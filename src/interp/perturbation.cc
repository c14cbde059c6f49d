#include "clearsight/interp/perturbation.h"

#include <cmath>

#include "clearsight/core/error.h"
#include "clearsight/core/progress.h"
#include "clearsight/core/strings.h"
#include "clearsight/interp/report.h"

namespace clearsight::interp {
namespace {

const std::vector<std::string> kMedia = {"image", "video", "audio"};

bool contains(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

torch::Tensor text_mask(std::int64_t length, const std::vector<std::int64_t>& positions) {
  auto mask = torch::zeros({length, 1}, torch::kBool);
  for (auto p : positions) mask[p][0] = true;
  return mask;
}

// Windows [begin, begin + window) over n elements with a stride; the last one ends at n.
std::vector<std::int64_t> window_starts(std::int64_t n, std::int64_t window, std::int64_t stride) {
  std::vector<std::int64_t> out;
  if (window >= n) return {0};
  for (std::int64_t b = 0; b + window <= n; b += stride) out.push_back(b);
  if (out.back() + window < n) out.push_back(n - window);
  return out;
}

double factorial(int n) {
  double f = 1;
  for (int k = 2; k <= n; ++k) f *= k;
  return f;
}

}  // namespace

std::vector<double> perturbed_scores(mm::MultimodalModel& model, const Examples& examples,
                                     std::int64_t i, const std::vector<Perturbation>& perturbations,
                                     const BaselineOptions& baseline, std::int64_t internal_batch) {
  torch::NoGradGuard no_grad;
  CS_CHECK_AS(ConfigError, internal_batch >= 1, "internal_batch must be >= 1");
  const auto single = examples.subset({i});
  const auto clean = clean_inputs(model, single);
  // The occluders choose the positions, so the text baseline must cover every prompt position.
  auto everywhere = baseline;
  everywhere.text_positions = "prompt";
  const auto base = baseline_inputs(model, single, clean, everywhere);
  std::vector<std::string> touched;
  for (const auto& p : perturbations) {
    for (const auto& o : p) {
      CS_CHECK_AS(ConfigError, clean.get(o.modality).defined(), "sample ", single.samples[0].index,
                  " has no ", o.modality, " input to perturb");
      if (!contains(touched, o.modality)) touched.push_back(o.modality);
    }
  }
  std::vector<double> out;
  std::int64_t cached = -1;
  Examples repeated;
  for (std::size_t first = 0; first < perturbations.size();
       first += static_cast<std::size_t>(internal_batch)) {
    const auto last = std::min(perturbations.size(), first + internal_batch);
    const auto n = static_cast<std::int64_t>(last - first);
    if (n != cached) {
      repeated = repeat_examples(single, n);
      cached = n;
    }
    InputTensors inputs;
    for (const auto& m : touched) {
      const auto x = clean.get(m)[0];
      const auto b = base.get(m)[0];
      std::vector<torch::Tensor> rows;
      for (std::size_t j = first; j < last; ++j) {
        auto row = x;
        for (const auto& o : perturbations[j]) {
          if (o.modality == m) row = torch::where(o.mask, b, row);
        }
        rows.push_back(row);
      }
      inputs.get(m) = torch::stack(rows);
    }
    const auto scores = target_score(forward_with_inputs(model, repeated, inputs), repeated);
    for (std::int64_t k = 0; k < n; ++k) out.push_back(scores[k].item<double>());
  }
  return out;
}

std::vector<OcclusionMaps> occlusion(mm::MultimodalModel& model, const Examples& examples,
                                     const OcclusionOptions& options) {
  CS_CHECK_AS(ConfigError,
              options.image_window >= 1 && options.image_stride >= 1 && options.video_window >= 1 &&
                  options.audio_window >= 1 && options.audio_stride >= 1 &&
                  options.text_window >= 1,
              "occlusion windows and strides must be >= 1");
  const auto present = input_modalities(examples);
  auto modalities = options.modalities.empty() ? present : options.modalities;
  for (const auto& m : modalities) {
    CS_CHECK_AS(UnknownNameError, contains({"text", "image", "video", "audio"}, m),
                "unknown modality '", m, "' (modalities: text, image, video, audio)");
    CS_CHECK_AS(ConfigError, contains(present, m), "the samples have no ", m, " input");
  }
  const auto& vc = model.config().vision_config;
  const auto g = vc.image_size / vc.patch_size;
  const auto p = vc.patch_size;
  ProgressOptions po;
  po.disable = !options.progress;
  po.unit = "samples";
  ProgressBar bar("occlusion", examples.size(), po);
  std::vector<OcclusionMaps> out;
  const auto clean_all = clean_inputs(model, examples);
  for (std::int64_t i = 0; i < examples.size(); ++i) {
    const auto& s = examples.samples[i];
    const auto length = static_cast<std::int64_t>(examples.tokens[i].size());
    std::vector<Perturbation> perts = {{}};
    // Which elements each perturbation covers, per modality: (modality, flat indices).
    std::vector<std::pair<std::string, std::vector<std::int64_t>>> cover = {{"", {}}};
    if (contains(modalities, "image") && s.image.defined()) {
      const auto starts = window_starts(g, options.image_window, options.image_stride);
      for (auto r : starts) {
        for (auto c : starts) {
          const auto w = std::min<std::int64_t>(options.image_window, g);
          auto mask = torch::zeros({1, 1, vc.image_size, vc.image_size}, torch::kBool);
          mask.narrow(2, r * p, w * p).narrow(3, c * p, w * p).fill_(true);
          perts.push_back({{"image", mask}});
          std::vector<std::int64_t> idx;
          for (auto a = r; a < r + w; ++a)
            for (auto b = c; b < c + w; ++b) idx.push_back(a * g + b);
          cover.emplace_back("image", idx);
        }
      }
    }
    if (contains(modalities, "video") && s.video.defined()) {
      const auto t = s.video.size(0);
      for (auto b : window_starts(t, options.video_window, 1)) {
        const auto w = std::min<std::int64_t>(options.video_window, t);
        auto mask = torch::zeros({t, 1, 1, 1}, torch::kBool);
        mask.narrow(0, b, w).fill_(true);
        perts.push_back({{"video", mask}});
        std::vector<std::int64_t> idx;
        for (auto f = b; f < b + w; ++f) idx.push_back(f);
        cover.emplace_back("video", idx);
      }
    }
    if (contains(modalities, "audio") && s.audio.defined()) {
      const auto frames = clean_all.audio.size(2);
      for (auto b : window_starts(frames, options.audio_window, options.audio_stride)) {
        const auto w = std::min<std::int64_t>(options.audio_window, frames);
        auto mask = torch::zeros({1, frames}, torch::kBool);
        mask.narrow(1, b, w).fill_(true);
        perts.push_back({{"audio", mask}});
        std::vector<std::int64_t> idx;
        for (auto f = b; f < b + w; ++f) idx.push_back(f);
        cover.emplace_back("audio", idx);
      }
    }
    if (contains(modalities, "text")) {
      const auto& q = examples.groups[i].at("question");
      const auto n = static_cast<std::int64_t>(q.size());
      if (n > 0) {
        for (auto b : window_starts(n, options.text_window, 1)) {
          const auto w = std::min<std::int64_t>(options.text_window, n);
          const std::vector<std::int64_t> pos(q.begin() + b, q.begin() + b + w);
          perts.push_back({{"text", text_mask(length, pos)}});
          cover.emplace_back("text", pos);
        }
      }
    }
    const auto scores =
        perturbed_scores(model, examples, i, perts, options.fill, options.internal_batch);
    OcclusionMaps maps;
    maps.score = scores[0];
    maps.evaluations = static_cast<std::int64_t>(perts.size());
    auto image_sum = torch::zeros({g * g}, torch::kFloat64), image_n = torch::zeros_like(image_sum);
    const auto t = s.video.defined() ? s.video.size(0) : 0;
    auto video_sum = torch::zeros({t}, torch::kFloat64), video_n = torch::zeros_like(video_sum);
    const auto frames = s.audio.defined() ? clean_all.audio.size(2) : 0;
    auto audio_sum = torch::zeros({frames}, torch::kFloat64),
         audio_n = torch::zeros_like(audio_sum);
    maps.text_positions.assign(examples.prompt_lengths[i], 0.0);
    std::vector<double> text_n(examples.prompt_lengths[i], 0.0);
    for (std::size_t k = 1; k < perts.size(); ++k) {
      const double drop = scores[0] - scores[k];
      const auto& [m, idx] = cover[k];
      for (auto e : idx) {
        if (m == "image") {
          image_sum[e] += drop;
          image_n[e] += 1;
        } else if (m == "video") {
          video_sum[e] += drop;
          video_n[e] += 1;
        } else if (m == "audio") {
          audio_sum[e] += drop;
          audio_n[e] += 1;
        } else {
          maps.text_positions[e] += drop;
          text_n[e] += 1;
        }
      }
    }
    if (contains(modalities, "image") && s.image.defined()) {
      maps.image_patches = (image_sum / image_n.clamp_min(1)).view({g, g});
    }
    if (contains(modalities, "video") && s.video.defined()) {
      maps.video_frames = video_sum / video_n.clamp_min(1);
    }
    if (contains(modalities, "audio") && s.audio.defined()) {
      maps.audio_frames = audio_sum / audio_n.clamp_min(1);
    }
    for (std::size_t e = 0; e < text_n.size(); ++e) {
      if (text_n[e] > 0) maps.text_positions[e] /= text_n[e];
    }
    out.push_back(std::move(maps));
    bar.advance();
  }
  bar.finish();
  return out;
}

namespace {

Perturbation group_perturbation(const Examples& examples, std::int64_t i,
                                const std::string& group) {
  check_group(group);
  CS_CHECK_AS(ConfigError, group != "answer",
              "the answer positions are the target; they cannot be ablated");
  const auto length = static_cast<std::int64_t>(examples.tokens[i].size());
  const auto& s = examples.samples[i];
  Perturbation p;
  auto media = [&](const std::string& m) {
    const bool has = m == "image"   ? s.image.defined()
                     : m == "video" ? s.video.defined()
                                    : s.audio.defined();
    if (has) p.push_back({m, torch::ones({1}, torch::kBool)});
  };
  if (contains(kMedia, group)) {
    media(group);
  } else if (group == "prompt") {
    std::vector<std::int64_t> pos = examples.groups[i].at("text");
    const auto& sp = examples.groups[i].at("special");
    pos.insert(pos.end(), sp.begin(), sp.end());
    p.push_back({"text", text_mask(length, pos)});
    for (const auto& m : kMedia) media(m);
  } else {
    p.push_back({"text", text_mask(length, examples.groups[i].at(group))});
  }
  return p;
}

}  // namespace

std::vector<std::vector<double>> feature_ablation(mm::MultimodalModel& model,
                                                  const Examples& examples,
                                                  const std::vector<std::string>& groups,
                                                  const BaselineOptions& baseline) {
  CS_CHECK_AS(ConfigError, !groups.empty(), "feature ablation needs at least one group");
  std::vector<std::vector<double>> out;
  for (std::int64_t i = 0; i < examples.size(); ++i) {
    std::vector<Perturbation> perts = {{}};
    for (const auto& g : groups) perts.push_back(group_perturbation(examples, i, g));
    const auto scores = perturbed_scores(model, examples, i, perts, baseline);
    std::vector<double> drops;
    for (std::size_t k = 1; k < scores.size(); ++k) drops.push_back(scores[0] - scores[k]);
    out.push_back(drops);
  }
  return out;
}

std::vector<ShapleyResult> modality_shapley(mm::MultimodalModel& model, const Examples& examples,
                                            const ShapleyOptions& options) {
  CS_CHECK_AS(UnknownNameError, options.value == "prob" || options.value == "logprob",
              "unknown Shapley value function '", options.value, "' (values: prob, logprob)");
  std::vector<std::string> players = options.players;
  if (players.empty()) {
    players.push_back("question");
    for (const auto& m : input_modalities(examples)) {
      if (m != "text") players.push_back(m);
    }
  }
  for (const auto& pl : players) {
    CS_CHECK_AS(UnknownNameError, pl == "question" || pl == "system" || contains(kMedia, pl),
                "unknown Shapley player '", pl,
                "' (players: question, system, image, video, audio)");
  }
  const auto m = static_cast<int>(players.size());
  CS_CHECK_AS(ConfigError, m >= 1 && m <= 6, "Shapley values need 1-6 players, got ", m);
  std::vector<ShapleyResult> out;
  for (std::int64_t i = 0; i < examples.size(); ++i) {
    std::vector<Perturbation> perts;
    for (int mask = 0; mask < (1 << m); ++mask) {
      Perturbation p;
      for (int k = 0; k < m; ++k) {
        if (mask & (1 << k)) continue;  // present
        const auto part = group_perturbation(examples, i, players[k]);
        CS_CHECK_AS(ConfigError, !part.empty(), "sample ", examples.samples[i].index, " has no ",
                    players[k], " to remove");
        p.insert(p.end(), part.begin(), part.end());
      }
      perts.push_back(p);
    }
    auto v = perturbed_scores(model, examples, i, perts, options.baseline);
    if (options.value == "prob") {
      for (auto& x : v) x = std::exp(x);
    }
    ShapleyResult r;
    r.players = players;
    r.coalitions = v;
    r.full = v[(1 << m) - 1];
    r.empty = v[0];
    for (int k = 0; k < m; ++k) {
      double phi = 0;
      for (int mask = 0; mask < (1 << m); ++mask) {
        if (mask & (1 << k)) continue;
        const int size = __builtin_popcount(mask);
        const double w = factorial(size) * factorial(m - size - 1) / factorial(m);
        phi += w * (v[mask | (1 << k)] - v[mask]);
      }
      r.values.push_back(phi);
    }
    out.push_back(std::move(r));
  }
  return out;
}

namespace {

template <typename Fn>
void for_batches(const ModelRef& ref, const SampleSelection& selection, const Target& target,
                 Fn&& fn) {
  const auto samples = select_samples(ref, selection);
  for (std::size_t first = 0; first < samples.size();
       first += static_cast<std::size_t>(selection.batch_size)) {
    const auto last = std::min(samples.size(), first + selection.batch_size);
    const std::vector<mm::Sample> chunk(samples.begin() + first, samples.begin() + last);
    fn(prepare_examples(chunk, ref.tokenizer, ref.model, target));
  }
}

nlohmann::json header(const ModelRef& ref, const SampleSelection& selection, const Target& target,
                      const std::string& method) {
  return {{"model", ref.name},
          {"task", selection.task},
          {"split", selection.split},
          {"method", method},
          {"target", {{"kind", target.kind}, {"token", target.token}}}};
}

std::vector<double> to_vector(const torch::Tensor& t) {
  const auto c = t.to(torch::kFloat64).contiguous().flatten();
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

}  // namespace

nlohmann::json run_occlusion(const ModelRef& ref, const SampleSelection& selection,
                             const Target& target, const OcclusionOptions& options,
                             const std::filesystem::path& out_dir) {
  Report report(out_dir, "Occlusion on " + ref.name);
  report.paragraph("Each window is replaced by the fill (image `" + options.fill.image +
                   "`, audio `" + options.fill.audio + "`, text `" + options.fill.text +
                   "`); an element's value is the mean drop of the target log-probability over "
                   "the windows covering it. Image window " +
                   std::to_string(options.image_window) + " patches (stride " +
                   std::to_string(options.image_stride) + "), video window " +
                   std::to_string(options.video_window) + " frames, audio window " +
                   std::to_string(options.audio_window) + " log-mel frames (stride " +
                   std::to_string(options.audio_stride) + "), text window " +
                   std::to_string(options.text_window) + " question words.");
  auto result = header(ref, selection, target, "occlusion");
  result["samples"] = nlohmann::json::array();
  std::map<std::string, torch::Tensor> tensors;
  for_batches(ref, selection, target, [&](const Examples& examples) {
    const auto maps = occlusion(ref.model, examples, options);
    for (std::int64_t i = 0; i < examples.size(); ++i) {
      const auto& s = examples.samples[i];
      const auto& mp = maps[i];
      nlohmann::json js = {{"index", s.index},
                           {"prompt", s.prompt},
                           {"answer", s.answer},
                           {"score", mp.score},
                           {"evaluations", mp.evaluations},
                           {"text_positions", mp.text_positions}};
      const auto stem = "sample" + std::to_string(s.index);
      report.section(s.task + " #" + std::to_string(s.index) + ": \"" + s.prompt + "\" -> \"" +
                     s.answer + "\"");
      const std::vector<std::string> prompt_tokens(
          examples.tokens[i].begin(), examples.tokens[i].begin() + examples.prompt_lengths[i]);
      report.tokens(prompt_tokens, mp.text_positions, "Drop of the target when a word is occluded");
      if (mp.image_patches.defined()) {
        js["image_patches"] = tensor_to_json(mp.image_patches);
        tensors[stem + ".image_patches"] = mp.image_patches;
        report.image_overlay(s.image, mp.image_patches, stem + "_occlusion.png",
                             "Drop of the target per patch");
      }
      if (mp.video_frames.defined()) {
        js["video_frames"] = to_vector(mp.video_frames);
        tensors[stem + ".video_frames"] = mp.video_frames;
        for (std::int64_t f = 0; f < s.video.size(0); ++f) {
          report.image_overlay(s.video[f], mp.video_frames[f].view({1, 1}),
                               stem + "_frame" + std::to_string(f) + ".png",
                               "Frame " + std::to_string(f) + ": drop " +
                                   format_number(mp.video_frames[f].item<double>(), 3));
        }
      }
      if (mp.audio_frames.defined()) {
        js["audio_frames"] = to_vector(mp.audio_frames);
        tensors[stem + ".audio_frames"] = mp.audio_frames;
        const auto& ac = ref.model.config().audio_config;
        LinePlot plot;
        plot.title = "Drop of the target per log-mel frame";
        plot.xlabel = "time (s)";
        plot.ylabel = "drop";
        plot.integer_x = false;
        PlotSeries series{"occlusion", {}};
        for (std::int64_t f = 0; f < mp.audio_frames.size(0); ++f) {
          series.points.emplace_back(static_cast<double>(f) * ac.hop_length / ac.sample_rate,
                                     mp.audio_frames[f].item<double>());
        }
        plot.series.push_back(series);
        report.line_plot(plot, stem + "_audio.svg", "Audio occlusion over time");
      }
      result["samples"].push_back(js);
    }
  });
  write_tensors(out_dir, "occlusion.safetensors", tensors, "occlusion");
  write_result(out_dir, result);
  report.write();
  return result;
}

nlohmann::json run_ablation(const ModelRef& ref, const SampleSelection& selection,
                            const Target& target, const std::vector<std::string>& groups,
                            const BaselineOptions& baseline, const std::filesystem::path& out_dir) {
  Report report(out_dir, "Feature ablation on " + ref.name);
  auto result = header(ref, selection, target, "ablation");
  result["groups"] = groups;
  result["samples"] = nlohmann::json::array();
  std::vector<double> mean(groups.size(), 0.0);
  std::int64_t n = 0;
  for_batches(ref, selection, target, [&](const Examples& examples) {
    const auto drops = feature_ablation(ref.model, examples, groups, baseline);
    for (std::int64_t i = 0; i < examples.size(); ++i) {
      result["samples"].push_back({{"index", examples.samples[i].index},
                                   {"answer", examples.samples[i].answer},
                                   {"drops", drops[i]}});
      for (std::size_t k = 0; k < groups.size(); ++k) mean[k] += drops[i][k];
      ++n;
    }
  });
  std::vector<std::vector<std::string>> rows;
  for (std::size_t k = 0; k < groups.size(); ++k) {
    mean[k] /= static_cast<double>(n);
    rows.push_back({groups[k], format_number(mean[k])});
  }
  result["mean_drops"] = mean;
  report.paragraph("Each group of positions is replaced by its baseline (image `" + baseline.image +
                   "`, audio `" + baseline.audio + "`, text `" + baseline.text +
                   "`) at once; the drop is that of the target log-probability, averaged over " +
                   std::to_string(n) + " samples.");
  report.table({"group", "mean drop"}, rows);
  write_result(out_dir, result);
  report.write();
  return result;
}

nlohmann::json run_shapley(const ModelRef& ref, const SampleSelection& selection,
                           const Target& target, const ShapleyOptions& options,
                           const std::filesystem::path& out_dir) {
  Report report(out_dir, "Modality Shapley values on " + ref.name);
  auto result = header(ref, selection, target, "shapley");
  result["value_function"] = options.value;
  result["samples"] = nlohmann::json::array();
  std::vector<std::string> players;
  std::vector<double> mean;
  double full = 0, empty = 0;
  double worst_efficiency = 0;
  std::int64_t n = 0;
  for_batches(ref, selection, target, [&](const Examples& examples) {
    const auto results = modality_shapley(ref.model, examples, options);
    for (std::int64_t i = 0; i < examples.size(); ++i) {
      const auto& r = results[i];
      if (players.empty()) {
        players = r.players;
        mean.assign(players.size(), 0.0);
      }
      CS_CHECK_AS(ConfigError, r.players == players,
                  "samples of one Shapley run must share the players");
      double sum = 0;
      nlohmann::json values = nlohmann::json::object();
      for (std::size_t k = 0; k < players.size(); ++k) {
        values[players[k]] = r.values[k];
        mean[k] += r.values[k];
        sum += r.values[k];
      }
      worst_efficiency = std::max(worst_efficiency, std::abs(sum - (r.full - r.empty)));
      full += r.full;
      empty += r.empty;
      ++n;
      result["samples"].push_back({{"index", examples.samples[i].index},
                                   {"answer", examples.samples[i].answer},
                                   {"values", values},
                                   {"full", r.full},
                                   {"empty", r.empty},
                                   {"coalitions", r.coalitions}});
    }
  });
  full /= static_cast<double>(n);
  empty /= static_cast<double>(n);
  nlohmann::json values = nlohmann::json::object(), shares = nlohmann::json::object();
  std::vector<std::vector<std::string>> rows;
  for (std::size_t k = 0; k < players.size(); ++k) {
    mean[k] /= static_cast<double>(n);
    values[players[k]] = mean[k];
    const double share = std::abs(full - empty) > 1e-12 ? mean[k] / (full - empty) : 0.0;
    shares[players[k]] = share;
    rows.push_back({players[k], format_number(mean[k]), format_number(share, 3)});
  }
  result["players"] = players;
  result["values"] = values;
  result["shares"] = shares;
  result["full"] = full;
  result["empty"] = empty;
  result["efficiency_error"] = worst_efficiency;
  result["count"] = n;
  report.paragraph(
      "Exact Shapley values with the modalities as players (all " +
      std::to_string(1 << players.size()) +
      " coalitions per sample). An absent player is replaced by its baseline (image `" +
      options.baseline.image + "`, audio `" + options.baseline.audio + "`, question words `" +
      options.baseline.text + "`). Value: `" + options.value + "` of the answer; mean over " +
      std::to_string(n) + " samples: full " + format_number(full) + ", empty " +
      format_number(empty) + ". Efficiency (the values sum to full - empty) holds to " +
      format_number(worst_efficiency, 2) + ".");
  report.table({"player", "Shapley value", "share of full - empty"}, rows);
  write_result(out_dir, result);
  report.write();
  return result;
}

}  // namespace clearsight::interp
