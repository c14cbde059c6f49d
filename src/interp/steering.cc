#include "clearsight/interp/steering.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "clearsight/core/error.h"
#include "clearsight/core/plot.h"
#include "clearsight/core/progress.h"
#include "clearsight/core/strings.h"
#include "clearsight/interp/report.h"
#include "clearsight/mm/trainer.h"

namespace clearsight::interp {

namespace {

std::string resid_post(std::int64_t layer) {
  return "blocks." + std::to_string(layer) + ".hook_resid_post";
}

// The residual stream [B, layers, hidden] at each example's last prompt position.
torch::Tensor last_position_stream(mm::MultimodalModel& model, const Examples& examples) {
  torch::NoGradGuard no_grad;
  const auto layers = model.config().num_hidden_layers;
  auto out = torch::zeros({examples.size(), layers, model.config().hidden_size});
  std::vector<nn::HookHandle> handles;
  for (std::int64_t l = 0; l < layers; ++l) {
    handles.push_back(
        model.add_hook(resid_post(l),
                       [&out, &examples, l](const torch::Tensor& x,
                                            const std::string&) -> std::optional<torch::Tensor> {
                         for (std::int64_t i = 0; i < examples.size(); ++i) {
                           out[i][l].copy_(x[i][examples.last(i)].to(torch::kFloat32));
                         }
                         return std::nullopt;
                       }));
  }
  forward_logits(model, examples);
  return out;
}

// The word a filter names ("answer=red" -> "red"), or "" for other kinds.
std::string answer_word(const std::string& filter) {
  return filter.rfind("answer=", 0) == 0 ? filter.substr(7) : std::string();
}

}  // namespace

const std::vector<std::string>& steering_method_names() {
  static const std::vector<std::string> names = {"mean", "pca"};
  return names;
}

torch::Tensor steering_vectors(mm::MultimodalModel& model, const Examples& positive,
                               const Examples& negative, const std::string& method) {
  const auto& methods = steering_method_names();
  if (std::find(methods.begin(), methods.end(), method) == methods.end()) {
    CS_THROW(UnknownNameError, "unknown steering method '", method,
             "' (methods: ", join(methods, ", "), ")", did_you_mean(method, methods));
  }
  CS_CHECK_AS(ConfigError, positive.size() >= 1 && positive.size() == negative.size(),
              "steering needs as many positive as negative prompts (at least one), got ",
              positive.size(), " and ", negative.size());
  const auto pos = last_position_stream(model, positive).to(torch::kFloat64);
  const auto neg = last_position_stream(model, negative).to(torch::kFloat64);
  const auto mean_diff = pos.mean(0) - neg.mean(0);  // [layers, hidden]
  if (method == "mean") return mean_diff.to(torch::kFloat32);
  CS_CHECK_AS(ConfigError, positive.size() >= 2, "steering method pca needs at least two pairs");
  const auto diffs = pos - neg;  // [pairs, layers, hidden]
  auto out = torch::zeros_like(mean_diff);
  for (std::int64_t l = 0; l < diffs.size(1); ++l) {
    const auto d = diffs.select(1, l);
    // The first right singular vector of the (uncentred) differences, as cvector-generator's PCA
    // of the difference vectors.
    const auto svd = torch::linalg_svd(d, false);
    auto direction = std::get<2>(svd)[0];
    const auto projection = torch::dot(mean_diff[l], direction);
    out[l] = direction * projection;  // oriented along the mean difference, same projection
  }
  return out.to(torch::kFloat32);
}

std::vector<nn::HookHandle> add_steering(nn::HookedModule& model, const torch::Tensor& vectors,
                                         const std::vector<std::int64_t>& layers, double scale) {
  CS_CHECK_AS(ShapeError, vectors.dim() == 2, "steering vectors are [layers, hidden], got ",
              vectors.sizes());
  std::vector<nn::HookHandle> handles;
  for (const auto l : layers) {
    CS_CHECK_AS(ConfigError, l >= 0 && l < vectors.size(0), "steering layer ", l, " is outside 0..",
                vectors.size(0) - 1);
    const auto v = (vectors[l] * scale).contiguous();
    handles.push_back(model.add_hook(
        resid_post(l),
        [v](const torch::Tensor& x, const std::string& name) -> std::optional<torch::Tensor> {
          CS_CHECK_AS(ShapeError, x.size(-1) == v.size(0), "steering ", name, ": the vector has ",
                      v.size(0), " entries, the stream ", x.size(-1));
          return x + v.to(x.options());
        }));
  }
  return handles;
}

bool matches_filter(const mm::Sample& sample, const std::string& filter) {
  const auto eq = filter.find('=');
  CS_CHECK_AS(ConfigError, eq != std::string::npos && eq + 1 < filter.size(), "filter '", filter,
              "' is not answer=WORD, type=NAME or word=WORD");
  const auto kind = filter.substr(0, eq), value = filter.substr(eq + 1);
  if (kind == "answer") return sample.answer == value;
  if (kind == "type") return sample.question_type == value;
  if (kind == "word") {
    std::istringstream words(sample.prompt);
    std::string w;
    while (words >> w) {
      if (w == value) return true;
    }
    return false;
  }
  CS_THROW(ConfigError, "filter '", filter, "': unknown kind '", kind,
           "' (answer=WORD, type=NAME, word=WORD)");
}

nlohmann::json run_steering(const ModelRef& ref, const SteeringOptions& options,
                            const std::filesystem::path& out_dir) {
  CS_CHECK_AS(ConfigError, options.pairs >= 1, "--pairs must be >= 1, got ", options.pairs);
  CS_CHECK_AS(ConfigError, options.eval_samples >= 1, "--eval-samples must be >= 1");
  auto& model = ref.model;
  model.eval();
  const auto task = mm::make_task(options.task);
  check_task_fits(*task, model);
  const auto layers_total = model.config().num_hidden_layers;
  auto layers = options.layers;
  if (layers.empty()) {
    for (std::int64_t l = 0; l < layers_total; ++l) layers.push_back(l);
  }
  for (const auto l : layers) {
    CS_CHECK_AS(ConfigError, l >= 0 && l < layers_total, "--layers: ", l, " is outside 0..",
                layers_total - 1);
  }
  // The pairs: the first matching train samples of each set.
  std::vector<mm::Sample> pos, neg;
  const auto train_size = task->split_size(mm::Split::kTrain);
  for (std::int64_t i = 0;
       i < train_size && (static_cast<std::int64_t>(pos.size()) < options.pairs ||
                          static_cast<std::int64_t>(neg.size()) < options.pairs);
       ++i) {
    auto s = task->sample(mm::Split::kTrain, i);
    const bool p = matches_filter(s, options.positive);
    const bool n = matches_filter(s, options.negative);
    if (p && !n && static_cast<std::int64_t>(pos.size()) < options.pairs) pos.push_back(s);
    if (n && !p && static_cast<std::int64_t>(neg.size()) < options.pairs)
      neg.push_back(std::move(s));
  }
  CS_CHECK_AS(ConfigError, !pos.empty() && !neg.empty(), "no train sample of ", options.task,
              " matches ", pos.empty() ? options.positive : options.negative);
  const auto pairs = static_cast<std::int64_t>(std::min(pos.size(), neg.size()));
  pos.resize(pairs);
  neg.resize(pairs);
  const Target first{.kind = "first", .token = {}};
  const auto vectors =
      steering_vectors(model, prepare_examples(pos, ref.tokenizer, model, first),
                       prepare_examples(neg, ref.tokenizer, model, first), options.method);

  std::vector<double> scales = {0.0};
  for (const auto s : options.scales) {
    CS_CHECK_AS(ConfigError, std::isfinite(s), "--scales: every scale must be finite");
    if (std::find(scales.begin(), scales.end(), s) == scales.end()) scales.push_back(s);
  }
  std::sort(scales.begin(), scales.end());
  const auto pos_word = answer_word(options.positive), neg_word = answer_word(options.negative);
  mm::EvalOptions eval;
  eval.split = mm::Split::kTest;
  eval.samples = options.eval_samples;
  ProgressOptions bar_options;
  bar_options.disable = !options.progress;
  bar_options.unit = "scales";
  ProgressBar progress("steer", static_cast<std::int64_t>(scales.size()), bar_options);
  std::vector<std::string> reference;
  nlohmann::json per_scale = nlohmann::json::array();
  std::vector<mm::EvalResult> results;
  for (const auto scale : scales) {
    mm::EvalResult r;
    {
      const auto handles = add_steering(model, vectors, layers, scale);
      r = mm::evaluate(model, ref.tokenizer, *task, eval);
    }
    results.push_back(r);
    progress.advance(1);
  }
  progress.finish();
  const auto zero =
      static_cast<std::size_t>(std::find(scales.begin(), scales.end(), 0.0) - scales.begin());
  reference = results[zero].predictions;
  for (std::size_t k = 0; k < scales.size(); ++k) {
    const auto& r = results[k];
    const auto n = static_cast<double>(r.predictions.size());
    double p = 0, q = 0, changed = 0;
    for (std::size_t i = 0; i < r.predictions.size(); ++i) {
      p += !pos_word.empty() && r.predictions[i] == pos_word;
      q += !neg_word.empty() && r.predictions[i] == neg_word;
      changed += r.predictions[i] != reference[i];
    }
    nlohmann::json examples = nlohmann::json::array();
    for (std::size_t i = 0; i < std::min<std::size_t>(5, r.predictions.size()); ++i) {
      examples.push_back({{"answer", r.answers[i]}, {"prediction", r.predictions[i]}});
    }
    per_scale.push_back(
        {{"scale", scales[k]},
         {"score", r.score},
         {"positive_rate", pos_word.empty() ? nlohmann::json(nullptr) : nlohmann::json(p / n)},
         {"negative_rate", neg_word.empty() ? nlohmann::json(nullptr) : nlohmann::json(q / n)},
         {"changed", changed / n},
         {"examples", examples}});
  }

  std::map<std::string, torch::Tensor> tensors;
  nlohmann::json norms = nlohmann::json::array();
  for (std::int64_t l = 0; l < vectors.size(0); ++l) {
    tensors["layer." + std::to_string(l)] = vectors[l].contiguous();
    norms.push_back(vectors[l].norm().item<double>());
  }
  write_tensors(out_dir, "steering.safetensors", tensors, "steering");
  nlohmann::json result = {{"method", "steering"},
                           {"model", ref.name},
                           {"task", options.task},
                           {"vector_method", options.method},
                           {"positive", options.positive},
                           {"negative", options.negative},
                           {"pairs", pairs},
                           {"layers", layers},
                           {"vector_norms", norms},
                           {"metric", results[zero].metric},
                           {"eval_samples", results[zero].samples},
                           {"scales", per_scale},
                           {"files",
                            {{"vectors", "steering.safetensors"},
                             {"report", "report.html"},
                             {"markdown", "report.md"}}}};
  write_result(out_dir, result);

  Report report(out_dir,
                "Steering: " + options.positive + " vs " + options.negative + " on " + ref.name);
  std::string layer_text;
  for (const auto l : layers) layer_text += (layer_text.empty() ? "" : ",") + std::to_string(l);
  report.paragraph("Vectors (" + options.method + ") from " + std::to_string(pairs) +
                   " train pairs of " + options.task +
                   " at the last prompt position of the "
                   "residual stream, added at layer(s) " +
                   layer_text +
                   " with each scale at "
                   "every position while generating; " +
                   std::to_string(results[zero].samples) + " test samples per scale.");
  std::vector<std::vector<std::string>> rows;
  LinePlot plot{"Steering effect", "scale", "fraction", {}, false};
  PlotSeries score{"task score (" + results[zero].metric + ")", {}},
      rate{"answers = " + pos_word, {}}, neg_rate{"answers = " + neg_word, {}};
  for (const auto& s : per_scale) {
    const auto x = s["scale"].get<double>();
    score.points.emplace_back(x, s["score"].get<double>());
    if (s["positive_rate"].is_number())
      rate.points.emplace_back(x, s["positive_rate"].get<double>());
    if (s["negative_rate"].is_number())
      neg_rate.points.emplace_back(x, s["negative_rate"].get<double>());
    rows.push_back(
        {format_number(x), format_number(s["score"].get<double>()),
         s["positive_rate"].is_number() ? format_number(s["positive_rate"].get<double>()) : "-",
         s["negative_rate"].is_number() ? format_number(s["negative_rate"].get<double>()) : "-",
         format_number(s["changed"].get<double>())});
  }
  plot.series = {score};
  if (!rate.points.empty()) plot.series.push_back(rate);
  if (!neg_rate.points.empty()) plot.series.push_back(neg_rate);
  report.table({"scale", "score", "positive answers", "negative answers", "answers changed"}, rows);
  if (gnuplot_available())
    report.line_plot(plot, "steering.svg", "Task score and answers by scale.");
  report.write();
  return result;
}

}  // namespace clearsight::interp
