#include "clearsight/interp/probe.h"

#include <algorithm>
#include <numeric>
#include <set>

#include "clearsight/core/error.h"
#include "clearsight/core/progress.h"
#include "clearsight/core/rng.h"
#include "clearsight/core/strings.h"
#include "clearsight/interp/report.h"

namespace clearsight::interp {
namespace {

const std::vector<std::string> kModalityOrder = {"text", "special", "image", "video", "audio"};

// Fisher-Yates with a 64-bit engine (the tiny modulo bias is irrelevant here); unlike
// std::shuffle the result does not depend on the standard library.
template <typename T>
void shuffle_in_place(std::vector<T>& items, RngEngine& rng) {
  for (std::size_t k = items.size(); k > 1; --k) {
    const std::size_t j = static_cast<std::size_t>(rng() % k);
    std::swap(items[k - 1], items[j]);
  }
}

std::vector<std::int64_t> permutation(std::int64_t n, RngEngine& rng) {
  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  shuffle_in_place(order, rng);
  return order;
}

std::string with_hint(const std::string& hint) { return hint.empty() ? "" : "; " + hint; }

// The prompt positions of sample i kept under the cap: modalities take turns (canonical order),
// each giving its next position from a shuffled list, until the cap is reached.
std::vector<std::int64_t> choose_positions(const Examples& ex, std::int64_t i, std::int64_t cap,
                                           std::uint64_t seed) {
  const auto& prompt = ex.positions(i, "prompt");
  if (cap <= 0 || static_cast<std::int64_t>(prompt.size()) <= cap) return prompt;
  const auto& sample = ex.samples[static_cast<std::size_t>(i)];
  RngEngine rng(
      derive_seed(derive_seed(seed, sample.task), static_cast<std::uint64_t>(sample.index)));
  std::vector<std::vector<std::int64_t>> pools;
  for (const auto& m : kModalityOrder) {
    auto pool = ex.positions(i, m);
    if (pool.empty()) continue;
    shuffle_in_place(pool, rng);
    pools.push_back(std::move(pool));
  }
  std::vector<std::int64_t> out;
  for (std::size_t round = 0; static_cast<std::int64_t>(out.size()) < cap; ++round) {
    bool any = false;
    for (const auto& pool : pools) {
      if (round >= pool.size() || static_cast<std::int64_t>(out.size()) >= cap) continue;
      out.push_back(pool[round]);
      any = true;
    }
    if (!any) break;
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Samples first.. of a split passing the filters (question type, single-word answer), at most
// count; next receives the index after the last one scanned.
std::vector<mm::Sample> pick_samples(const mm::Task& task, mm::Split split, std::int64_t first,
                                     std::int64_t count, const std::string& question_type,
                                     bool single_word, std::int64_t& next) {
  CS_CHECK_AS(ConfigError, count >= 1, "probe: sample counts must be >= 1 (got ", count, ")");
  const auto n = task.split_size(split);
  std::vector<std::int64_t> chosen;
  std::set<std::string> types_seen;
  std::int64_t i = first;
  for (; i < n && static_cast<std::int64_t>(chosen.size()) < count; ++i) {
    const auto s = task.sample_text(split, i);
    types_seen.insert(s.question_type);
    if (!question_type.empty() && s.question_type != question_type) continue;
    if (single_word && (s.answer.empty() || s.answer.find(' ') != std::string::npos)) continue;
    chosen.push_back(i);
  }
  next = i;
  CS_CHECK_AS(ConfigError, !chosen.empty(), "probe: no ", mm::split_name(split), " sample of ",
              task.name(), " from index ", first, " matches",
              question_type.empty() ? "" : " question type '" + question_type + "'",
              single_word ? " with a single-word answer" : "", " (question types seen: ",
              join(std::vector<std::string>(types_seen.begin(), types_seen.end()), ", "), ")");
  task.prepare(split, chosen.back() + 1);
  std::vector<mm::Sample> out;
  out.reserve(chosen.size());
  for (auto k : chosen) out.push_back(task.sample(split, k));
  return out;
}

torch::Tensor class_ids(const std::vector<std::string>& labels,
                        const std::vector<std::string>& classes) {
  std::map<std::string, std::int64_t> index;
  for (std::size_t c = 0; c < classes.size(); ++c) index[classes[c]] = static_cast<std::int64_t>(c);
  std::vector<std::int64_t> ids;
  ids.reserve(labels.size());
  for (const auto& l : labels) ids.push_back(index.at(l));
  return torch::tensor(ids, torch::kInt64);
}

std::string x_label(const std::vector<std::string>& layers) {
  const bool standard = !layers.empty() && layers[0] == "hook_embed";
  return standard ? "layer (0 = hook_embed, l + 1 = blocks.l)" : "hook (order of the table)";
}

}  // namespace

// ---- Hook points and tasks --------------------------------------------------------------------

std::vector<std::string> resolve_hooks(const mm::MultimodalModel& model,
                                       const std::vector<std::string>& specs) {
  CS_CHECK_AS(ConfigError, !specs.empty(), "no hook points given");
  const auto layers = model.config().num_hidden_layers;
  std::vector<std::string> out;
  auto add = [&out](const std::string& name) {
    if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
  };
  for (const auto& spec : specs) {
    if (model.has_hook(spec)) {
      add(spec);
    } else if (model.has_hook("blocks.0." + spec)) {
      for (std::int64_t l = 0; l < layers; ++l) add("blocks." + std::to_string(l) + "." + spec);
    } else {
      std::vector<std::string> candidates = model.hook_names();
      const std::string prefix = "blocks.0.";
      for (const auto& name : model.hook_names()) {
        if (name.rfind(prefix, 0) == 0) candidates.push_back(name.substr(prefix.size()));
      }
      CS_THROW(UnknownNameError, "unknown hook point '", spec,
               "' (a hook name such as hook_embed or a per-block suffix such as hook_resid_post)",
               with_hint(did_you_mean(spec, candidates)));
    }
  }
  return out;
}

std::vector<std::string> default_layer_hooks() { return {"hook_embed", "hook_resid_post"}; }

std::vector<std::string> modality_tasks(const mm::MultimodalModel& model) {
  std::vector<std::string> out;
  for (const auto& name : mm::task_names()) {
    if (name == "scene_caption") continue;
    const auto task = mm::make_task(name);
    bool fits = true;
    for (const auto& m : task->modalities()) {
      fits = fits && (m == "audio" ? model.config().audio_config.enabled
                                   : model.config().vision_config.enabled);
    }
    if (fits) out.push_back(name);
  }
  return out;
}

// ---- Feature collection -----------------------------------------------------------------------

const torch::Tensor& Features::at(const std::string& hook) const {
  const auto it = std::find(hooks.begin(), hooks.end(), hook);
  CS_CHECK_AS(UnknownNameError, it != hooks.end(), "no features for hook '", hook,
              "' (collected: ", join(hooks, ", "), ")");
  return values[static_cast<std::size_t>(it - hooks.begin())];
}

Features collect_features(const ModelRef& ref, const std::vector<mm::Sample>& samples,
                          const FeatureOptions& options) {
  CS_CHECK_AS(ConfigError, !options.hooks.empty(), "collect_features: no hook points");
  CS_CHECK_AS(
      ConfigError,
      options.batch_size >= 1 && options.max_examples >= 1 && options.positions_per_prompt >= 0,
      "collect_features: batch_size and max_examples must be >= 1 and "
      "positions_per_prompt >= 0");
  for (const auto& hook : options.hooks) {
    CS_CHECK_AS(UnknownNameError, ref.model.has_hook(hook), "unknown hook point '", hook, "'",
                with_hint(did_you_mean(hook, ref.model.hook_names())));
  }
  if (!options.pool.empty()) {
    check_group(options.pool);
    CS_CHECK_AS(ConfigError, options.pool != "answer",
                "features pooled over the answer positions would show the answer to the probe");
  }
  torch::NoGradGuard no_grad;
  ref.model.eval();
  const std::set<std::string> wanted(options.hooks.begin(), options.hooks.end());
  const auto filter = [&wanted](const std::string& name) { return wanted.count(name) > 0; };
  Features out;
  out.hooks = options.hooks;
  std::vector<std::vector<torch::Tensor>> chunks(options.hooks.size());
  const auto n = static_cast<std::int64_t>(samples.size());
  ProgressOptions po;
  po.disable = !options.progress;
  po.unit = "prompts";
  ProgressBar bar(options.label, n, po);
  for (std::int64_t start = 0; start < n && out.rows() < options.max_examples;
       start += options.batch_size) {
    const auto end = std::min(n, start + options.batch_size);
    const std::vector<mm::Sample> batch(samples.begin() + start, samples.begin() + end);
    const Examples ex = prepare_examples(batch, ref.tokenizer, ref.model);
    auto [logits, cache] =
        ref.model.run_with_cache([&] { return forward_logits(ref.model, ex); }, filter);
    const auto length = ex.batch.inputs.input_ids.size(1);
    std::vector<torch::Tensor> acts;
    for (const auto& hook : options.hooks) {
      const auto& v = cache[hook];
      CS_CHECK_AS(ShapeError, v.dim() >= 3 && v.size(0) == ex.size() && v.size(1) == length,
                  "hook ", hook, " records activations of shape ", v.sizes(),
                  ", not [batch, positions, ...]: probes need a per-position hook");
      acts.push_back(v.reshape({v.size(0), v.size(1), -1}).to(torch::kCPU, torch::kFloat32));
    }
    for (std::int64_t i = 0; i < ex.size() && out.rows() < options.max_examples; ++i) {
      out.prompts = start + i + 1;
      std::vector<std::int64_t> positions;
      if (options.pool.empty()) {
        positions = choose_positions(ex, i, options.positions_per_prompt, options.seed);
        const auto room = options.max_examples - out.rows();
        if (static_cast<std::int64_t>(positions.size()) > room) positions.resize(room);
      } else {
        positions = ex.positions(i, options.pool);
      }
      if (positions.empty()) continue;
      const auto index = torch::tensor(positions, torch::kInt64);
      for (std::size_t h = 0; h < acts.size(); ++h) {
        auto rows = acts[h][i].index_select(0, index);
        if (!options.pool.empty()) rows = rows.mean(0, /*keepdim=*/true);
        chunks[h].push_back(rows);
      }
      if (options.pool.empty()) {
        for (auto p : positions) {
          out.modality.push_back(ex.modality[i][p]);
          out.sample.push_back(start + i);
          out.position.push_back(p);
        }
      } else {
        out.modality.push_back(options.pool);
        out.sample.push_back(start + i);
        out.position.push_back(-1);
      }
    }
    bar.advance(end - start);
  }
  bar.finish();
  for (std::size_t h = 0; h < chunks.size(); ++h) {
    out.values.push_back(chunks[h].empty() ? torch::zeros({0, 0}, torch::kFloat32)
                                           : torch::cat(chunks[h], 0).contiguous());
  }
  return out;
}

// ---- Probes ------------------------------------------------------------------------------------

torch::Tensor LinearProbe::logits(const torch::Tensor& x) const {
  const auto z = (x.to(torch::kCPU, torch::kFloat32) - mean) / scale;
  return torch::addmm(bias, z, weight.t());
}

torch::Tensor LinearProbe::predict(const torch::Tensor& x) const { return logits(x).argmax(1); }

double LinearProbe::accuracy(const torch::Tensor& x, const torch::Tensor& y) const {
  CS_CHECK_AS(ShapeError, x.dim() == 2 && y.dim() == 1 && x.size(0) == y.size(0),
              "probe accuracy needs x [n, d] and y [n], got ", x.sizes(), " and ", y.sizes());
  if (x.size(0) == 0) return 0.0;
  return predict(x).eq(y.to(torch::kCPU, torch::kInt64)).to(torch::kFloat64).mean().item<double>();
}

LinearProbe train_probe(const torch::Tensor& x, const torch::Tensor& y, std::int64_t classes,
                        const ProbeTrainOptions& options) {
  CS_CHECK_AS(ShapeError, x.dim() == 2 && y.dim() == 1 && x.size(0) == y.size(0) && x.size(0) >= 1,
              "train_probe needs x [n, d] and y [n] with n >= 1, got ", x.sizes(), " and ",
              y.sizes());
  CS_CHECK_AS(ConfigError,
              classes >= 1 && options.epochs >= 1 && options.batch_size >= 0 && options.lr > 0 &&
                  options.l2 >= 0,
              "train_probe: needs classes >= 1, epochs >= 1, batch_size >= 0, lr > 0, l2 >= 0");
  const auto labels = y.to(torch::kCPU, torch::kInt64).contiguous();
  CS_CHECK_AS(ConfigError,
              labels.min().item<std::int64_t>() >= 0 && labels.max().item<std::int64_t>() < classes,
              "train_probe: labels must lie in [0, ", classes, ")");
  torch::AutoGradMode grad_on(true);
  const auto features = x.to(torch::kCPU, torch::kFloat32).contiguous();
  LinearProbe probe;
  probe.mean = features.mean(0);
  const auto sd = features.std(0, /*unbiased=*/false);
  probe.scale = torch::where(sd > 1e-6, sd, torch::ones_like(sd));
  const auto z = ((features - probe.mean) / probe.scale).contiguous();
  const auto n = z.size(0);
  auto weight = torch::zeros({classes, z.size(1)}, torch::requires_grad());
  auto bias = torch::zeros({classes}, torch::requires_grad());
  torch::optim::Adam adam({weight, bias}, torch::optim::AdamOptions(options.lr));
  const auto batch = options.batch_size <= 0 ? n : std::min(options.batch_size, n);
  RngEngine rng(derive_seed(options.seed, "probe-batches"));
  for (std::int64_t epoch = 0; epoch < options.epochs; ++epoch) {
    torch::Tensor order;
    if (batch < n) order = torch::tensor(permutation(n, rng), torch::kInt64);
    for (std::int64_t begin = 0; begin < n; begin += batch) {
      const auto size = std::min(batch, n - begin);
      torch::Tensor zb = z, yb = labels;
      if (batch < n) {
        const auto idx = order.narrow(0, begin, size);
        zb = z.index_select(0, idx);
        yb = labels.index_select(0, idx);
      }
      adam.zero_grad();
      auto loss = torch::nn::functional::cross_entropy(torch::addmm(bias, zb, weight.t()), yb);
      if (options.l2 > 0) loss = loss + options.l2 * weight.pow(2).sum();
      loss.backward();
      adam.step();
    }
  }
  probe.weight = weight.detach().clone();
  probe.bias = bias.detach().clone();
  return probe;
}

torch::Tensor shuffled_labels(const torch::Tensor& y, std::uint64_t seed) {
  CS_CHECK_AS(ShapeError, y.dim() == 1, "shuffled_labels needs a 1-D tensor, got ", y.sizes());
  RngEngine rng(derive_seed(seed, "control-labels"));
  return y.index_select(0, torch::tensor(permutation(y.size(0), rng), torch::kInt64));
}

double majority_accuracy(const torch::Tensor& train_y, const torch::Tensor& test_y) {
  CS_CHECK_AS(ConfigError, train_y.numel() > 0 && test_y.numel() > 0,
              "majority_accuracy needs non-empty label sets");
  const auto majority = torch::bincount(train_y.to(torch::kInt64).flatten()).argmax();
  return test_y.to(torch::kInt64).eq(majority).to(torch::kFloat64).mean().item<double>();
}

// ---- The study ---------------------------------------------------------------------------------

const std::vector<std::string>& probe_labels() {
  static const std::vector<std::string> labels = {"modality", "answer"};
  return labels;
}

nlohmann::json ProbeResult::to_json() const {
  nlohmann::json j;
  j["layers"] = layers;
  j["classes"] = classes;
  j["tasks"] = tasks;
  j["accuracy"] = accuracy;
  j["control_accuracy"] = control_accuracy;
  j["selectivity"] = selectivity;
  j["chance"] = chance;
  j["train_accuracy"] = train_accuracy;
  j["class_accuracy"] = class_accuracy;
  j["counts"] = {{"train_prompts", train_prompts},   {"test_prompts", test_prompts},
                 {"train_examples", train_examples}, {"test_examples", test_examples},
                 {"train_per_class", train_counts},  {"test_per_class", test_counts}};
  return j;
}

ProbeResult probe_layers(const ModelRef& ref, const ProbeOptions& options) {
  const auto& labels = probe_labels();
  CS_CHECK_AS(UnknownNameError,
              std::find(labels.begin(), labels.end(), options.label) != labels.end(),
              "unknown probe label '", options.label, "' (labels: ", join(labels, ", "), ")",
              with_hint(did_you_mean(options.label, labels)));
  const bool answer = options.label == "answer";
  const auto hooks =
      resolve_hooks(ref.model, options.hooks.empty() ? default_layer_hooks() : options.hooks);
  const auto train_split = parse_split(options.train_split);
  const auto test_split = parse_split(options.test_split);
  ProbeResult result;
  result.layers = hooks;
  result.tasks = options.tasks;
  if (result.tasks.empty()) {
    if (!answer) {
      result.tasks = modality_tasks(ref.model);
    } else if (ref.model.config().vision_config.enabled) {
      result.tasks = {"scene_vqa"};
    } else if (ref.model.config().audio_config.enabled) {
      result.tasks = {"sound_event"};
    } else {
      result.tasks = {"text_choice"};
    }
  }
  // Samples of both splits; on one split the test samples follow the training ones.
  std::vector<mm::Sample> train_samples, test_samples;
  for (const auto& name : result.tasks) {
    const auto task = mm::make_task(name);
    check_task_fits(*task, ref.model);
    std::int64_t next = 0;
    auto tr = pick_samples(*task, train_split, 0, options.train_samples, options.question_type,
                           answer, next);
    auto te = pick_samples(*task, test_split, train_split == test_split ? next : 0,
                           options.test_samples, options.question_type, answer, next);
    train_samples.insert(train_samples.end(), tr.begin(), tr.end());
    test_samples.insert(test_samples.end(), te.begin(), te.end());
  }
  FeatureOptions fo;
  fo.hooks = hooks;
  fo.pool = answer ? options.pool : "";
  fo.positions_per_prompt = options.positions_per_prompt;
  fo.max_examples = options.max_examples;
  fo.batch_size = options.batch_size;
  fo.progress = options.progress;
  fo.seed = derive_seed(options.seed, "train-positions");
  fo.label = "probe features (" + options.train_split + ")";
  const auto train = collect_features(ref, train_samples, fo);
  fo.seed = derive_seed(options.seed, "test-positions");
  fo.label = "probe features (" + options.test_split + ")";
  const auto test = collect_features(ref, test_samples, fo);
  auto label_of = [&](const Features& f, const std::vector<mm::Sample>& samples) {
    std::vector<std::string> out;
    for (std::int64_t r = 0; r < f.rows(); ++r) {
      out.push_back(answer ? samples[static_cast<std::size_t>(f.sample[r])].answer : f.modality[r]);
    }
    return out;
  };
  const auto train_labels = label_of(train, train_samples);
  const auto test_labels = label_of(test, test_samples);
  CS_CHECK_AS(ConfigError, !train_labels.empty() && !test_labels.empty(),
              "probe: no examples collected (does every sample have '", options.pool,
              "' positions?)");
  std::set<std::string> seen(train_labels.begin(), train_labels.end());
  seen.insert(test_labels.begin(), test_labels.end());
  if (answer) {
    result.classes.assign(seen.begin(), seen.end());
  } else {
    for (const auto& m : kModalityOrder) {
      if (seen.count(m)) result.classes.push_back(m);
    }
  }
  CS_CHECK_AS(ConfigError, result.classes.size() >= 2, "probe: only one class (",
              result.classes.front(), ") among the labels: nothing to probe");
  const auto classes = static_cast<std::int64_t>(result.classes.size());
  const auto y_train = class_ids(train_labels, result.classes);
  const auto y_test = class_ids(test_labels, result.classes);
  const auto control_train = shuffled_labels(y_train, derive_seed(options.seed, "control-train"));
  const auto control_test = shuffled_labels(y_test, derive_seed(options.seed, "control-test"));
  const double chance = majority_accuracy(y_train, y_test);
  for (const auto& l : train_labels) ++result.train_counts[l];
  for (const auto& l : test_labels) ++result.test_counts[l];
  result.train_prompts = train.prompts;
  result.test_prompts = test.prompts;
  result.train_examples = train.rows();
  result.test_examples = test.rows();

  ProgressOptions po;
  po.disable = !options.progress;
  po.unit = "probes";
  ProgressBar bar("probe training", 2 * static_cast<std::int64_t>(hooks.size()), po);
  for (std::size_t h = 0; h < hooks.size(); ++h) {
    auto train_options = options.train;
    train_options.seed = derive_seed(options.seed, "probe-" + hooks[h]);
    auto probe = train_probe(train.values[h], y_train, classes, train_options);
    bar.advance();
    const auto control = train_probe(train.values[h], control_train, classes, train_options);
    bar.advance();
    const double acc = probe.accuracy(test.values[h], y_test);
    const double control_acc = control.accuracy(test.values[h], control_test);
    bar.set_postfix(hooks[h] + " acc " + format_number(acc, 3));
    result.accuracy.push_back(acc);
    result.control_accuracy.push_back(control_acc);
    result.selectivity.push_back(acc - control_acc);
    result.chance.push_back(chance);
    result.train_accuracy.push_back(probe.accuracy(train.values[h], y_train));
    const auto predicted = probe.predict(test.values[h]);
    for (std::int64_t c = 0; c < classes; ++c) {
      const auto mask = y_test.eq(c);
      const auto total = mask.sum().item<std::int64_t>();
      const double recall = total == 0 ? 0.0
                                       : predicted.masked_select(mask).eq(c).sum().item<double>() /
                                             static_cast<double>(total);
      result.class_accuracy[result.classes[static_cast<std::size_t>(c)]].push_back(recall);
    }
    result.probes.push_back(std::move(probe));
  }
  bar.finish();
  return result;
}

nlohmann::json run_probe(const ModelRef& ref, const ProbeOptions& options,
                         const std::filesystem::path& out_dir) {
  const auto result = probe_layers(ref, options);
  const bool answer = options.label == "answer";
  nlohmann::json j = {{"method", "probe"},
                      {"model", ref.name},
                      {"label", options.label},
                      {"question_type", options.question_type},
                      {"pool", answer ? options.pool : ""},
                      {"train_split", options.train_split},
                      {"test_split", options.test_split}};
  j["options"] = {{"hooks", options.hooks.empty() ? default_layer_hooks() : options.hooks},
                  {"train_samples", options.train_samples},
                  {"test_samples", options.test_samples},
                  {"positions_per_prompt", options.positions_per_prompt},
                  {"max_examples", options.max_examples},
                  {"epochs", options.train.epochs},
                  {"batch_size", options.train.batch_size},
                  {"lr", options.train.lr},
                  {"l2", options.train.l2},
                  {"seed", options.seed}};
  j.update(result.to_json());
  write_result(out_dir, j);
  std::map<std::string, torch::Tensor> tensors;
  for (std::size_t h = 0; h < result.layers.size(); ++h) {
    const auto& p = result.probes[h];
    tensors[result.layers[h] + ".weight"] = p.weight;
    tensors[result.layers[h] + ".bias"] = p.bias;
    tensors[result.layers[h] + ".mean"] = p.mean;
    tensors[result.layers[h] + ".scale"] = p.scale;
  }
  write_tensors(out_dir, "probes.safetensors", tensors, "linear_probe");

  Report report(out_dir, "Linear probes: " + options.label + " on " + ref.name);
  report.section("Setup");
  std::string what =
      answer ? "the answer word of each sample, from features pooled at '" + options.pool + "'"
             : "the modality of each prompt position";
  report.paragraph(
      "Multinomial logistic probes predict " + what + " (" + std::to_string(result.classes.size()) +
      " classes: " + join(result.classes, ", ") + ") from the hidden state at each hook point. " +
      "Tasks: " + join(result.tasks, ", ") +
      (options.question_type.empty() ? "" : " (question type " + options.question_type + ")") +
      ". Trained on " + std::to_string(result.train_examples) + " rows from " +
      std::to_string(result.train_prompts) + " " + options.train_split + " prompts, tested on " +
      std::to_string(result.test_examples) + " rows from " + std::to_string(result.test_prompts) +
      " unseen " + options.test_split + " prompts. Features are standardised with training " +
      "statistics; Adam (lr " + format_number(options.train.lr) + ", " +
      std::to_string(options.train.epochs) + " epochs, " +
      (options.train.batch_size > 0 ? "batch " + std::to_string(options.train.batch_size)
                                    : std::string("full batch")) +
      ", L2 " + format_number(options.train.l2) + ").");
  report.paragraph(
      "Control task: the same probe trained and tested on labels shuffled by a fixed permutation "
      "per split (same class shares, no relation to the features); selectivity = accuracy - "
      "control accuracy (Hewitt & Liang 2019). Chance = always answering the training majority "
      "class.");
  report.section("Accuracy by layer");
  LinePlot plot;
  plot.title = "Probe accuracy (" + options.label + ")";
  plot.xlabel = x_label(result.layers);
  plot.ylabel = "held-out accuracy";
  PlotSeries acc{"probe", {}}, control{"control (shuffled labels)", {}}, chance{"chance", {}};
  for (std::size_t h = 0; h < result.layers.size(); ++h) {
    const auto x = static_cast<double>(h);
    acc.points.emplace_back(x, result.accuracy[h]);
    control.points.emplace_back(x, result.control_accuracy[h]);
    chance.points.emplace_back(x, result.chance[h]);
  }
  plot.series = {acc, control, chance};
  report.line_plot(plot, "probe_accuracy.svg",
                   "Held-out probe accuracy by layer, with the control task and chance.");
  std::vector<std::vector<std::string>> rows;
  for (std::size_t h = 0; h < result.layers.size(); ++h) {
    rows.push_back({result.layers[h], format_number(result.accuracy[h]),
                    format_number(result.control_accuracy[h]), format_number(result.selectivity[h]),
                    format_number(result.chance[h]), format_number(result.train_accuracy[h])});
  }
  report.table({"layer", "accuracy", "control", "selectivity", "chance", "train accuracy"}, rows);
  report.section("Classes");
  std::vector<std::string> header = {"class", "train rows", "test rows"};
  for (const auto& layer : result.layers) header.push_back(layer);
  rows.clear();
  for (const auto& c : result.classes) {
    std::vector<std::string> row = {
        c, std::to_string(result.train_counts.count(c) ? result.train_counts.at(c) : 0),
        std::to_string(result.test_counts.count(c) ? result.test_counts.at(c) : 0)};
    for (double r : result.class_accuracy.at(c)) row.push_back(format_number(r, 3));
    rows.push_back(std::move(row));
  }
  report.paragraph("Held-out accuracy (recall) of each class by layer.");
  report.table(header, rows);
  report.write();
  return j;
}

}  // namespace clearsight::interp
