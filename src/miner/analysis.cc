#include "clearsight/miner/analysis.h"

#include "clearsight/core/error.h"
#include "clearsight/mm/data.h"

namespace clearsight::miner {

double linear_cka(const torch::Tensor& x, const torch::Tensor& y) {
  CS_CHECK_AS(ShapeError, x.dim() == 2 && y.dim() == 2 && x.size(0) == y.size(0) && x.size(0) >= 2,
              "linear CKA needs paired [n, d] matrices with n >= 2, got ", x.sizes(), " and ",
              y.sizes());
  const auto xc = x.to(torch::kFloat64) - x.to(torch::kFloat64).mean(0, true);
  const auto yc = y.to(torch::kFloat64) - y.to(torch::kFloat64).mean(0, true);
  const double cross = torch::matmul(yc.t(), xc).pow(2).sum().item<double>();
  const double xx = torch::matmul(xc.t(), xc).pow(2).sum().item<double>();
  const double yy = torch::matmul(yc.t(), yc).pow(2).sum().item<double>();
  return xx > 0 && yy > 0 ? cross / std::sqrt(xx * yy) : 0.0;
}

LayerShares layer_shares(const Selection& selection) {
  LayerShares out;
  out.modalities = selection.modalities;
  const auto per_layer = selection.masks.to(torch::kFloat64).sum(2);  // [M, L]
  out.share = per_layer / per_layer.sum(1, true).clamp_min(1);
  out.shared = selection.shared_mask().sum(1);
  return out;
}

FlowAndSimilarity measure_flow(mm::MultimodalModel& model, const mm::Tokenizer& tokenizer,
                               const std::vector<std::string>& tasks, mm::Split split,
                               std::int64_t samples) {
  torch::NoGradGuard no_grad;
  model.eval();
  const int layers = static_cast<int>(model.config().num_hidden_layers);
  constexpr int kBase = 5;  // text, special, image, video, audio
  auto flow_sum = torch::zeros({kBase, layers}, torch::kFloat64);
  auto flow_count = torch::zeros({kBase}, torch::kFloat64);
  // Per modality, per layer, the list of per-prompt mean hidden states (with prompt ids).
  std::vector<std::vector<std::vector<torch::Tensor>>> means(
      kBase, std::vector<std::vector<torch::Tensor>>(layers));
  std::vector<std::vector<std::int64_t>> owners(kBase);
  std::int64_t prompt = 0;
  auto filter = [](const std::string& name) {
    return name.rfind("blocks.", 0) == 0 && (name.find("attn.hook_pattern") != std::string::npos ||
                                             name.find("hook_resid_post") != std::string::npos);
  };
  for (const auto& name : tasks) {
    const auto task = mm::make_task(name);
    const auto n = std::min(samples, task->split_size(split));
    for (std::int64_t i = 0; i < n; ++i, ++prompt) {
      const auto batch = mm::collate({task->sample(split, i)}, tokenizer, model.media_tokens(),
                                     model.config().audio_config.max_samples, false);
      auto [logits, cache] =
          model.run_with_cache([&] { return model.forward(batch.inputs); }, filter);
      const auto masks = modality_masks(batch.inputs.input_ids[0], tokenizer);
      for (int m = 0; m < kBase; ++m) {
        const auto idx = masks[m].nonzero().flatten();
        if (idx.numel() == 0) continue;
        flow_count[m] += 1;
        owners[m].push_back(prompt);
        for (int l = 0; l < layers; ++l) {
          const auto pattern =
              cache["blocks." + std::to_string(l) + ".attn.hook_pattern"][0].mean(0);  // [L, L]
          flow_sum[m][l] += pattern[-1].index_select(0, idx).sum().item<double>();
          means[m][l].push_back(cache["blocks." + std::to_string(l) + ".hook_resid_post"][0]
                                    .index_select(0, idx)
                                    .mean(0)
                                    .to(torch::kFloat64));
        }
      }
    }
  }
  FlowAndSimilarity out;
  out.prompts = prompt;
  std::vector<int> kept;
  for (int m = 0; m < kBase; ++m) {
    if (flow_count[m].item<double>() > 0) kept.push_back(m);
  }
  out.last_token_flow =
      torch::zeros({static_cast<std::int64_t>(kept.size()), layers}, torch::kFloat64);
  for (std::size_t k = 0; k < kept.size(); ++k) {
    out.modalities.emplace_back(kModalities[kept[k]]);
    out.last_token_flow[static_cast<std::int64_t>(k)] = flow_sum[kept[k]] / flow_count[kept[k]];
  }
  // Similarity of text with every other modality, over prompts that contain both.
  const int text = 0;
  for (int m : kept) {
    if (m == text) continue;
    std::vector<std::int64_t> pos_text, pos_other;
    for (std::size_t a = 0; a < owners[text].size(); ++a) {
      for (std::size_t b = 0; b < owners[m].size(); ++b) {
        if (owners[text][a] == owners[m][b]) {
          pos_text.push_back(static_cast<std::int64_t>(a));
          pos_other.push_back(static_cast<std::int64_t>(b));
        }
      }
    }
    if (pos_text.size() < 2) continue;
    const std::string key = std::string("text~") + kModalities[m];
    auto cka = torch::zeros({layers}, torch::kFloat64);
    auto cosine = torch::zeros({layers}, torch::kFloat64);
    for (int l = 0; l < layers; ++l) {
      std::vector<torch::Tensor> xt, xo;
      for (std::size_t j = 0; j < pos_text.size(); ++j) {
        xt.push_back(means[text][l][pos_text[j]]);
        xo.push_back(means[m][l][pos_other[j]]);
      }
      const auto x = torch::stack(xt), y = torch::stack(xo);
      cka[l] = linear_cka(x, y);
      cosine[l] = torch::cosine_similarity(x, y, 1).mean().item<double>();
    }
    out.cka[key] = cka;
    out.cosine[key] = cosine;
  }
  return out;
}

}  // namespace clearsight::miner
