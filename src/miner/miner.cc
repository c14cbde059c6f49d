#include "clearsight/miner/miner.h"

#include <algorithm>
#include <cmath>

#include "clearsight/core/error.h"
#include "clearsight/core/safetensors.h"
#include "clearsight/core/strings.h"
#include "clearsight/nn/ablation.h"

namespace clearsight::miner {
namespace {

template <std::size_t N>
int index_of(const std::array<const char*, N>& names, const std::string& name, const char* kind) {
  for (std::size_t i = 0; i < N; ++i) {
    if (name == names[i]) return static_cast<int>(i);
  }
  const std::vector<std::string> all(names.begin(), names.end());
  const std::string hint = did_you_mean(name, all);
  CS_THROW(UnknownNameError, "unknown ", kind, " '", name, "'", hint.empty() ? "" : "; ", hint,
           " (known: ", join(all, ", "), ")");
}

std::string layer_hook(int layer, const char* suffix) {
  return "blocks." + std::to_string(layer) + "." + suffix;
}

std::vector<int> competing(const std::string& split, const torch::Tensor& present) {
  std::vector<int> groups;
  if (split == "default") {
    groups = {0, 1, 2, 3, 4};
  } else if (split == "special_text") {
    groups = {5, 2, 3, 4};
  } else if (split == "prompt") {
    groups = {6};
  } else {
    CS_THROW(UnknownNameError, "unknown modality split '", split,
             "' (default, special_text, prompt)");
  }
  std::vector<int> out;
  for (int g : groups) {
    if (present[g].item<bool>()) out.push_back(g);
  }
  CS_CHECK_AS(ConfigError, !out.empty(), "no modality of split '", split, "' occurs in the data");
  return out;
}

// Indices of the k largest entries of a 1-D tensor.
torch::Tensor top_indices(const torch::Tensor& values, std::int64_t k) {
  k = std::min<std::int64_t>(k, values.numel());
  if (k <= 0) return torch::empty({0}, torch::kInt64);
  return std::get<1>(values.topk(k));
}

}  // namespace

int modality_index(const std::string& name) { return index_of(kModalities, name, "modality"); }

int metric_index(const std::string& name) { return index_of(kMetrics, name, "importance metric"); }

torch::Tensor modality_masks(const torch::Tensor& ids, const mm::Tokenizer& tokenizer) {
  return modality_masks(ids, [&tokenizer](std::int64_t id) { return tokenizer.modality(id); });
}

torch::Tensor modality_masks(const torch::Tensor& ids,
                             const std::function<mm::Modality(std::int64_t)>& modality_of) {
  CS_CHECK_AS(ShapeError, ids.dim() == 1, "modality_masks expects the ids of one prompt [L]");
  const auto n = ids.size(0);
  auto masks = torch::zeros({kNumModalities, n}, torch::kBool);
  auto m = masks.accessor<bool, 2>();
  const auto ids_c = ids.to(torch::kInt64).contiguous();
  const auto* p = ids_c.data_ptr<std::int64_t>();
  for (std::int64_t i = 0; i < n; ++i) {
    const auto modality = modality_of(p[i]);
    const int g = static_cast<int>(modality);  // text, special, image, video, audio in order.
    m[g][i] = true;
    m[5][i] = modality == mm::Modality::kText || modality == mm::Modality::kSpecial;
    m[6][i] = true;
  }
  return masks;
}

nn::NameFilter score_hooks(bool faithful) {
  return [faithful](const std::string& name) {
    if (name.rfind("blocks.", 0) != 0) return false;  // The language model only.
    auto ends = [&name](const std::string& suffix) {
      return name.size() >= suffix.size() &&
             name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
    };
    return ends("mlp.hook_post") || ends("attn.hook_pattern") ||
           (faithful && (ends("attn.hook_q") || ends("attn.hook_k")));
  };
}

torch::Tensor min_max(const torch::Tensor& x) {
  const auto lo = std::get<0>(x.min(-1, /*keepdim=*/true));
  const auto hi = std::get<0>(x.max(-1, /*keepdim=*/true));
  const auto range = hi - lo;
  return torch::where(range > 0, (x - lo) / range.clamp_min(1e-300), torch::zeros_like(x));
}

namespace {

// Vectorisable row kernels in the cache's own precision (AVX2 clones where the CPU has it).
#define CS_ROW_KERNELS(T)                                                                       \
  /* prob, mean as sums and max as running maxima of one position's activations. */             \
  __attribute__((target_clones("avx2", "default"))) void add_stats(                             \
      const T* __restrict x, std::int64_t n, T* __restrict prob, T* __restrict mean,            \
      T* __restrict max) {                                                                      \
    for (std::int64_t k = 0; k < n; ++k) {                                                      \
      const T v = x[k];                                                                         \
      prob[k] += v > 0 ? T(1) : T(0);                                                           \
      mean[k] += v;                                                                             \
      max[k] = v > max[k] ? v : max[k];                                                         \
    }                                                                                           \
  }                                                                                             \
  /* Attention-weighted sums of one position's activations. */                                  \
  __attribute__((target_clones("avx2", "default"))) void add_weighted(                          \
      const T* __restrict x, std::int64_t n, T wk, T wq, T* __restrict attn_k,                  \
      T* __restrict attn_q) {                                                                   \
    for (std::int64_t k = 0; k < n; ++k) {                                                      \
      attn_k[k] += wk * x[k];                                                                   \
      attn_q[k] += wq * x[k];                                                                   \
    }                                                                                           \
  }                                                                                             \
  /* Merges the statistics of one position class into a group. */                               \
  __attribute__((target_clones("avx2", "default"))) void merge_stats(                           \
      const T* __restrict prob_in, const T* __restrict mean_in, const T* __restrict max_in,     \
      std::int64_t n, T* __restrict prob, T* __restrict mean, T* __restrict max) {              \
    for (std::int64_t k = 0; k < n; ++k) {                                                      \
      prob[k] += prob_in[k];                                                                    \
      mean[k] += mean_in[k];                                                                    \
      max[k] = max_in[k] > max[k] ? max_in[k] : max[k];                                         \
    }                                                                                           \
  }                                                                                             \
  /* Writes (or adds) scale * in, min-max normalised, to out (a constant row gives 0). */       \
  __attribute__((target_clones("avx2", "default"))) void normalise_row(                         \
      const T* __restrict in, std::int64_t n, double scale, bool add, double* __restrict out) { \
    constexpr int kLanes = 8;                                                                   \
    T lo[kLanes], hi[kLanes];                                                                   \
    for (int j = 0; j < kLanes; ++j) lo[j] = hi[j] = in[0];                                     \
    std::int64_t k = 0;                                                                         \
    for (; k + kLanes <= n; k += kLanes) {                                                      \
      for (int j = 0; j < kLanes; ++j) {                                                        \
        lo[j] = in[k + j] < lo[j] ? in[k + j] : lo[j];                                          \
        hi[j] = in[k + j] > hi[j] ? in[k + j] : hi[j];                                          \
      }                                                                                         \
    }                                                                                           \
    for (; k < n; ++k) {                                                                        \
      lo[0] = in[k] < lo[0] ? in[k] : lo[0];                                                    \
      hi[0] = in[k] > hi[0] ? in[k] : hi[0];                                                    \
    }                                                                                           \
    double low = lo[0], high = hi[0];                                                           \
    for (int j = 1; j < kLanes; ++j) {                                                          \
      low = std::min<double>(low, lo[j]);                                                       \
      high = std::max<double>(high, hi[j]);                                                     \
    }                                                                                           \
    /* scale > 0, so the extremes of scale * in are scale times the extremes of in. */          \
    const double range = (high - low) * scale;                                                  \
    if (!(range > 0)) {                                                                         \
      if (!add) std::fill(out, out + n, 0.0);                                                   \
      return;                                                                                   \
    }                                                                                           \
    const double gain = scale / range, offset = low * scale / range;                            \
    if (add) {                                                                                  \
      for (k = 0; k < n; ++k) out[k] += in[k] * gain - offset;                                  \
    } else {                                                                                    \
      for (k = 0; k < n; ++k) out[k] = in[k] * gain - offset;                                   \
    }                                                                                           \
  }                                                                                             \
  /* True when no entry is NaN or infinite (x * 0 is 0 exactly for finite x). */                \
  __attribute__((target_clones("avx2", "default"))) bool all_finite(const T* __restrict x,      \
                                                                    std::int64_t n) {           \
    constexpr int kLanes = 8;                                                                   \
    T probe[kLanes] = {};                                                                       \
    std::int64_t i = 0;                                                                         \
    for (; i + kLanes <= n; i += kLanes) {                                                      \
      for (int j = 0; j < kLanes; ++j) probe[j] += x[i + j] * T(0);                             \
    }                                                                                           \
    for (; i < n; ++i) probe[0] += x[i] * T(0);                                                 \
    T total = 0;                                                                                \
    for (T p : probe) total += p;                                                               \
    return total == T(0);                                                                       \
  }
CS_ROW_KERNELS(float)
CS_ROW_KERNELS(double)
#undef CS_ROW_KERNELS

// Stage 2 with the layer's causal attention, as plain loops over the cached activations. prob,
// mean and max are masked sums/maxima: positions with the same set of groups (a "class": e.g.
// {text, special_text, prompt}) are reduced once and the classes merged into their groups. The
// attention-weighted sums need each group's own weights: one pass per (position, group), and each
// position is in at most three groups. Torch ops would cost more in dispatch than the arithmetic
// at these sizes (docs/RESULTS.md).
// A sink gives each prompt's destination ([kNumMetrics, kNumModalities, layers, neurons] float64)
// through begin(b), says whether rows are added (accumulation; absent groups untouched) or
// written (absent groups as zeros), and hears end(b) after the prompt.
template <typename T, typename Sink>
void causal_scores(const std::vector<torch::Tensor>& xs, const std::vector<torch::Tensor>& as,
                   const torch::Tensor& masks, Sink& sink) {
  const auto layers = static_cast<std::int64_t>(xs.size());
  const auto batch = xs[0].size(0), length = xs[0].size(1), neurons = xs[0].size(2);
  const std::int64_t row = neurons, plane = layers * neurons, block = kNumModalities * plane;
  std::vector<double> head_mean(static_cast<std::size_t>(length * length));
  std::vector<double> wk(static_cast<std::size_t>(kNumModalities * length));
  std::vector<double> wq(wk.size());
  std::vector<T> scratch(static_cast<std::size_t>(kNumMetrics * kNumModalities * neurons));
  const auto* mask_base = masks.data_ptr<bool>();
  for (std::int64_t b = 0; b < batch; ++b) {
    const bool* mask = mask_base + b * kNumModalities * length;
    auto in = [&](int g, std::int64_t i) { return mask[g * length + i]; };
    // Groups of each position, position counts of each group, and the position classes.
    std::vector<std::array<int, kNumModalities>> groups(static_cast<std::size_t>(length));
    std::vector<int> n_groups(static_cast<std::size_t>(length), 0);
    std::vector<int> class_of(static_cast<std::size_t>(length), -1);
    std::vector<unsigned> class_bits;
    std::array<double, kNumModalities> count{};
    for (std::int64_t i = 0; i < length; ++i) {
      unsigned bits = 0;
      for (int g = 0; g < kNumModalities; ++g) {
        if (in(g, i)) {
          groups[i][n_groups[i]++] = g;
          count[g] += 1;
          bits |= 1u << g;
        }
      }
      if (bits == 0) continue;
      auto it = std::find(class_bits.begin(), class_bits.end(), bits);
      class_of[i] = static_cast<int>(it - class_bits.begin());
      if (it == class_bits.end()) class_bits.push_back(bits);
    }
    const auto classes = static_cast<std::int64_t>(class_bits.size());
    std::vector<T> class_stats(static_cast<std::size_t>(3 * classes * neurons));
    double* scores = sink.begin(b);
    const bool add = sink.accumulate;
    for (std::int64_t l = 0; l < layers; ++l) {
      const T* x = xs[l].data_ptr<T>() + b * length * neurons;
      const auto heads = as[l].size(1);
      const T* a = as[l].data_ptr<T>() + b * heads * length * length;
      std::fill(head_mean.begin(), head_mean.end(), 0.0);
      for (std::int64_t h = 0; h < heads; ++h) {
        const T* ah = a + h * length * length;
        for (std::int64_t k = 0; k < length * length; ++k) head_mean[k] += ah[k];
      }
      for (auto& v : head_mean) v /= static_cast<double>(heads);
      // Attention weights within each group's block: received by key j (wk), given by query i
      // (wq), normalised to sum 1 over the group (uniform when the block holds no attention).
      std::fill(wk.begin(), wk.end(), 0.0);
      std::fill(wq.begin(), wq.end(), 0.0);
      for (std::int64_t i = 0; i < length; ++i) {
        const double* arow = head_mean.data() + i * length;
        for (int t = 0; t < n_groups[i]; ++t) {
          const int g = groups[i][t];
          double given = 0.0;
          for (std::int64_t j = 0; j < length; ++j) {
            if (in(g, j)) {
              wk[g * length + j] += arow[j];
              given += arow[j];
            }
          }
          wq[g * length + i] = given;
        }
      }
      for (int g = 0; g < kNumModalities; ++g) {
        if (count[g] == 0) continue;
        for (double* w : {wk.data() + g * length, wq.data() + g * length}) {
          double total = 0.0;
          for (std::int64_t j = 0; j < length; ++j) total += w[j];
          for (std::int64_t j = 0; j < length; ++j) {
            w[j] = total > 0 ? w[j] / total : (in(g, j) ? 1.0 / count[g] : 0.0);
          }
        }
      }
      // Raw metrics in scratch buffers of the cache's precision.
      std::fill(scratch.begin(), scratch.end(), T(0));
      std::fill(class_stats.begin(), class_stats.end(), T(0));
      auto raw = [&](int m, int g) { return scratch.data() + (m * kNumModalities + g) * neurons; };
      auto stat = [&](std::int64_t c, int m) { return class_stats.data() + (3 * c + m) * neurons; };
      std::vector<bool> class_seen(static_cast<std::size_t>(classes), false);
      for (std::int64_t i = 0; i < length; ++i) {
        const int c = class_of[i];
        if (c < 0) continue;
        const T* xi = x + i * neurons;
        if (!class_seen[c]) {
          std::copy(xi, xi + neurons, stat(c, 2));
          class_seen[c] = true;
        }
        add_stats(xi, neurons, stat(c, 0), stat(c, 1), stat(c, 2));
        for (int t = 0; t < n_groups[i]; ++t) {
          const int g = groups[i][t];
          add_weighted(xi, neurons, static_cast<T>(wk[g * length + i]),
                       static_cast<T>(wq[g * length + i]), raw(3, g), raw(4, g));
        }
      }
      std::array<bool, kNumModalities> group_seen{};
      for (std::int64_t c = 0; c < classes; ++c) {
        for (int g = 0; g < kNumModalities; ++g) {
          if (!(class_bits[c] & (1u << g))) continue;
          if (!group_seen[g]) {
            std::copy(stat(c, 2), stat(c, 2) + neurons, raw(2, g));
            group_seen[g] = true;
          }
          merge_stats(stat(c, 0), stat(c, 1), stat(c, 2), neurons, raw(0, g), raw(1, g), raw(2, g));
        }
      }
      // Means, then min-max normalisation over neurons into the float64 scores.
      for (int g = 0; g < kNumModalities; ++g) {
        for (int m = 0; m < kNumMetrics; ++m) {
          double* dest = scores + m * block + g * plane + l * row;
          if (count[g] == 0) {
            if (!add) std::fill(dest, dest + neurons, 0.0);
            continue;
          }
          normalise_row(raw(m, g), neurons, m <= 1 ? 1.0 / count[g] : 1.0, add, dest);
        }
      }
    }
    sink.end(b);
  }
}

// The cache's tensors for causal scoring, checked and made dense in one precision.
struct CausalInputs {
  std::vector<torch::Tensor> xs, as;
  torch::Tensor masks;
  bool single = true;  // float32 (else float64).
  std::int64_t batch = 0, length = 0, neurons = 0;
};

CausalInputs causal_inputs(const nn::ActivationCache& cache, const torch::Tensor& masks,
                           int layers) {
  CausalInputs in;
  const auto first = cache[layer_hook(0, "mlp.hook_post")];
  CS_CHECK_AS(ShapeError, first.dim() == 3, "mlp.hook_post has shape ", first.sizes(),
              ", expected [B, L, N]");
  in.batch = first.size(0);
  in.length = first.size(1);
  in.neurons = first.size(2);
  CS_CHECK_AS(ShapeError,
              masks.dim() == 3 && masks.size(0) == in.batch && masks.size(1) == kNumModalities &&
                  masks.size(2) == in.length,
              "modality masks have shape ", masks.sizes(), ", expected [", in.batch, ", ",
              kNumModalities, ", ", in.length, "]");
  in.single = first.scalar_type() == torch::kFloat32;
  const auto dtype = in.single ? torch::kFloat32 : torch::kFloat64;
  for (int l = 0; l < layers; ++l) {
    const auto x = cache[layer_hook(l, "mlp.hook_post")];
    const auto p = cache[layer_hook(l, "attn.hook_pattern")];
    CS_CHECK_AS(ShapeError, x.sizes() == first.sizes(), "blocks.", l, ".mlp.hook_post has shape ",
                x.sizes(), ", expected ", first.sizes());
    CS_CHECK_AS(
        ShapeError,
        p.dim() == 4 && p.size(0) == in.batch && p.size(2) == in.length && p.size(3) == in.length,
        "blocks.", l, ".attn.hook_pattern has shape ", p.sizes(), ", expected [", in.batch, ", H, ",
        in.length, ", ", in.length, "]");
    in.xs.push_back(x.to(dtype).contiguous());
    in.as.push_back(p.to(dtype).contiguous());
  }
  in.masks = masks.to(torch::kBool).contiguous();
  return in;
}

template <typename Sink>
void run_causal(const CausalInputs& in, Sink& sink) {
  if (in.single) {
    causal_scores<float>(in.xs, in.as, in.masks, sink);
  } else {
    causal_scores<double>(in.xs, in.as, in.masks, sink);
  }
}

// True when prompt b's activations and attention are all finite (its scores then are too).
bool prompt_finite(const CausalInputs& in, std::int64_t b) {
  for (std::size_t l = 0; l < in.xs.size(); ++l) {
    for (const auto* t : {&in.xs[l], &in.as[l]}) {
      const auto per = t->numel() / in.batch;
      const bool ok = in.single ? all_finite(t->data_ptr<float>() + b * per, per)
                                : all_finite(t->data_ptr<double>() + b * per, per);
      if (!ok) return false;
    }
  }
  return true;
}

}  // namespace

std::vector<SampleScores> score_batch(const nn::ActivationCache& cache, const torch::Tensor& masks,
                                      int layers, const ScoreOptions& options) {
  torch::NoGradGuard no_grad;
  const auto first = cache[layer_hook(0, "mlp.hook_post")];
  CS_CHECK_AS(ShapeError, first.dim() == 3, "mlp.hook_post has shape ", first.sizes(),
              ", expected [B, L, N]");
  const auto batch = first.size(0);
  const auto length = first.size(1);
  const auto neurons = first.size(2);
  CS_CHECK_AS(ShapeError,
              masks.dim() == 3 && masks.size(0) == batch && masks.size(1) == kNumModalities &&
                  masks.size(2) == length,
              "modality masks have shape ", masks.sizes(), ", expected [", batch, ", ",
              kNumModalities, ", ", length, "]");
  std::vector<SampleScores> out(static_cast<std::size_t>(batch));
  for (std::int64_t b = 0; b < batch; ++b) out[b].present = masks[b].any(1);
  if (!options.faithful) {
    const auto in = causal_inputs(cache, masks, layers);
    for (std::int64_t b = 0; b < batch; ++b) {
      // Every row is written by causal_scores (absent groups as zeros).
      out[b].scores = torch::empty({kNumMetrics, kNumModalities, layers, neurons}, torch::kFloat64);
    }
    struct {
      std::vector<SampleScores>& out;
      const bool accumulate = false;
      double* begin(std::int64_t b) { return out[b].scores.data_ptr<double>(); }
      void end(std::int64_t) {}
    } sink{out};
    run_causal(in, sink);
    return out;
  }
  for (std::int64_t b = 0; b < batch; ++b) {
    auto& scores = out[b].scores;
    scores = torch::zeros({kNumMetrics, kNumModalities, layers, neurons}, torch::kFloat64);
    std::vector<torch::Tensor> positions(kNumModalities);
    for (int g = 0; g < kNumModalities; ++g) positions[g] = masks[b][g].nonzero().flatten();
    for (int l = 0; l < layers; ++l) {
      const auto x = cache[layer_hook(l, "mlp.hook_post")][b].to(torch::kFloat64);  // [L, N]
      const auto q = cache[layer_hook(l, "attn.hook_q")][b].to(torch::kFloat64);    // [H, L, D]
      const auto k = cache[layer_hook(l, "attn.hook_k")][b].to(torch::kFloat64);
      const auto logits = torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(double(q.size(-1)));
      const auto attention = torch::softmax(logits, -1).mean(0);  // No causal mask, as upstream.
      for (int g = 0; g < kNumModalities; ++g) {
        const auto& idx = positions[g];
        const auto count = idx.numel();
        if (count == 0) continue;
        const auto xm = x.index_select(0, idx);                                  // [M, N]
        const auto block = attention.index_select(0, idx).index_select(1, idx);  // [M, M]
        const auto ones = torch::ones({1, count}, torch::kFloat64);
        // The official code's second softmax, over queries (attn_k) or keys (attn_q).
        const auto attn_k =
            torch::matmul(ones, torch::matmul(torch::softmax(block, 0).t(), xm)).squeeze(0);
        const auto attn_q =
            torch::matmul(ones, torch::matmul(torch::softmax(block, 1), xm)).squeeze(0);
        const auto metrics = torch::stack({(xm > 0).to(torch::kFloat64).mean(0), xm.mean(0),
                                           std::get<0>(xm.max(0)), attn_k, attn_q});  // [5, N]
        scores.select(1, g).select(1, l).copy_(min_max(metrics));
      }
    }
  }
  return out;
}

SampleScores score_sample(const nn::ActivationCache& cache, const torch::Tensor& masks, int layers,
                          const ScoreOptions& options) {
  CS_CHECK_AS(ShapeError, masks.dim() == 2, "score_sample expects masks [", kNumModalities,
              ", L] of one prompt");
  CS_CHECK_AS(ShapeError, cache[layer_hook(0, "mlp.hook_post")].size(0) == 1,
              "score_sample scores one prompt; use score_batch for a batch");
  return score_batch(cache, masks.unsqueeze(0), layers, options).front();
}

ScoreAccumulator::ScoreAccumulator(std::string dataset, int layers, std::int64_t neurons)
    : dataset_(std::move(dataset)),
      sums_(torch::zeros({kNumMetrics, kNumModalities, layers, neurons}, torch::kFloat64)),
      counts_(torch::zeros({kNumModalities}, torch::kInt64)) {}

namespace {

// sums += in, vectorised.
__attribute__((target_clones("avx2", "default"))) void add_into(const double* __restrict in,
                                                                std::int64_t n,
                                                                double* __restrict sums) {
  for (std::int64_t i = 0; i < n; ++i) sums[i] += in[i];
}

}  // namespace

void ScoreAccumulator::add(const SampleScores& sample) {
  CS_CHECK_AS(ShapeError, sample.scores.sizes() == sums_.sizes(), "sample scores have shape ",
              sample.scores.sizes(), ", the accumulator ", sums_.sizes());
  // One pass in plain loops (this runs once per scored prompt): check, then add present groups.
  const auto scores = sample.scores.to(torch::kFloat64).contiguous();
  const auto present = sample.present.to(torch::kBool).contiguous();
  CS_CHECK_AS(ShapeError, present.numel() == kNumModalities, "sample presence has ",
              present.numel(), " entries, expected ", kNumModalities);
  const double* in = scores.data_ptr<double>();
  const auto n = scores.numel();
  CS_CHECK_AS(NumericError, all_finite(in, n), "sample scores contain NaN or infinite values");
  const bool* has = present.data_ptr<bool>();
  double* sums = sums_.data_ptr<double>();
  auto* counts = counts_.data_ptr<std::int64_t>();
  const std::int64_t per_group = n / (kNumMetrics * kNumModalities);
  for (int m = 0; m < kNumMetrics; ++m) {
    for (int g = 0; g < kNumModalities; ++g) {
      if (!has[g]) continue;
      const std::int64_t offset = (m * kNumModalities + g) * per_group;
      add_into(in + offset, per_group, sums + offset);
    }
  }
  for (int g = 0; g < kNumModalities; ++g) counts[g] += has[g] ? 1 : 0;
  count_sample();
}

void ScoreAccumulator::add_batch(const nn::ActivationCache& cache, const torch::Tensor& masks,
                                 int layers, const ScoreOptions& options) {
  if (options.faithful) {
    for (const auto& sample : score_batch(cache, masks, layers, options)) add(sample);
    return;
  }
  torch::NoGradGuard no_grad;
  const auto in = causal_inputs(cache, masks, layers);
  CS_CHECK_AS(ShapeError, layers == sums_.size(2) && in.neurons == sums_.size(3), "cache of ",
              layers, " layers x ", in.neurons, " neurons, the accumulator ", sums_.sizes());
  // Every prompt is checked before any is added, so a bad batch leaves the sums as they were.
  for (std::int64_t b = 0; b < in.batch; ++b) {
    CS_CHECK_AS(NumericError, prompt_finite(in, b), "prompt ", b,
                " of the batch has NaN or infinite activations or attention");
  }
  const auto present = in.masks.any(2).contiguous();  // [B, kNumModalities]
  struct {
    ScoreAccumulator& acc;
    const bool* present;
    const bool accumulate = true;
    double* begin(std::int64_t) { return acc.sums_.data_ptr<double>(); }
    void end(std::int64_t b) {
      auto* counts = acc.counts_.data_ptr<std::int64_t>();
      for (int g = 0; g < kNumModalities; ++g) counts[g] += present[b * kNumModalities + g];
      acc.count_sample();
    }
  } sink{*this, present.data_ptr<bool>()};
  run_causal(in, sink);
}

void ScoreAccumulator::count_sample() {
  ++samples_;
  if (std::find(kCheckpoints.begin(), kCheckpoints.end(), samples_) != kCheckpoints.end()) {
    snapshots_[samples_] = mean().to(torch::kFloat32);
  }
}

void ScoreAccumulator::merge(const ScoreAccumulator& other) {
  CS_CHECK_AS(ConfigError, other.dataset_ == dataset_, "cannot merge scores of dataset '",
              other.dataset_, "' into '", dataset_, "'");
  CS_CHECK_AS(ShapeError, other.sums_.sizes() == sums_.sizes(), "cannot merge scores of shape ",
              other.sums_.sizes(), " into ", sums_.sizes());
  sums_ += other.sums_;
  counts_ += other.counts_;
  samples_ += other.samples_;
  snapshots_.clear();  // Snapshots of shards do not combine into the merged run's snapshots.
}

torch::Tensor ScoreAccumulator::mean() const {
  return sums_ / counts_.to(torch::kFloat64).clamp_min(1).view({1, kNumModalities, 1, 1});
}

void ScoreAccumulator::save(const std::filesystem::path& path,
                            std::map<std::string, std::string> metadata) const {
  std::vector<std::pair<std::string, torch::Tensor>> tensors = {
      {"sums", sums_}, {"counts", counts_}, {"samples", torch::tensor({samples_})}};
  for (const auto& [n, snapshot] : snapshots_) {
    tensors.emplace_back("mean@" + std::to_string(n), snapshot);
  }
  metadata["kind"] = "miner_scores";
  metadata["dataset"] = dataset_;
  metadata["metrics"] = join(std::vector<std::string>(kMetrics.begin(), kMetrics.end()), ",");
  metadata["modalities"] =
      join(std::vector<std::string>(kModalities.begin(), kModalities.end()), ",");
  safetensors::save(path, tensors, metadata);
}

ScoreAccumulator ScoreAccumulator::load(const std::filesystem::path& path) {
  const auto file = safetensors::File::open(path);
  const auto& meta = file.metadata();
  CS_CHECK_AS(FormatError, meta.count("kind") && meta.at("kind") == "miner_scores", "'",
              path.string(), "' is not a MINER score file (metadata kind != miner_scores)");
  const auto sums = file.get("sums");
  CS_CHECK_AS(ShapeError,
              sums.dim() == 4 && sums.size(0) == kNumMetrics && sums.size(1) == kNumModalities &&
                  sums.scalar_type() == torch::kFloat64,
              "'", path.string(), "': sums must be float64 [", kNumMetrics, ", ", kNumModalities,
              ", layers, neurons], got ", sums.sizes());
  ScoreAccumulator out(meta.count("dataset") ? meta.at("dataset") : "",
                       static_cast<int>(sums.size(2)), sums.size(3));
  CS_CHECK_AS(NumericError, torch::isfinite(sums).all().item<bool>(), "'", path.string(),
              "': the score sums hold NaN or infinite values");
  out.sums_ = sums.contiguous().clone();  // Owned and dense: add() writes through raw pointers.
  out.counts_ = file.get("counts", std::vector<std::int64_t>{kNumModalities}).contiguous().clone();
  out.samples_ = file.get("samples", std::vector<std::int64_t>{1}).item<std::int64_t>();
  CS_CHECK_AS(FormatError,
              out.counts_.scalar_type() == torch::kInt64 && out.samples_ >= 0 &&
                  (out.counts_ >= 0).all().item<bool>() &&
                  (out.counts_ <= out.samples_).all().item<bool>(),
              "'", path.string(), "': inconsistent counts");
  for (const auto& name : file.names()) {
    if (name.rfind("mean@", 0) == 0) out.snapshots_[std::stoll(name.substr(5))] = file.get(name);
  }
  return out;
}

std::pair<torch::Tensor, torch::Tensor> combine_datasets(
    const std::vector<ScoreAccumulator>& datasets) {
  CS_CHECK_AS(ConfigError, !datasets.empty(), "no datasets to combine");
  const auto shape = datasets.front().mean().sizes().vec();
  auto total = torch::zeros(shape, torch::kFloat64);
  auto count = torch::zeros({kNumModalities}, torch::kFloat64);
  for (const auto& d : datasets) {
    CS_CHECK_AS(ShapeError, d.mean().sizes().vec() == shape, "dataset '", d.dataset(),
                "' has scores of another shape");
    const auto has = (d.counts() > 0).to(torch::kFloat64);
    total += d.mean() * has.view({1, kNumModalities, 1, 1});
    count += has;
  }
  return {total / count.clamp_min(1).view({1, kNumModalities, 1, 1}), count > 0};
}

std::vector<std::string> strategy_names() {
  return {"LA_MU", "adaptive", "LU_MA", "uniform", "random"};
}

Selection select_neurons(const torch::Tensor& scores, const torch::Tensor& present,
                         const SelectOptions& options) {
  CS_CHECK_AS(
      ShapeError,
      scores.dim() == 4 && scores.size(0) == kNumMetrics && scores.size(1) == kNumModalities,
      "scores must be [", kNumMetrics, ", ", kNumModalities, ", layers, neurons]");
  CS_CHECK_AS(ConfigError, options.ratio > 0 && options.ratio <= 1, "ratio must be in (0, 1]");
  double weight_sum = 0;
  for (const double w : options.weights) {
    CS_CHECK_AS(ConfigError, std::isfinite(w) && w >= 0,
                "metric weights must be finite and >= 0, got ", w);
    weight_sum += w;
  }
  CS_CHECK_AS(ConfigError, weight_sum > 0,
              "metric weights are all zero: no metric would rank the neurons");
  const auto strategies = strategy_names();
  if (std::find(strategies.begin(), strategies.end(), options.strategy) == strategies.end()) {
    const std::string hint = did_you_mean(options.strategy, strategies);
    CS_THROW(UnknownNameError, "unknown selection strategy '", options.strategy, "'",
             hint.empty() ? "" : "; ", hint, " (", join(strategies, ", "), ")");
  }
  const auto layers = scores.size(2);
  const auto neurons = scores.size(3);
  const auto k = static_cast<std::int64_t>(std::floor(options.ratio * layers * neurons));
  Selection out;
  out.options = options;
  if (options.strategy == "random") {
    out.modalities = {"random"};
    out.masks = torch::zeros({1, layers * neurons}, torch::kBool);
    auto generator = at::detail::createCPUGenerator(options.seed);
    const auto chosen = torch::randperm(layers * neurons, generator).narrow(0, 0, k);
    out.masks[0].index_fill_(0, chosen, true);
    out.masks = out.masks.view({1, layers, neurons});
    return out;
  }
  auto weights = torch::tensor(std::vector<double>(options.weights.begin(), options.weights.end()),
                               torch::kFloat64)
                     .view({kNumMetrics, 1, 1, 1});
  const auto fused = (scores.to(torch::kFloat64) * weights).sum(0);  // [modalities, L, N]
  const auto groups = competing(options.split, present);
  const auto m = static_cast<std::int64_t>(groups.size());
  for (int g : groups) out.modalities.emplace_back(kModalities[g]);
  out.masks = torch::zeros({m, layers, neurons}, torch::kBool);
  auto flat_masks = out.masks.view({m, layers * neurons});
  std::vector<torch::Tensor> per_group;
  for (int g : groups) per_group.push_back(fused[g]);
  const auto stacked = torch::stack(per_group);  // [M, L, N]
  if (options.strategy == "LA_MU") {
    for (std::int64_t i = 0; i < m; ++i) {
      flat_masks[i].index_fill_(0, top_indices(stacked[i].flatten(), k / m), true);
    }
  } else if (options.strategy == "adaptive") {
    const auto winners = top_indices(stacked.sum(0).flatten(), k);
    const auto owner = stacked.view({m, -1}).argmax(0).index_select(0, winners);
    for (std::int64_t j = 0; j < winners.numel(); ++j) {
      flat_masks[owner[j].item<std::int64_t>()][winners[j].item<std::int64_t>()] = true;
    }
  } else if (options.strategy == "LU_MA") {
    for (std::int64_t l = 0; l < layers; ++l) {
      const auto chosen = top_indices(stacked.select(1, l).flatten(), k / layers);
      for (std::int64_t j = 0; j < chosen.numel(); ++j) {
        const auto c = chosen[j].item<std::int64_t>();
        out.masks[c / neurons][l][c % neurons] = true;
      }
    }
  } else {  // uniform
    for (std::int64_t i = 0; i < m; ++i) {
      for (std::int64_t l = 0; l < layers; ++l) {
        out.masks[i][l].index_fill_(0, top_indices(stacked[i][l], k / (m * layers)), true);
      }
    }
  }
  return out;
}

torch::Tensor Selection::union_mask() const { return masks.any(0); }

torch::Tensor Selection::shared_mask() const { return masks.to(torch::kInt64).sum(0) >= 2; }

torch::Tensor Selection::mask(const std::string& modality) const {
  for (std::size_t i = 0; i < modalities.size(); ++i) {
    if (modalities[i] == modality) return masks[static_cast<std::int64_t>(i)];
  }
  CS_THROW(UnknownNameError, "the selection has no modality '", modality, "' (it has ",
           join(modalities, ", "), ")");
}

std::vector<std::string> Selection::neuron_names(const std::string& modality) const {
  const auto chosen = mask(modality).nonzero();
  std::vector<std::string> out;
  for (std::int64_t i = 0; i < chosen.size(0); ++i) {
    out.push_back(nn::NeuronRef{
        layer_hook(static_cast<int>(chosen[i][0].item<std::int64_t>()), "mlp.hook_post"),
        chosen[i][1].item<std::int64_t>()}
                      .to_string());
  }
  return out;
}

std::vector<nn::HookHandle> deactivate(nn::HookedModule& model, const Selection& selection,
                                       const DeactivateOptions& options) {
  CS_CHECK_AS(ConfigError,
              options.value == "zero" || options.value == "min" || options.value == "mean",
              "deactivation value '", options.value, "' is not one of zero, min, mean");
  torch::Tensor chosen = torch::zeros_like(selection.masks[0]);
  if (options.modalities.empty()) {
    chosen = selection.union_mask();
  } else {
    for (const auto& m : options.modalities) chosen = chosen.logical_or(selection.mask(m));
  }
  if (options.value == "mean") {
    CS_CHECK_AS(ShapeError, options.means.defined() && options.means.sizes() == chosen.sizes(),
                "deactivation to the mean needs per-neuron means of shape ", chosen.sizes());
  }
  // One ablation target per layer's MLP neurons (nn::ablate); complementary = every other one.
  std::vector<nn::AblationTarget> targets;
  for (std::int64_t l = 0; l < chosen.size(0); ++l) {
    nn::AblationTarget t;
    t.hook = layer_hook(static_cast<int>(l), "mlp.hook_post");
    t.units = chosen[l].to(torch::kBool);
    if (options.value == "mean") t.reference = options.means[l].to(torch::kFloat32);
    targets.push_back(std::move(t));
  }
  nn::AblationOptions ablation;
  ablation.value = options.value;
  ablation.complementary = options.complementary;
  ablation.positions = options.positions;
  return nn::ablate(model, targets, ablation);
}

Selection random_like(const Selection& selection, std::uint64_t seed) {
  const auto total = selection.union_mask().sum().item<std::int64_t>();
  const auto layers = selection.masks.size(1);
  const auto neurons = selection.masks.size(2);
  SelectOptions options = selection.options;
  options.strategy = "random";
  options.seed = seed;
  options.ratio = static_cast<double>(total) / static_cast<double>(layers * neurons) + 1e-12;
  auto scores = torch::zeros({kNumMetrics, kNumModalities, layers, neurons});
  return select_neurons(scores, torch::ones({kNumModalities}, torch::kBool), options);
}

}  // namespace clearsight::miner
