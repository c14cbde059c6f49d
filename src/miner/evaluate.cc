#include "clearsight/miner/evaluate.h"

#include <algorithm>

#include "clearsight/core/error.h"
#include "clearsight/core/strings.h"
#include "clearsight/miner/pipeline.h"
#include "clearsight/miner/study.h"
#include "clearsight/mm/data.h"
#include "clearsight/mm/tasks.h"
#include "clearsight/mm/trainer.h"

namespace clearsight::miner {

namespace {

// The token modalities named (text, special, image, video, audio); throws UnknownNameError.
std::vector<mm::Modality> token_modalities(const std::vector<std::string>& names) {
  const std::vector<mm::Modality> all = {mm::Modality::kText, mm::Modality::kSpecial,
                                         mm::Modality::kImage, mm::Modality::kVideo,
                                         mm::Modality::kAudio};
  std::vector<std::string> all_names;
  for (const auto m : all) all_names.push_back(mm::modality_name(m));
  std::vector<mm::Modality> out;
  for (const auto& name : names) {
    const auto it = std::find(all_names.begin(), all_names.end(), name);
    CS_CHECK_AS(UnknownNameError, it != all_names.end(), "unknown position modality '", name,
                "' (modalities: ", join(all_names, ", "), ")", did_you_mean(name, all_names));
    out.push_back(all[static_cast<std::size_t>(it - all_names.begin())]);
  }
  return out;
}

// Per-neuron means [layers, neurons] of mlp.hook_post over the real positions of `samples`
// train samples of each task.
torch::Tensor neuron_means(mm::MultimodalModel& model, const mm::Tokenizer& tokenizer,
                           const std::vector<std::string>& tasks, std::int64_t samples) {
  torch::NoGradGuard no_grad;
  const auto layers = model.config().num_hidden_layers;
  auto sums = torch::zeros({layers, model.neurons_per_layer()}, torch::kFloat64);
  double count = 0;
  auto mask = std::make_shared<torch::Tensor>();
  std::vector<nn::HookHandle> handles;
  for (std::int64_t l = 0; l < layers; ++l) {
    handles.push_back(model.add_hook(
        "blocks." + std::to_string(l) + ".mlp.hook_post",
        [&sums, mask, l](const torch::Tensor& x,
                         const std::string&) -> std::optional<torch::Tensor> {
          const auto real = mask->defined()
                                ? mask->to(torch::kFloat64).unsqueeze(-1)
                                : torch::ones({x.size(0), x.size(1), 1}, torch::kFloat64);
          sums[l] += (x.to(torch::kFloat64) * real).sum(std::vector<std::int64_t>{0, 1});
          return std::nullopt;
        }));
  }
  for (const auto& name : tasks) {
    const auto task = mm::make_task(name);
    const auto n = std::min(samples, task->split_size(mm::Split::kTrain));
    for (std::int64_t first = 0; first < n; first += 16) {
      std::vector<mm::Sample> batch_samples;
      for (std::int64_t i = first; i < std::min(n, first + 16); ++i) {
        batch_samples.push_back(task->sample(mm::Split::kTrain, i));
      }
      const auto batch = mm::collate(batch_samples, tokenizer, model.media_tokens(),
                                     model.config().audio_config.max_samples, false);
      *mask = batch.inputs.attention_mask;
      count += mask->defined() ? mask->sum().item<double>()
                               : static_cast<double>(batch.inputs.input_ids.numel());
      model.forward(batch.inputs);
    }
  }
  CS_CHECK_AS(ConfigError, count > 0, "no train samples to measure the neurons' means on");
  return (sums / count).to(torch::kFloat32);
}

}  // namespace

torch::Tensor chosen_neurons(const Selection& selection,
                             const std::vector<std::string>& modalities) {
  if (modalities.empty()) return selection.union_mask();
  auto chosen = torch::zeros_like(selection.masks[0]);
  for (const auto& m : modalities) chosen = chosen.logical_or(selection.mask(m));
  return chosen;
}

nlohmann::json evaluate_selection(mm::MultimodalModel& model, const mm::Tokenizer& tokenizer,
                                  const Selection& selection, const SelectionEvalOptions& options) {
  CS_CHECK_AS(ConfigError, options.samples >= 1, "--samples must be >= 1, got ", options.samples);
  CS_CHECK_AS(ConfigError, options.random_seeds >= 0, "--random-seeds must be >= 0, got ",
              options.random_seeds);
  CS_CHECK_AS(ConfigError, options.split == "test" || options.split == "validation",
              "--split must be test or validation (the selection was scored on validation; test "
              "is held out), got '",
              options.split, "'");
  CS_CHECK_AS(UnknownNameError,
              options.value == "zero" || options.value == "min" || options.value == "mean",
              "unknown deactivation value '", options.value, "' (values: zero, min, mean)");
  const auto layers = model.config().num_hidden_layers;
  const auto neurons = model.neurons_per_layer();
  CS_CHECK_AS(ShapeError,
              selection.masks.dim() == 3 && selection.masks.size(1) == layers &&
                  selection.masks.size(2) == neurons,
              "the selection holds masks ", selection.masks.sizes(), " ([modalities, layers, ",
              "neurons]); this model has ", layers, " layers x ", neurons, " neurons");
  auto tasks = options.tasks;
  if (tasks.empty()) {
    tasks = mm::preset_tasks(model.config().vision_config.enabled ? "cs-tiny-vl" : "cs-tiny-audio");
  }
  for (const auto& t : tasks) mm::make_task(t);  // unknown names fail before any work
  const auto kinds = token_modalities(options.positions);

  // The chosen neurons as a one-modality selection, so the random controls match its size.
  Selection chosen;
  chosen.modalities = {"chosen"};
  chosen.masks = chosen_neurons(selection, options.modalities).unsqueeze(0);
  chosen.options = selection.options;
  DeactivateOptions deact;
  deact.value = options.value;
  deact.complementary = options.complementary;
  if (options.value == "mean") deact.means = neuron_means(model, tokenizer, tasks, 64);

  mm::EvalOptions eval;
  eval.split = options.split == "test" ? mm::Split::kTest : mm::Split::kValidation;
  eval.samples = options.samples;
  eval.batch_size = options.batch_size;
  eval.progress = options.progress;
  if (!options.positions.empty()) {
    // Before each batch, the left-padded layout generate() prefills, true at the chosen
    // modalities' tokens; the ablation hooks read it for the prefill pass only.
    deact.positions = std::make_shared<torch::Tensor>();
    eval.before_generate = [positions = deact.positions, kinds,
                            &tokenizer](const std::vector<std::vector<std::int64_t>>& prompts) {
      std::int64_t longest = 0;
      for (const auto& p : prompts) longest = std::max<std::int64_t>(longest, p.size());
      auto mask = torch::zeros({static_cast<std::int64_t>(prompts.size()), longest}, torch::kBool);
      auto* m = mask.data_ptr<bool>();
      for (std::size_t i = 0; i < prompts.size(); ++i) {
        const auto n = static_cast<std::int64_t>(prompts[i].size());
        for (std::int64_t j = 0; j < n; ++j) {
          const auto kind = tokenizer.modality(prompts[i][static_cast<std::size_t>(j)]);
          if (std::find(kinds.begin(), kinds.end(), kind) != kinds.end())
            m[static_cast<std::int64_t>(i) * longest + longest - n + j] = true;
        }
      }
      *positions = mask;
    };
  }
  const auto original =
      evaluate_condition(model, tokenizer, tasks, eval, "original", nullptr, deact);
  const auto ablated =
      evaluate_condition(model, tokenizer, tasks, eval, "selection", &chosen, deact);
  std::vector<ConditionScores> randoms;
  nlohmann::json random_json = nlohmann::json::array();
  for (int s = 0; s < options.random_seeds; ++s) {
    const auto random = random_like(chosen, options.seed + 1000 + static_cast<std::uint64_t>(s));
    randoms.push_back(evaluate_condition(model, tokenizer, tasks, eval, "random", &random, deact));
    random_json.push_back(randoms.back().scores);
  }
  const auto table = deactivation_table(original, ablated, randoms, tasks);
  nlohmann::json per_task = nlohmann::json::object();
  for (const auto& row : table.rows) {
    per_task[row.task] = {{"original", row.original},
                          {"ablated", row.miner},
                          {"relative_drop", row.relative_drop_miner}};
    if (options.random_seeds > 0) {
      per_task[row.task]["random_mean"] = row.random_mean;
      per_task[row.task]["random_sd"] = row.random_sd;
      per_task[row.task]["relative_drop_random"] = row.relative_drop_random;
    }
  }
  const auto count = chosen.masks.sum().item<std::int64_t>();
  const auto ablated_count = options.complementary ? layers * neurons - count : count;
  nlohmann::json out = {
      {"tasks", per_task},
      {"mean_relative_drop", table.mean_relative_drop_miner},
      {"mean_relative_drop_random", options.random_seeds > 0
                                        ? nlohmann::json(table.mean_relative_drop_random)
                                        : nlohmann::json(nullptr)},
      {"neurons", count},
      {"ablated_neurons", ablated_count},
      {"ablated_fraction",
       static_cast<double>(ablated_count) / static_cast<double>(layers * neurons)},
      {"modalities", options.modalities.empty() ? selection.modalities : options.modalities},
      {"complementary", options.complementary},
      {"positions", options.positions},
      {"value", options.value},
      {"split", options.split},
      {"samples", options.samples},
      {"random_seeds", options.random_seeds},
      {"random", random_json}};
  return out;
}

}  // namespace clearsight::miner
