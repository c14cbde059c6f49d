#include "clearsight/interp/lens.h"

#include <algorithm>
#include <numeric>
#include <random>
#include <set>

#include "clearsight/core/error.h"
#include "clearsight/core/plot.h"
#include "clearsight/core/progress.h"
#include "clearsight/core/rng.h"
#include "clearsight/core/safetensors.h"
#include "clearsight/core/strings.h"
#include "clearsight/interp/report.h"

namespace clearsight::interp {

namespace {

constexpr const char* kLensKind = "tuned_lens";

// A short label of lens point p: "embed" or the block index.
std::string point_label(std::int64_t p) { return p == 0 ? "embed" : std::to_string(p - 1); }

// Log-probabilities [n, V] (float64) of the lens at point p for hidden states h [n, hidden].
torch::Tensor point_log_probs(mm::MultimodalModel& model, std::int64_t p, const torch::Tensor& h,
                              const TunedLens* tuned) {
  const auto x = tuned ? tuned->translate(p, h) : h;
  return torch::log_softmax(lens_logits(model, x).to(torch::kFloat64), -1);
}

// KL(p || q) per row from log-probabilities [n, V].
torch::Tensor kl_rows(const torch::Tensor& log_p, const torch::Tensor& log_q) {
  return (log_p.exp() * (log_p - log_q)).sum(-1).clamp_min(0.0);
}

std::vector<std::int64_t> sample_indices(const std::vector<mm::Sample>& samples) {
  std::vector<std::int64_t> out;
  out.reserve(samples.size());
  for (const auto& s : samples) out.push_back(s.index);
  return out;
}

std::vector<Examples> prepare_batches(const ModelRef& ref, const std::vector<mm::Sample>& samples,
                                      std::int64_t batch_size, const Target& target) {
  CS_CHECK_AS(ConfigError, batch_size >= 1, "batch_size must be >= 1, got ", batch_size);
  std::vector<Examples> out;
  const auto n = static_cast<std::int64_t>(samples.size());
  for (std::int64_t start = 0; start < n; start += batch_size) {
    const auto end = std::min(n, start + batch_size);
    const std::vector<mm::Sample> chunk(samples.begin() + start, samples.begin() + end);
    out.push_back(prepare_examples(chunk, ref.tokenizer, ref.model, target));
  }
  return out;
}

std::vector<double> to_vector(const torch::Tensor& t) {
  const auto c = t.to(torch::kCPU, torch::kFloat64).contiguous();
  return {c.data_ptr<double>(), c.data_ptr<double>() + c.numel()};
}

PlotSeries series(const std::string& name, const torch::Tensor& values) {
  PlotSeries s{name, {}};
  const auto v = to_vector(values);
  for (std::size_t p = 0; p < v.size(); ++p) s.points.emplace_back(static_cast<double>(p), v[p]);
  return s;
}

}  // namespace

// ---- Lens points and readout
// ---------------------------------------------------------------------

std::vector<std::string> lens_points(const mm::MultimodalModel& model) {
  std::vector<std::string> out = {"hook_embed"};
  for (std::int64_t l = 0; l < model.config().num_hidden_layers; ++l) {
    out.push_back("blocks." + std::to_string(l) + ".hook_resid_post");
  }
  return out;
}

ResidualStreams residual_streams(mm::MultimodalModel& model, const Examples& examples) {
  torch::NoGradGuard no_grad;
  model.eval();
  const auto points = lens_points(model);
  const std::set<std::string> wanted(points.begin(), points.end());
  auto [logits, cache] =
      model.run_with_cache([&] { return forward_logits(model, examples); },
                           [&wanted](const std::string& name) { return wanted.count(name) > 0; });
  std::vector<torch::Tensor> streams;
  streams.reserve(points.size());
  for (const auto& name : points) streams.push_back(cache[name]);
  return {torch::stack(streams), logits};
}

torch::Tensor lens_logits(mm::MultimodalModel& model, const torch::Tensor& h) {
  CS_CHECK_AS(ShapeError, h.defined() && h.dim() >= 1 && h.size(-1) == model.config().hidden_size,
              "lens input must be [..., ", model.config().hidden_size, "], got ",
              h.defined() ? h.sizes() : torch::IntArrayRef{});
  // The same operations as the model's decode (ln_final, then the unembedding), so that the last
  // lens point reproduces the model's logits.
  const auto x = model.ln_final->forward(h);
  return model.config().tie_word_embeddings ? torch::matmul(x, model.embed_tokens->weight.t())
                                            : model.lm_head->forward(x);
}

// ---- Tuned lens
// ----------------------------------------------------------------------------------

TunedLens::TunedLens(std::int64_t points, std::int64_t hidden, std::string model_name)
    : hidden_(hidden), model_name_(std::move(model_name)) {
  CS_CHECK_AS(ConfigError, points >= 1 && hidden >= 1,
              "a tuned lens needs points >= 1 and hidden "
              ">= 1, got ",
              points, " and ", hidden);
  for (std::int64_t p = 0; p < points; ++p) {
    weights_.push_back(torch::eye(hidden, torch::kFloat32));
    biases_.push_back(torch::zeros({hidden}, torch::kFloat32));
  }
}

TunedLens TunedLens::identity(const mm::MultimodalModel& model, std::string model_name) {
  return TunedLens(model.config().num_hidden_layers + 1, model.config().hidden_size,
                   std::move(model_name));
}

torch::Tensor TunedLens::translate(std::int64_t point, const torch::Tensor& h) const {
  CS_CHECK_AS(ConfigError, point >= 0 && point < points(), "tuned lens point ", point,
              " is out of range 0..", points() - 1);
  CS_CHECK_AS(ShapeError, h.size(-1) == hidden_, "tuned lens of width ", hidden_,
              " applied to hidden states ", h.sizes());
  const auto& a = weights_[point];
  const auto& b = biases_[point];
  return torch::matmul(h, a.to(h.device(), h.scalar_type()).t()) +
         b.to(h.device(), h.scalar_type());
}

torch::Tensor& TunedLens::weight(std::int64_t point) {
  CS_CHECK_AS(ConfigError, point >= 0 && point < points(), "tuned lens point ", point,
              " is out of range");
  return weights_[point];
}

torch::Tensor& TunedLens::bias(std::int64_t point) {
  CS_CHECK_AS(ConfigError, point >= 0 && point < points(), "tuned lens point ", point,
              " is out of range");
  return biases_[point];
}

void TunedLens::check_fits(const mm::MultimodalModel& model) const {
  const auto want = model.config().num_hidden_layers + 1;
  CS_CHECK_AS(ConfigError, points() == want && hidden_ == model.config().hidden_size,
              "the tuned lens has ", points(), " translators of width ", hidden_,
              " but the model needs ", want, " of width ", model.config().hidden_size,
              model_name_.empty() ? "" : " (the lens was made for '", model_name_,
              model_name_.empty() ? "" : "')");
}

void TunedLens::save(const std::filesystem::path& path) const {
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  for (std::int64_t p = 0; p < points(); ++p) {
    tensors.emplace_back("weight." + std::to_string(p),
                         weights_[p].detach().to(torch::kCPU, torch::kFloat32));
    tensors.emplace_back("bias." + std::to_string(p),
                         biases_[p].detach().to(torch::kCPU, torch::kFloat32));
  }
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  safetensors::save(path, tensors,
                    {{"kind", kLensKind},
                     {"model", model_name_},
                     {"layers", std::to_string(points() - 1)},
                     {"hidden", std::to_string(hidden_)},
                     {"points", std::to_string(points())}});
}

TunedLens TunedLens::load(const std::filesystem::path& path) {
  const auto file = safetensors::File::open(path);
  const auto& meta = file.metadata();
  auto get = [&](const std::string& key) -> std::string {
    const auto it = meta.find(key);
    CS_CHECK_AS(FormatError, it != meta.end(), path.string(), ": not a tuned lens file (metadata '",
                key, "' missing)");
    return it->second;
  };
  CS_CHECK_AS(FormatError, get("kind") == kLensKind, path.string(), ": metadata kind is '",
              get("kind"), "', expected '", kLensKind, "'");
  std::int64_t points = 0, hidden = 0, layers = 0;
  try {
    points = std::stoll(get("points"));
    hidden = std::stoll(get("hidden"));
    layers = std::stoll(get("layers"));
  } catch (const std::logic_error&) {
    CS_THROW(FormatError, path.string(), ": metadata points/hidden/layers are not integers");
  }
  CS_CHECK_AS(FormatError, points >= 1 && hidden >= 1 && layers == points - 1, path.string(),
              ": inconsistent metadata (points ", points, ", layers ", layers, ", hidden ", hidden,
              ")");
  TunedLens lens(points, hidden, get("model"));
  for (std::int64_t p = 0; p < points; ++p) {
    lens.weights_[p] =
        file.get("weight." + std::to_string(p), std::vector<std::int64_t>{hidden, hidden})
            .to(torch::kFloat32);
    lens.biases_[p] = file.get("bias." + std::to_string(p), std::vector<std::int64_t>{hidden})
                          .to(torch::kFloat32);
  }
  return lens;
}

// ---- Readouts
// ------------------------------------------------------------------------------------

LensReadout read_lens(mm::MultimodalModel& model, const Examples& examples,
                      const LensOptions& options, const TunedLens* tuned) {
  torch::NoGradGuard no_grad;
  CS_CHECK_AS(ConfigError, options.top_k >= 1, "lens top_k must be >= 1, got ", options.top_k);
  CS_CHECK_AS(ConfigError, !options.positions.empty(), "the lens needs at least one group");
  for (const auto& g : options.positions) check_group(g);
  if (tuned) tuned->check_fits(model);
  LensReadout out;
  out.points = lens_points(model);
  const auto num_points = static_cast<std::int64_t>(out.points.size());
  std::vector<std::int64_t> rows, cols;
  for (const auto& group : options.positions) {
    for (std::int64_t i = 0; i < examples.size(); ++i) {
      const auto answer_id = examples.target_tokens[i].empty()
                                 ? std::int64_t{0}
                                 : examples.target_tokens[i].front().second;
      for (const auto p : examples.positions(i, group)) {
        out.positions.push_back({i, p, group, examples.tokens[i][p], answer_id});
        rows.push_back(i);
        cols.push_back(p);
      }
    }
  }
  const auto n = static_cast<std::int64_t>(rows.size());
  const auto k = std::min(options.top_k, model.config().vocab_size);
  out.kl = torch::zeros({num_points, n}, torch::kFloat64);
  out.answer_probability = torch::zeros({num_points, n}, torch::kFloat64);
  out.answer_rank = torch::zeros({num_points, n}, torch::kInt64);
  out.top_ids = torch::zeros({num_points, n, k}, torch::kInt64);
  out.top_probability = torch::zeros({num_points, n, k}, torch::kFloat64);
  if (n == 0) return out;
  const auto rs = residual_streams(model, examples);
  const auto device = rs.streams.device();
  const auto row_index = torch::tensor(rows, torch::kInt64).to(device);
  const auto col_index = torch::tensor(cols, torch::kInt64).to(device);
  std::vector<std::int64_t> answers;
  for (const auto& pos : out.positions) answers.push_back(pos.answer_id);
  const auto answer_index = torch::tensor(answers, torch::kInt64).to(device).unsqueeze(1);
  const auto final_lp = torch::log_softmax(
      rs.logits.index({row_index, col_index}).to(torch::kFloat64), -1);  // [n, V]
  for (std::int64_t p = 0; p < num_points; ++p) {
    const auto h = rs.streams[p].index({row_index, col_index});  // [n, hidden]
    const auto lp = point_log_probs(model, p, h, tuned);
    out.kl[p] = kl_rows(final_lp, lp).cpu();
    const auto answer_lp = lp.gather(1, answer_index);  // [n, 1]
    out.answer_probability[p] = answer_lp.squeeze(1).exp().cpu();
    out.answer_rank[p] = (lp > answer_lp).sum(1).add(1).cpu();
    const auto [values, ids] = lp.topk(k, -1);
    out.top_ids[p] = ids.cpu();
    out.top_probability[p] = values.exp().cpu();
  }
  return out;
}

torch::Tensor prompt_kl(mm::MultimodalModel& model, const Examples& examples,
                        const TunedLens* tuned) {
  torch::NoGradGuard no_grad;
  if (tuned) tuned->check_fits(model);
  const auto rs = residual_streams(model, examples);
  std::vector<std::int64_t> rows, cols;
  for (std::int64_t i = 0; i < examples.size(); ++i) {
    for (std::int64_t p = 0; p < examples.prompt_lengths[i]; ++p) {
      rows.push_back(i);
      cols.push_back(p);
    }
  }
  const auto device = rs.streams.device();
  const auto row_index = torch::tensor(rows, torch::kInt64).to(device);
  const auto col_index = torch::tensor(cols, torch::kInt64).to(device);
  const auto final_lp =
      torch::log_softmax(rs.logits.index({row_index, col_index}).to(torch::kFloat64), -1);
  const auto num_points = rs.streams.size(0);
  auto out = torch::zeros({num_points, static_cast<std::int64_t>(rows.size())}, torch::kFloat64);
  for (std::int64_t p = 0; p < num_points; ++p) {
    const auto h = rs.streams[p].index({row_index, col_index});
    out[p] = kl_rows(final_lp, point_log_probs(model, p, h, tuned)).cpu();
  }
  return out;
}

// ---- Training
// ------------------------------------------------------------------------------------

TrainedLens train_tuned_lens(mm::MultimodalModel& model, const std::vector<Examples>& batches,
                             const TunedLensTraining& options, const std::string& model_name) {
  CS_CHECK_AS(ConfigError, !batches.empty(), "tuned lens training needs samples");
  CS_CHECK_AS(ConfigError, options.steps >= 1, "tuned lens steps must be >= 1, got ",
              options.steps);
  CS_CHECK_AS(ConfigError, options.learning_rate > 0, "tuned lens learning rate must be > 0");
  CS_CHECK_AS(ConfigError, options.minibatch >= 0, "tuned lens minibatch must be >= 0");
  // Training data: hidden states at every prompt position and the model's final distribution.
  std::vector<torch::Tensor> hs, targets;
  for (const auto& examples : batches) {
    const auto rs = residual_streams(model, examples);
    for (std::int64_t i = 0; i < examples.size(); ++i) {
      const auto p = examples.prompt_lengths[i];
      hs.push_back(rs.streams.select(1, i).narrow(1, 0, p));  // [points, P, hidden]
      targets.push_back(
          torch::log_softmax(rs.logits[i].narrow(0, 0, p).to(torch::kFloat32), -1));  // [P, V]
    }
  }
  const auto h_all = torch::cat(hs, 1).to(torch::kFloat32);  // [points, N, hidden]
  const auto target_lp = torch::cat(targets, 0);             // [N, V]
  const auto target_p = target_lp.exp();
  const auto n = target_lp.size(0);
  const auto num_points = h_all.size(0);
  const auto device = h_all.device();

  TrainedLens out;
  out.positions = n;
  out.lens = TunedLens(num_points, h_all.size(2), model_name);
  std::vector<torch::Tensor> params;
  for (std::int64_t p = 0; p + 1 < num_points; ++p) {
    out.lens.weight(p) = out.lens.weight(p).to(device).set_requires_grad(true);
    out.lens.bias(p) = out.lens.bias(p).to(device).set_requires_grad(true);
    params.push_back(out.lens.weight(p));
    params.push_back(out.lens.bias(p));
  }
  out.loss = torch::zeros({options.steps, num_points}, torch::kFloat64);
  if (params.empty()) return out;  // a model without layers: nothing to train

  torch::AutoGradMode grad_mode(true);
  torch::optim::Adam adam(params, torch::optim::AdamOptions(options.learning_rate));
  RngEngine rng(options.seed);
  std::vector<std::int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  const auto batch = options.minibatch > 0 ? std::min(options.minibatch, n) : n;
  std::int64_t cursor = n;  // forces a shuffle before the first minibatch
  ProgressOptions bar_options;
  bar_options.disable = !options.progress;
  bar_options.unit = "steps";
  ProgressBar bar("tuned lens", options.steps, bar_options);
  for (std::int64_t step = 0; step < options.steps; ++step) {
    torch::Tensor index;
    if (batch < n) {
      if (cursor + batch > n) {
        std::shuffle(order.begin(), order.end(), rng);
        cursor = 0;
      }
      index = torch::tensor(
                  std::vector<std::int64_t>(order.begin() + cursor, order.begin() + cursor + batch),
                  torch::kInt64)
                  .to(device);
      cursor += batch;
    }
    const auto tp = index.defined() ? target_p.index_select(0, index) : target_p;
    const auto tlp = index.defined() ? target_lp.index_select(0, index) : target_lp;
    torch::Tensor total;
    for (std::int64_t p = 0; p + 1 < num_points; ++p) {
      const auto h = index.defined() ? h_all[p].index_select(0, index) : h_all[p];
      const auto lp = torch::log_softmax(lens_logits(model, out.lens.translate(p, h)), -1);
      const auto kl = (tp * (tlp - lp)).sum(-1).mean();
      out.loss[step][p] = kl.item<double>();
      total = total.defined() ? total + kl : kl;
    }
    // Gradients only for the translators: the model's parameters keep their .grad untouched.
    const auto grads = torch::autograd::grad({total}, params);
    for (std::size_t j = 0; j < params.size(); ++j) params[j].mutable_grad() = grads[j];
    adam.step();
    bar.advance();
    bar.set_postfix("kl " +
                    format_number(total.item<double>() / static_cast<double>(num_points - 1)));
  }
  bar.finish();
  for (std::int64_t p = 0; p + 1 < num_points; ++p) {
    out.lens.weight(p) = out.lens.weight(p).detach().to(torch::kCPU);
    out.lens.bias(p) = out.lens.bias(p).detach().to(torch::kCPU);
  }
  return out;
}

// ---- Studies
// -------------------------------------------------------------------------------------

nlohmann::json run_logit_lens(const ModelRef& ref, const SampleSelection& selection,
                              const LensOptions& options, const std::filesystem::path& out_dir) {
  CS_CHECK_AS(ConfigError, options.top_k >= 1, "lens top_k must be >= 1, got ", options.top_k);
  for (const auto& g : options.positions) check_group(g);
  const auto samples = select_samples(ref, selection);
  const auto batches = prepare_batches(ref, samples, selection.batch_size, options.target);
  const auto points = lens_points(ref.model);
  const auto num_points = static_cast<std::int64_t>(points.size());

  std::vector<torch::Tensor> kl, prob, rank, top_ids, top_prob;
  std::vector<LensPosition> positions;
  std::vector<std::int64_t> position_sample;  // sample index (in its split) of every position
  std::int64_t offset = 0;
  for (const auto& examples : batches) {
    auto readout = read_lens(ref.model, examples, options);
    for (auto& pos : readout.positions) {
      position_sample.push_back(samples[offset + pos.sample].index);
      pos.sample += offset;
      positions.push_back(pos);
    }
    kl.push_back(readout.kl);
    prob.push_back(readout.answer_probability);
    rank.push_back(readout.answer_rank);
    top_ids.push_back(readout.top_ids);
    top_prob.push_back(readout.top_probability);
    offset += examples.size();
  }
  const auto kl_all = torch::cat(kl, 1);
  const auto prob_all = torch::cat(prob, 1);
  const auto rank_all = torch::cat(rank, 1);
  const auto ids_all = torch::cat(top_ids, 1);
  const auto topp_all = torch::cat(top_prob, 1);
  const auto n = kl_all.size(1);

  nlohmann::json result;
  result["method"] = "logit_lens";
  result["model"] = ref.name;
  result["task"] = selection.task;
  result["split"] = selection.split;
  result["samples"] = sample_indices(samples);
  result["points"] = points;
  result["groups"] = options.positions;
  result["top_k"] = ids_all.size(2);
  result["target"] = {{"kind", options.target.kind}, {"token", options.target.token}};
  result["mean_kl"] = n > 0 ? tensor_to_json(kl_all.mean(1)) : nlohmann::json::array();
  result["mean_answer_probability"] =
      n > 0 ? tensor_to_json(prob_all.mean(1)) : nlohmann::json::array();
  nlohmann::json by_group = nlohmann::json::object();
  std::map<std::string, torch::Tensor> group_kl, group_prob;
  for (const auto& group : options.positions) {
    std::vector<std::int64_t> idx;
    for (std::int64_t j = 0; j < n; ++j) {
      if (positions[j].group == group) idx.push_back(j);
    }
    if (idx.empty()) {
      by_group[group] = {{"positions", 0}};
      continue;
    }
    const auto index = torch::tensor(idx, torch::kInt64);
    group_kl[group] = kl_all.index_select(1, index).mean(1);
    group_prob[group] = prob_all.index_select(1, index).mean(1);
    by_group[group] = {
        {"positions", idx.size()},
        {"mean_kl", tensor_to_json(group_kl[group])},
        {"mean_answer_probability", tensor_to_json(group_prob[group])},
        {"mean_answer_rank",
         tensor_to_json(rank_all.index_select(1, index).to(torch::kFloat64).mean(1))}};
  }
  result["by_group"] = by_group;
  nlohmann::json position_json = nlohmann::json::array();
  for (std::int64_t j = 0; j < n; ++j) {
    const auto& pos = positions[j];
    nlohmann::json layers = nlohmann::json::array();
    for (std::int64_t p = 0; p < num_points; ++p) {
      nlohmann::json top = nlohmann::json::array();
      for (std::int64_t t = 0; t < ids_all.size(2); ++t) {
        top.push_back({{"token", ref.tokenizer.token(ids_all[p][j][t].item<std::int64_t>())},
                       {"probability", topp_all[p][j][t].item<double>()}});
      }
      layers.push_back({{"point", points[p]},
                        {"kl", kl_all[p][j].item<double>()},
                        {"answer_probability", prob_all[p][j].item<double>()},
                        {"answer_rank", rank_all[p][j].item<std::int64_t>()},
                        {"top_k", top}});
    }
    position_json.push_back({{"sample", position_sample[j]},
                             {"position", pos.position},
                             {"group", pos.group},
                             {"token", pos.token},
                             {"answer", ref.tokenizer.token(pos.answer_id)},
                             {"layers", layers}});
  }
  result["positions"] = position_json;
  result["files"] = {
      {"tensors", "lens.safetensors"}, {"report", "report.html"}, {"markdown", "report.md"}};

  auto where = torch::zeros({n, 2}, torch::kInt64);
  for (std::int64_t j = 0; j < n; ++j) {
    where[j][0] = position_sample[j];
    where[j][1] = positions[j].position;
  }
  write_tensors(out_dir, "lens.safetensors",
                {{"kl", kl_all},
                 {"answer_probability", prob_all},
                 {"answer_rank", rank_all},
                 {"top_ids", ids_all},
                 {"top_probability", topp_all},
                 {"positions", where}},
                "logit_lens");
  write_result(out_dir, result);

  Report report(out_dir, "Logit lens: " + selection.task + " on " + ref.name);
  report.paragraph(
      "ln_final and the unembedding applied to the residual stream (hook_embed, then "
      "the output of every block) at the positions of groups " +
      join(options.positions, ", ") + " of " + std::to_string(samples.size()) + " " +
      selection.split + " samples (" + std::to_string(n) +
      " positions). KL(final || lens) in nats; layer 'embed' is the embeddings.");
  if (!group_kl.empty()) {
    LinePlot kl_plot{"KL(final || logit lens) by layer",
                     "lens point (0 = embeddings)",
                     "mean KL (nats)",
                     {},
                     true};
    LinePlot prob_plot{"Answer-token probability by layer",
                       "lens point (0 = embeddings)",
                       "mean probability",
                       {},
                       true};
    for (const auto& [group, values] : group_kl) {
      kl_plot.series.push_back(series(group, values));
      prob_plot.series.push_back(series(group, group_prob[group]));
    }
    report.section("Curves");
    report.line_plot(kl_plot, "lens_kl.svg", "Mean KL to the final distribution, per group.");
    report.line_plot(prob_plot, "lens_answer.svg", "Mean probability of the answer token.");
  }
  report.section("Decoded tokens");
  constexpr std::int64_t kShown = 8;
  for (std::int64_t j = 0; j < std::min(n, kShown); ++j) {
    const auto& pos = positions[j];
    report.paragraph("Sample " + std::to_string(position_sample[j]) + ", position " +
                     std::to_string(pos.position) + " ('" + pos.token + "', group " + pos.group +
                     "), answer '" + ref.tokenizer.token(pos.answer_id) + "'.");
    std::vector<std::vector<std::string>> rows;
    for (std::int64_t p = 0; p < num_points; ++p) {
      std::vector<std::string> top;
      for (std::int64_t t = 0; t < ids_all.size(2); ++t) {
        top.push_back(ref.tokenizer.token(ids_all[p][j][t].item<std::int64_t>()) + " (" +
                      format_number(topp_all[p][j][t].item<double>(), 3) + ")");
      }
      rows.push_back({point_label(p), join(top, ", "), format_number(prob_all[p][j].item<double>()),
                      std::to_string(rank_all[p][j].item<std::int64_t>()),
                      format_number(kl_all[p][j].item<double>())});
    }
    report.table({"layer", "top tokens", "answer p", "answer rank", "KL"}, rows);
  }
  if (n > kShown) {
    report.paragraph("Showing " + std::to_string(kShown) + " of " + std::to_string(n) +
                     " positions; result.json has all.");
  }
  report.write();
  return result;
}

nlohmann::json run_tuned_lens(const ModelRef& ref, const SampleSelection& selection,
                              const TunedLensOptions& options,
                              const std::filesystem::path& out_dir) {
  for (const auto& g : options.lens.positions) check_group(g);
  const bool train = options.load.empty();
  if (train) {
    CS_CHECK_AS(ConfigError, options.train_count >= 1, "tuned lens train_count must be >= 1");
    const bool same_split = parse_split(options.train_split) == parse_split(selection.split);
    const bool overlap = options.train_first < selection.first + selection.count &&
                         selection.first < options.train_first + options.train_count;
    CS_CHECK_AS(ConfigError, !(same_split && overlap),
                "the tuned lens would be evaluated on its "
                "training samples (",
                selection.split, " ", options.train_first, "..",
                options.train_first + options.train_count - 1, " overlaps ", selection.first, "..",
                selection.first + selection.count - 1, "); use another split or range");
  }
  const auto points = lens_points(ref.model);
  const auto num_points = static_cast<std::int64_t>(points.size());

  TunedLens lens;
  torch::Tensor loss;
  std::int64_t train_positions = 0;
  if (train) {
    SampleSelection train_selection = selection;
    train_selection.split = options.train_split;
    train_selection.first = options.train_first;
    train_selection.count = options.train_count;
    const auto train_samples = select_samples(ref, train_selection);
    const auto train_batches =
        prepare_batches(ref, train_samples, selection.batch_size, options.lens.target);
    auto trained = train_tuned_lens(ref.model, train_batches, options.training, ref.name);
    lens = std::move(trained.lens);
    loss = trained.loss;
    train_positions = trained.positions;
  } else {
    lens = TunedLens::load(options.load);
    lens.check_fits(ref.model);
  }
  std::filesystem::create_directories(out_dir);
  lens.save(out_dir / "tuned_lens.safetensors");

  const auto samples = select_samples(ref, selection);
  const auto batches = prepare_batches(ref, samples, selection.batch_size, options.lens.target);
  std::vector<torch::Tensor> logit_kl, tuned_kl;
  std::vector<torch::Tensor> logit_read_kl, tuned_read_kl, logit_read_p, tuned_read_p;
  for (const auto& examples : batches) {
    logit_kl.push_back(prompt_kl(ref.model, examples));
    tuned_kl.push_back(prompt_kl(ref.model, examples, &lens));
    const auto logit_readout = read_lens(ref.model, examples, options.lens);
    const auto tuned_readout = read_lens(ref.model, examples, options.lens, &lens);
    logit_read_kl.push_back(logit_readout.kl);
    tuned_read_kl.push_back(tuned_readout.kl);
    logit_read_p.push_back(logit_readout.answer_probability);
    tuned_read_p.push_back(tuned_readout.answer_probability);
  }
  const auto logit_all = torch::cat(logit_kl, 1);
  const auto tuned_all = torch::cat(tuned_kl, 1);
  const auto logit_mean = logit_all.mean(1);
  const auto tuned_mean = tuned_all.mean(1);
  auto readout_json = [](const std::vector<torch::Tensor>& kl,
                         const std::vector<torch::Tensor>& p) {
    const auto k = torch::cat(kl, 1);
    const auto q = torch::cat(p, 1);
    if (k.size(1) == 0) return nlohmann::json{{"positions", 0}};
    return nlohmann::json{{"positions", k.size(1)},
                          {"mean_kl", tensor_to_json(k.mean(1))},
                          {"mean_answer_probability", tensor_to_json(q.mean(1))}};
  };

  nlohmann::json result;
  result["method"] = "tuned_lens";
  result["model"] = ref.name;
  result["task"] = selection.task;
  result["split"] = selection.split;
  result["samples"] = sample_indices(samples);
  result["points"] = points;
  const auto total_loss =
      loss.defined() ? loss.sum(1) / std::max<std::int64_t>(1, num_points - 1) : torch::Tensor();
  result["train"] = {{"loaded", !train},
                     {"file", train ? "" : options.load.string()},
                     {"split", train ? options.train_split : ""},
                     {"first", train ? options.train_first : 0},
                     {"count", train ? options.train_count : 0},
                     {"positions", train_positions},
                     {"steps", train ? options.training.steps : 0},
                     {"learning_rate", options.training.learning_rate},
                     {"minibatch", options.training.minibatch},
                     {"final_loss", total_loss.defined() ? total_loss[-1].item<double>() : 0.0}};
  result["kl"] = {{"logit_lens", tensor_to_json(logit_mean)},
                  {"tuned_lens", tensor_to_json(tuned_mean)}};
  result["positions"] = logit_all.size(1);
  result["loss"] = total_loss.defined() ? tensor_to_json(total_loss) : nlohmann::json::array();
  result["readout"] = {{"groups", options.lens.positions},
                       {"logit_lens", readout_json(logit_read_kl, logit_read_p)},
                       {"tuned_lens", readout_json(tuned_read_kl, tuned_read_p)}};
  result["files"] = {{"translators", "tuned_lens.safetensors"},
                     {"tensors", "lens_kl.safetensors"},
                     {"report", "report.html"},
                     {"markdown", "report.md"}};
  std::map<std::string, torch::Tensor> tensors = {{"kl.logit_lens", logit_all},
                                                  {"kl.tuned_lens", tuned_all}};
  if (loss.defined()) tensors["loss"] = loss;
  write_tensors(out_dir, "lens_kl.safetensors", tensors, "tuned_lens");
  write_result(out_dir, result);

  Report report(out_dir, "Tuned lens: " + selection.task + " on " + ref.name);
  report.paragraph(train
                       ? "Affine translators (identity at the start) trained with Adam for " +
                             std::to_string(options.training.steps) + " steps on " +
                             std::to_string(train_positions) + " prompt positions of " +
                             std::to_string(options.train_count) + " " + options.train_split +
                             " samples, evaluated on " + std::to_string(logit_all.size(1)) +
                             " prompt positions of " + std::to_string(samples.size()) + " " +
                             selection.split + " samples."
                       : "Translators loaded from " + options.load.string() + ", evaluated on " +
                             std::to_string(logit_all.size(1)) + " prompt positions of " +
                             std::to_string(samples.size()) + " " + selection.split + " samples.");
  report.section("KL by layer");
  LinePlot kl_plot{"KL(final || lens) on held-out prompts",
                   "lens point (0 = embeddings)",
                   "mean KL (nats)",
                   {series("logit lens", logit_mean), series("tuned lens", tuned_mean)},
                   true};
  report.line_plot(kl_plot, "tuned_lens_kl.svg", "Held-out KL per layer, logit vs tuned lens.");
  std::vector<std::vector<std::string>> rows;
  for (std::int64_t p = 0; p < num_points; ++p) {
    rows.push_back({point_label(p), format_number(logit_mean[p].item<double>()),
                    format_number(tuned_mean[p].item<double>())});
  }
  report.table({"layer", "logit lens KL", "tuned lens KL"}, rows);
  if (total_loss.defined()) {
    report.section("Training");
    LinePlot loss_plot{"Tuned lens training loss",
                       "step",
                       "mean KL over trained layers",
                       {series("train", total_loss)},
                       true};
    report.line_plot(loss_plot, "tuned_lens_loss.svg", "Mean training KL per Adam step.");
  }
  report.write();
  return result;
}

}  // namespace clearsight::interp
