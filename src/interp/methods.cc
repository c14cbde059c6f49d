#include "clearsight/interp/methods.h"

#include "clearsight/core/error.h"
#include "clearsight/core/strings.h"

namespace clearsight::interp {

const std::vector<MethodInfo>& explain_methods() {
  static const std::vector<MethodInfo> methods = {
      {"saliency", "token",
       "Gradient magnitude of the answer on every input, per token/patch/frame"},
      {"input-x-gradient", "token", "Input x gradient on every input, per token/patch/frame"},
      {"ig", "token", "Integrated gradients with a chosen baseline and rule, with completeness"},
      {"occlusion", "token", "Sliding-window occlusion of patches, frames, audio windows, words"},
      {"ablation", "token", "Feature ablation of position groups (image, question, system, ...)"},
      {"shapley", "token", "Exact Shapley values with the modalities as players"},
      {"attention", "layer", "Attention maps per layer and head, modality-to-modality mass"},
      {"rollout", "layer", "Attention rollout to the last token"},
      {"knockout", "layer", "Information flow by attention knockout over a sliding layer window"},
      {"logit-lens", "layer", "Logit lens at any position, top-k tokens and KL per layer"},
      {"tuned-lens", "layer", "Train per-layer affine translators; KL against the logit lens"},
      {"probe", "embedding", "Linear probes per layer with a shuffled-label control"},
      {"geometry", "embedding", "CKA, centred cosine, kNN modality purity and PCA per layer"},
      {"patch", "layer",
       "Activation and attribution patching of the residual stream, attention, MLP, heads"},
      {"steer", "layer",
       "Contrastive steering vectors (mean difference or PCA) added while generating"},
      {"findings", "layer", "MINER's open findings: convergence, semantic probing, telomeres"},
  };
  return methods;
}

const MethodInfo& find_method(const std::string& name) {
  std::vector<std::string> names;
  for (const auto& m : explain_methods()) {
    if (m.name == name) return m;
    names.push_back(m.name);
  }
  CS_THROW(UnknownNameError, "unknown explain method '", name, "' (methods: ", join(names, ", "),
           ")", did_you_mean(name, names));
}

}  // namespace clearsight::interp
