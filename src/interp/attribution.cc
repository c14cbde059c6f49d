#include "clearsight/interp/attribution.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <tuple>

#include "clearsight/core/error.h"
#include "clearsight/core/progress.h"
#include "clearsight/core/strings.h"
#include "clearsight/interp/report.h"

namespace clearsight::interp {
namespace {

const std::vector<std::string> kMethods = {"saliency", "input_x_gradient", "ig"};
const std::vector<std::string> kRules = {"adaptive",      "gauss-legendre", "riemann-left",
                                         "riemann-right", "riemann-middle", "riemann-trapezoid"};

bool contains(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

std::vector<std::string> chosen_modalities(const Examples& examples,
                                           const AttributionOptions& options) {
  const auto present = input_modalities(examples);
  if (options.modalities.empty()) return present;
  for (const auto& m : options.modalities) {
    CS_CHECK_AS(UnknownNameError, contains({"text", "image", "video", "audio"}, m),
                "unknown input modality '", m, "' (modalities: text, image, video, audio)");
    CS_CHECK_AS(ConfigError, contains(present, m), "the samples have no ", m,
                " input (present: ", join(present, ", "), ")");
  }
  return options.modalities;
}

// Row of each sample's image / video / audio in the batch's media tensors (-1 if none).
std::vector<std::int64_t> media_rows(const Examples& examples, const std::string& modality) {
  std::vector<std::int64_t> rows;
  std::int64_t next = 0;
  for (const auto& s : examples.samples) {
    const bool has = modality == "image"   ? s.image.defined()
                     : modality == "video" ? s.video.defined()
                                           : s.audio.defined();
    rows.push_back(has ? next++ : -1);
  }
  return rows;
}

// Per-sample summaries of the full attribution tensors.
std::vector<SampleAttribution> summarise(const mm::MultimodalModel& model, const Examples& examples,
                                         const InputTensors& attr,
                                         const std::vector<std::string>& modalities) {
  const auto& vc = model.config().vision_config;
  const auto g = vc.image_size / vc.patch_size;
  const auto p = vc.patch_size;
  const auto m = vc.spatial_merge_size;
  const auto tp = vc.temporal_patch_size;
  std::vector<SampleAttribution> out(examples.size());
  const auto image_rows = media_rows(examples, "image");
  const auto video_rows = media_rows(examples, "video");
  const auto audio_rows = media_rows(examples, "audio");
  auto place = [&](SampleAttribution& s, std::int64_t i, const std::string& group,
                   const torch::Tensor& per_token) {
    const auto& pos = examples.groups[i].at(group);
    const auto values = per_token.to(torch::kFloat64).contiguous();
    CS_CHECK_AS(ShapeError, values.numel() == static_cast<std::int64_t>(pos.size()), group,
                " attributions cover ", values.numel(), " tokens but the prompt has ", pos.size());
    for (std::size_t k = 0; k < pos.size(); ++k) s.positions[pos[k]] += values[k].item<double>();
  };
  for (std::int64_t i = 0; i < examples.size(); ++i) {
    auto& s = out[i];
    s.positions.assign(examples.prompt_lengths[i], 0.0);
    if (contains(modalities, "text")) {
      const auto per_pos = attr.text[i].sum(-1).to(torch::kFloat64);
      double total = 0;
      for (const auto& group : {"text", "special"}) {
        for (auto t : examples.groups[i].at(group)) {
          const double v = per_pos[t].item<double>();
          s.positions[t] += v;
          total += v;
        }
      }
      s.modality_totals["text"] = total;
    }
    if (contains(modalities, "image") && image_rows[i] >= 0) {
      const auto a = attr.image[image_rows[i]];  // [tp, C, H, W]
      s.image_pixels = a.sum(std::vector<std::int64_t>{0, 1});
      s.image_patches = s.image_pixels.view({g, p, g, p}).sum(std::vector<std::int64_t>{1, 3});
      place(s, i, "image",
            s.image_patches.view({g / m, m, g / m, m})
                .sum(std::vector<std::int64_t>{1, 3})
                .flatten());
      s.modality_totals["image"] = a.sum().item<double>();
    }
    if (contains(modalities, "video") && video_rows[i] >= 0) {
      const auto a = attr.video[video_rows[i]];  // [T, C, H, W]
      const auto t = a.size(0) / tp;
      s.video_pixels = a.sum(1);
      s.video_frames = s.video_pixels.sum(std::vector<std::int64_t>{1, 2});
      const auto tokens = a.reshape({t, tp, a.size(1), g / m, m, p, g / m, m, p})
                              .sum(std::vector<std::int64_t>{1, 2, 4, 5, 7, 8});
      place(s, i, "video", tokens.flatten());
      s.modality_totals["video"] = a.sum().item<double>();
    }
    if (contains(modalities, "audio") && audio_rows[i] >= 0) {
      s.audio_mel = attr.audio[audio_rows[i]];  // [mels, frames]
      s.audio_frames = s.audio_mel.sum(0);
      const auto n_tokens = static_cast<std::int64_t>(examples.groups[i].at("audio").size());
      const auto frames = s.audio_frames.size(0);
      auto tokens = torch::zeros({n_tokens}, torch::kFloat64);
      for (std::int64_t j = 0; j < n_tokens; ++j) {
        const auto begin = std::min(frames, j * 4);
        const auto len = std::min<std::int64_t>(4, frames - begin);
        if (len > 0) tokens[j] = s.audio_frames.narrow(0, begin, len).sum().item<double>();
      }
      place(s, i, "audio", tokens);
      s.modality_totals["audio"] = s.audio_mel.sum().item<double>();
    }
    for (const auto& [name, v] : s.modality_totals) s.total += v;
  }
  return out;
}

InputTensors select(const InputTensors& all, const std::vector<std::string>& modalities) {
  InputTensors out;
  for (const auto& m : modalities) out.get(m) = all.get(m);
  return out;
}

// The sample that owns each row of a modality's input tensor (text: the batch row).
std::vector<std::int64_t> row_owners(const Examples& examples, const std::string& modality) {
  std::vector<std::int64_t> owners;
  if (modality == "text") {
    for (std::int64_t i = 0; i < examples.size(); ++i) owners.push_back(i);
    return owners;
  }
  const auto rows = media_rows(examples, modality);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (rows[i] >= 0) owners.push_back(static_cast<std::int64_t>(i));
  }
  return owners;
}

// Inputs at path points: every row of each modality repeated s times, row r * s + k at
// baseline + alpha[owner(r) * s + k] (input - baseline); leaves that require grad.
InputTensors interpolate(const InputTensors& clean, const InputTensors& base,
                         const Examples& examples, const std::vector<std::string>& modalities,
                         const std::vector<double>& alpha, std::int64_t s) {
  InputTensors leaves;
  for (const auto& m : modalities) {
    const auto& x = clean.get(m);
    const auto owners = row_owners(examples, m);
    std::vector<float> a;
    for (auto o : owners) {
      for (std::int64_t k = 0; k < s; ++k) a.push_back(static_cast<float>(alpha[o * s + k]));
    }
    std::vector<std::int64_t> shape(x.dim(), 1);
    shape[0] = static_cast<std::int64_t>(a.size());
    const auto at = torch::tensor(a, torch::kFloat32).view(shape);
    const auto xr = x.repeat_interleave(s, 0);
    const auto br = base.get(m).repeat_interleave(s, 0);
    leaves.get(m) = (br + at * (xr - br)).detach().requires_grad_(true);
  }
  return leaves;
}

// The rows of sample i of each input tensor (for a one-sample Examples).
InputTensors select_row(const InputTensors& all, const Examples& examples, std::int64_t i) {
  InputTensors out;
  out.text = all.text.defined() ? all.text.narrow(0, i, 1) : torch::Tensor();
  for (const auto* m : {"image", "video", "audio"}) {
    if (!all.get(m).defined()) continue;
    const auto rows = media_rows(examples, m);
    if (rows[i] >= 0) out.get(m) = all.get(m).narrow(0, rows[i], 1);
  }
  // Text rows of a one-sample subset are only as long as the sample.
  if (out.text.defined()) {
    out.text = out.text.narrow(1, 0, static_cast<std::int64_t>(examples.tokens[i].size()));
  }
  return out;
}

// f(alpha) of one sample at alpha = j / n, j = 0..n (forward passes only).
std::vector<double> path_scores(mm::MultimodalModel& model, const Examples& single,
                                const InputTensors& clean, const InputTensors& base,
                                const std::vector<std::string>& modalities, std::int64_t n,
                                std::int64_t internal_batch) {
  torch::NoGradGuard no_grad;
  std::vector<double> values;
  const auto per_pass = std::max<std::int64_t>(1, internal_batch);
  for (std::int64_t j0 = 0; j0 <= n; j0 += per_pass) {
    const auto s = std::min<std::int64_t>(per_pass, n + 1 - j0);
    std::vector<double> alpha;
    for (std::int64_t k = 0; k < s; ++k) alpha.push_back(static_cast<double>(j0 + k) / n);
    const auto repeated = repeat_examples(single, s);
    const auto inputs = interpolate(clean, base, single, modalities, alpha, s);
    const auto scores = target_score(forward_with_inputs(model, repeated, inputs), repeated);
    for (std::int64_t k = 0; k < s; ++k) values.push_back(scores[k].item<double>());
  }
  return values;
}

}  // namespace

std::pair<std::vector<double>, std::vector<double>> adaptive_rule(const std::vector<double>& path,
                                                                  int steps) {
  CS_CHECK_AS(ConfigError, path.size() >= 2, "the adaptive rule needs the path at two points");
  const int q = steps % 8 == 0 ? 8 : steps;  // Gauss-Legendre points per segment
  const int segments = steps / q;
  const auto n = static_cast<int>(path.size()) - 1;
  // Mass of each probe interval: half its share of the total variation of f, half its length,
  // so segments crowd where f changes fast but never leave a stretch of the path unsampled.
  double variation = 0;
  for (int j = 0; j < n; ++j) variation += std::abs(path[j + 1] - path[j]);
  std::vector<double> cumulative(n + 1, 0.0);
  for (int j = 0; j < n; ++j) {
    const double share = variation > 0 ? std::abs(path[j + 1] - path[j]) / variation : 0.0;
    cumulative[j + 1] = cumulative[j] + 0.5 * share + 0.5 / n;
  }
  auto inverse = [&](double c) {
    for (int j = 0; j < n; ++j) {
      if (c <= cumulative[j + 1] || j == n - 1) {
        const double span = cumulative[j + 1] - cumulative[j];
        const double t = span > 0 ? std::clamp((c - cumulative[j]) / span, 0.0, 1.0) : 0.0;
        return (j + t) / n;
      }
    }
    return 1.0;
  };
  const auto [gl_nodes, gl_weights] = integration_rule("gauss-legendre", q);
  std::vector<double> nodes, weights;
  double left = 0.0;
  for (int k = 0; k < segments; ++k) {
    const double right =
        k + 1 == segments ? 1.0 : inverse(cumulative[n] * (k + 1) / static_cast<double>(segments));
    for (int j = 0; j < q; ++j) {
      nodes.push_back(left + (right - left) * gl_nodes[j]);
      weights.push_back((right - left) * gl_weights[j]);
    }
    left = right;
  }
  return {nodes, weights};
}

void validate(const AttributionOptions& options) {
  CS_CHECK_AS(UnknownNameError, contains(kMethods, options.method), "unknown attribution method '",
              options.method, "' (methods: ", join(kMethods, ", "), ")",
              did_you_mean(options.method, kMethods));
  CS_CHECK_AS(UnknownNameError, contains(kRules, options.rule), "unknown integration rule '",
              options.rule, "' (rules: ", join(kRules, ", "), ")",
              did_you_mean(options.rule, kRules));
  CS_CHECK_AS(ConfigError, options.steps >= 1 && options.steps <= 4096,
              "steps must be in [1, 4096], got ", options.steps);
  CS_CHECK_AS(ConfigError, options.internal_batch >= 1, "internal_batch must be >= 1");
}

std::pair<std::vector<double>, std::vector<double>> integration_rule(const std::string& rule,
                                                                     int n) {
  CS_CHECK_AS(ConfigError, n >= 1, "an integration rule needs at least one point");
  std::vector<double> nodes(n), weights(n);
  if (rule == "gauss-legendre") {
    // Roots of the Legendre polynomial P_n by Newton's method, mapped from [-1, 1] to [0, 1].
    for (int i = 0; i < n; ++i) {
      double x = std::cos(M_PI * (i + 0.75) / (n + 0.5));
      double dp = 1;
      for (int iter = 0; iter < 100; ++iter) {
        double p0 = 1, p1 = x;
        for (int k = 2; k <= n; ++k) {
          const double p2 = ((2.0 * k - 1) * x * p1 - (k - 1.0) * p0) / k;
          p0 = p1;
          p1 = p2;
        }
        const double pn = n == 1 ? x : p1;
        const double pm = n == 1 ? 1 : p0;
        dp = n * (x * pn - pm) / (x * x - 1);
        const double dx = pn / dp;
        x -= dx;
        if (std::abs(dx) < 1e-15) break;
      }
      nodes[i] = (x + 1) / 2;
      weights[i] = 1.0 / ((1 - x * x) * dp * dp);  // (2 / ((1 - x^2) P'^2)) / 2
    }
  } else if (rule == "riemann-left" || rule == "riemann-right" || rule == "riemann-middle") {
    const double shift = rule == "riemann-left" ? 0.0 : rule == "riemann-right" ? 1.0 : 0.5;
    for (int i = 0; i < n; ++i) {
      nodes[i] = (i + shift) / n;
      weights[i] = 1.0 / n;
    }
  } else if (rule == "riemann-trapezoid") {
    CS_CHECK_AS(ConfigError, n >= 2, "the trapezoid rule needs at least 2 points");
    for (int i = 0; i < n; ++i) {
      nodes[i] = static_cast<double>(i) / (n - 1);
      weights[i] = (i == 0 || i == n - 1 ? 0.5 : 1.0) / (n - 1);
    }
  } else {
    CS_THROW(UnknownNameError, "unknown integration rule '", rule, "' (rules: ", join(kRules, ", "),
             ")");
  }
  return {nodes, weights};
}

InputTensors input_gradients(mm::MultimodalModel& model, const Examples& examples) {
  const auto clean = clean_inputs(model, examples);
  InputTensors leaves;
  std::vector<torch::Tensor> list;
  for (const auto& m : input_modalities(examples)) {
    leaves.get(m) = clean.get(m).detach().clone().requires_grad_(true);
    list.push_back(leaves.get(m));
  }
  const auto score = target_score(forward_with_inputs(model, examples, leaves), examples).sum();
  const auto grads = torch::autograd::grad({score}, list);
  InputTensors out;
  std::size_t k = 0;
  for (const auto& m : input_modalities(examples)) out.get(m) = grads[k++];
  return out;
}

std::vector<SampleAttribution> attribute(mm::MultimodalModel& model, const Examples& examples,
                                         const AttributionOptions& options) {
  validate(options);
  const auto modalities = chosen_modalities(examples, options);
  const auto clean = select(clean_inputs(model, examples), modalities);
  const auto base =
      select(baseline_inputs(model, examples, clean_inputs(model, examples), options.baseline),
             modalities);
  torch::Tensor score, base_score;
  {
    torch::NoGradGuard no_grad;
    score = target_score(forward_logits(model, examples), examples);
    base_score = target_score(forward_with_inputs(model, examples, base), examples);
  }
  InputTensors attr;
  if (options.method != "ig") {
    InputTensors leaves;
    std::vector<torch::Tensor> list;
    for (const auto& m : modalities) {
      leaves.get(m) = clean.get(m).detach().clone().requires_grad_(true);
      list.push_back(leaves.get(m));
    }
    const auto obj = target_score(forward_with_inputs(model, examples, leaves), examples).sum();
    const auto grads = torch::autograd::grad({obj}, list);
    for (std::size_t k = 0; k < modalities.size(); ++k) {
      const auto& m = modalities[k];
      attr.get(m) = options.method == "saliency" ? grads[k].abs() : clean.get(m) * grads[k];
    }
  } else {
    const auto b = examples.size();
    std::vector<std::vector<double>> nodes(b), weights(b);
    if (options.rule == "adaptive") {
      for (std::int64_t i = 0; i < b; ++i) {
        std::tie(nodes[i], weights[i]) =
            adaptive_rule(path_scores(model, examples.subset({i}), select_row(clean, examples, i),
                                      select_row(base, examples, i), modalities, options.steps,
                                      options.internal_batch),
                          options.steps);
      }
    } else {
      const auto rule = integration_rule(options.rule, options.steps);
      nodes.assign(b, rule.first);
      weights.assign(b, rule.second);
    }
    const auto per_pass = std::max<std::int64_t>(1, options.internal_batch / b);
    InputTensors sum_grad;
    for (const auto& m : modalities) sum_grad.get(m) = torch::zeros_like(clean.get(m));
    ProgressOptions po;
    po.disable = !options.progress;
    po.unit = "steps";
    ProgressBar bar("integrated gradients", options.steps, po);
    std::int64_t cached_times = -1;
    Examples repeated;
    for (std::int64_t k0 = 0; k0 < options.steps; k0 += per_pass) {
      const auto s = std::min<std::int64_t>(per_pass, options.steps - k0);
      if (s != cached_times) {
        repeated = repeat_examples(examples, s);
        cached_times = s;
      }
      // Row i * s + k of the repeated batch holds sample i at its node k0 + k.
      std::vector<double> alpha, weight;
      for (std::int64_t i = 0; i < b; ++i) {
        alpha.insert(alpha.end(), nodes[i].begin() + k0, nodes[i].begin() + k0 + s);
        weight.insert(weight.end(), weights[i].begin() + k0, weights[i].begin() + k0 + s);
      }
      const auto leaves = interpolate(clean, base, examples, modalities, alpha, s);
      std::vector<torch::Tensor> list;
      for (const auto& m : modalities) list.push_back(leaves.get(m));
      const auto scores = target_score(forward_with_inputs(model, repeated, leaves), repeated);
      const auto w = torch::tensor(weight, torch::kFloat64);
      const auto grads = torch::autograd::grad({(scores * w).sum()}, list);
      for (std::size_t k = 0; k < modalities.size(); ++k) {
        const auto& m = modalities[k];
        auto shape = clean.get(m).sizes().vec();
        shape.insert(shape.begin() + 1, s);
        sum_grad.get(m) += grads[k].view(shape).sum(1);
      }
      bar.advance(s);
    }
    bar.finish();
    for (const auto& m : modalities) attr.get(m) = (clean.get(m) - base.get(m)) * sum_grad.get(m);
  }
  auto out = summarise(model, examples, attr, modalities);
  for (std::int64_t i = 0; i < examples.size(); ++i) {
    auto& s = out[i];
    s.score = score[i].item<double>();
    s.baseline_score = base_score[i].item<double>();
    const double diff = s.score - s.baseline_score;
    s.completeness_error = options.method == "saliency"
                               ? std::numeric_limits<double>::quiet_NaN()
                               : std::abs(s.total - diff) / std::max(std::abs(diff), 1e-12);
  }
  return out;
}

namespace {

nlohmann::json number_or_null(double x) {
  return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(nullptr);
}

std::string sample_label(const mm::Sample& s) {
  return s.task + " #" + std::to_string(s.index) + ": \"" + s.prompt + "\" -> \"" + s.answer + "\"";
}

}  // namespace

nlohmann::json run_attribution(const ModelRef& ref, const SampleSelection& selection,
                               const Target& target, const AttributionOptions& options,
                               const std::filesystem::path& out_dir) {
  validate(options);
  const auto samples = select_samples(ref, selection);
  Report report(out_dir, "Gradient attribution (" + options.method + ") on " + ref.name);
  report.paragraph("Method `" + options.method + "`" +
                   (options.method == "ig" ? ", " + std::to_string(options.steps) +
                                                 " points, rule `" + options.rule + "`"
                                           : std::string()) +
                   "; baselines: image `" + options.baseline.image + "`, audio `" +
                   options.baseline.audio + "`, text `" + options.baseline.text + "`. Target: `" +
                   target.kind + (target.token.empty() ? "" : ":" + target.token) +
                   "` (log-probability). Attributions land on token embeddings, normalised "
                   "pixels and log-mel frames, and are summed per token, patch and frame.");
  nlohmann::json result = {{"model", ref.name},
                           {"task", selection.task},
                           {"split", selection.split},
                           {"method", options.method},
                           {"steps", options.steps},
                           {"rule", options.rule},
                           {"baseline",
                            {{"image", options.baseline.image},
                             {"audio", options.baseline.audio},
                             {"text", options.baseline.text}}},
                           {"target", {{"kind", target.kind}, {"token", target.token}}},
                           {"samples", nlohmann::json::array()}};
  std::map<std::string, torch::Tensor> tensors;
  double worst = 0;
  std::vector<std::vector<std::string>> rows;
  for (std::size_t first = 0; first < samples.size();
       first += static_cast<std::size_t>(selection.batch_size)) {
    const auto last = std::min(samples.size(), first + selection.batch_size);
    const std::vector<mm::Sample> chunk(samples.begin() + first, samples.begin() + last);
    const auto examples = prepare_examples(chunk, ref.tokenizer, ref.model, target);
    const auto attributions = attribute(ref.model, examples, options);
    for (std::int64_t i = 0; i < examples.size(); ++i) {
      const auto& a = attributions[i];
      const auto& s = examples.samples[i];
      if (std::isfinite(a.completeness_error)) worst = std::max(worst, a.completeness_error);
      const std::vector<std::string> prompt_tokens(
          examples.tokens[i].begin(), examples.tokens[i].begin() + examples.prompt_lengths[i]);
      result["samples"].push_back(
          {{"index", s.index},
           {"prompt", s.prompt},
           {"answer", s.answer},
           {"score", a.score},
           {"baseline_score", a.baseline_score},
           {"total", a.total},
           {"completeness_error", number_or_null(a.completeness_error)},
           {"modality_totals", a.modality_totals},
           {"tokens", prompt_tokens},
           {"modality",
            std::vector<std::string>(examples.modality[i].begin(),
                                     examples.modality[i].begin() + examples.prompt_lengths[i])},
           {"positions", a.positions}});
      const auto key = "sample" + std::to_string(s.index) + ".";
      tensors[key + "positions"] = torch::tensor(a.positions, torch::kFloat64);
      if (a.image_pixels.defined()) {
        tensors[key + "image_pixels"] = a.image_pixels.contiguous();
        tensors[key + "image_patches"] = a.image_patches.contiguous();
      }
      if (a.video_pixels.defined()) tensors[key + "video_pixels"] = a.video_pixels.contiguous();
      if (a.audio_mel.defined()) tensors[key + "audio_mel"] = a.audio_mel.contiguous();
      std::vector<std::string> share;
      for (const auto& [m, v] : a.modality_totals) share.push_back(m + " " + format_number(v, 3));
      rows.push_back(
          {std::to_string(s.index), s.answer, format_number(a.score),
           format_number(a.baseline_score), format_number(a.total),
           std::isfinite(a.completeness_error) ? format_number(a.completeness_error, 3) : "-",
           join(share, ", ")});
      // Pictures of this sample.
      report.section(sample_label(s));
      report.tokens(prompt_tokens, a.positions,
                    "Attribution per prompt position (media tokens: the sum over their inputs)");
      const auto stem = "sample" + std::to_string(s.index);
      if (a.image_pixels.defined()) {
        report.image_overlay(s.image, a.image_pixels, stem + "_image_pixels.png",
                             "Per-pixel attribution over the image");
        report.image_overlay(s.image, a.image_patches, stem + "_image_patches.png",
                             "Per-patch attribution over the image");
      }
      if (a.video_pixels.defined()) {
        for (std::int64_t f = 0; f < a.video_pixels.size(0); ++f) {
          report.image_overlay(s.video[f], a.video_pixels[f],
                               stem + "_video_frame" + std::to_string(f) + ".png",
                               "Frame " + std::to_string(f) + ": attribution " +
                                   format_number(a.video_frames[f].item<double>(), 3));
        }
      }
      if (a.audio_mel.defined()) {
        const auto& ac = ref.model.config().audio_config;
        const double frame_s = static_cast<double>(ac.hop_length) / ac.sample_rate;
        LinePlot plot;
        plot.title = "Attribution per log-mel frame";
        plot.xlabel = "time (s)";
        plot.ylabel = "attribution";
        plot.integer_x = false;
        PlotSeries series{"attribution", {}};
        for (std::int64_t f = 0; f < a.audio_frames.size(0); ++f) {
          series.points.emplace_back(f * frame_s, a.audio_frames[f].item<double>());
        }
        plot.series.push_back(series);
        PlotSeries wave{"waveform x max|attr|", {}};
        const double scale = a.audio_frames.abs().max().item<double>();
        const auto n = s.audio.size(0);
        const std::int64_t stride = std::max<std::int64_t>(1, n / 800);
        for (std::int64_t k = 0; k < n; k += stride) {
          wave.points.emplace_back(static_cast<double>(k) / ac.sample_rate,
                                   s.audio[k].item<double>() * scale);
        }
        plot.series.push_back(wave);
        report.line_plot(plot, stem + "_audio.svg",
                         "Attribution over time, with the waveform (scaled) underneath");
        report.heatmap(a.audio_mel.flip(0), {}, {}, "Attribution per log-mel cell",
                       stem + "_audio_mel.svg",
                       "Rows: mel bins (high at the top); columns: frames (" +
                           format_number(frame_s * 1000, 3) + " ms each)");
      }
    }
  }
  result["completeness_error"] =
      options.method == "saliency" ? nlohmann::json(nullptr) : nlohmann::json(worst);
  report.section("Summary");
  report.paragraph("Largest relative completeness error over the samples: " +
                   (options.method == "saliency" ? std::string("not defined for saliency")
                                                 : format_number(worst, 3)) +
                   " (|sum of attributions - (f(x) - f(baseline))| / |f(x) - f(baseline)|).");
  report.table(
      {"sample", "answer", "f(x)", "f(baseline)", "sum", "completeness error", "per modality"},
      rows);
  write_tensors(out_dir, "attributions.safetensors", tensors, "attribution");
  write_result(out_dir, result);
  report.write();
  return result;
}

}  // namespace clearsight::interp
