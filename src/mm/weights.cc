// Model weights on disk: safetensors with Hugging Face parameter names (Qwen2 / Qwen2-VL /
// Qwen2-Audio conventions) plus config.json, so that the naming matches real checkpoints.
#include <regex>
#include <set>

#include "clearsight/core/error.h"
#include "clearsight/core/safetensors.h"
#include "clearsight/core/strings.h"
#include "clearsight/mm/model.h"

namespace clearsight::mm {
namespace {

struct Rule {
  std::regex pattern;
  std::string replacement;
};

const std::vector<Rule>& rules() {
  static const std::vector<Rule> r = {
      {std::regex(R"(^embed_tokens\.)"), "model.embed_tokens."},
      {std::regex(R"(^blocks\.(\d+)\.ln1\.)"), "model.layers.$1.input_layernorm."},
      {std::regex(R"(^blocks\.(\d+)\.ln2\.)"), "model.layers.$1.post_attention_layernorm."},
      {std::regex(R"(^blocks\.(\d+)\.attn\.)"), "model.layers.$1.self_attn."},
      {std::regex(R"(^blocks\.(\d+)\.mlp\.)"), "model.layers.$1.mlp."},
      {std::regex(R"(^ln_final\.)"), "model.norm."},
      {std::regex(R"(^vision\.patch_embed\.weight$)"), "visual.patch_embed.proj.weight"},
      {std::regex(R"(^vision\.pos_embed$)"), "visual.pos_embed"},
      {std::regex(R"(^vision\.blocks\.(\d+)\.ln1\.)"), "visual.blocks.$1.norm1."},
      {std::regex(R"(^vision\.blocks\.(\d+)\.ln2\.)"), "visual.blocks.$1.norm2."},
      {std::regex(R"(^vision\.blocks\.(\d+)\.mlp\.)"), "visual.blocks.$1.mlp."},
      {std::regex(R"(^vision\.blocks\.(\d+)\.attn\.)"), "visual.blocks.$1.attn."},
      {std::regex(R"(^audio\.embed_positions$)"), "audio_tower.embed_positions.weight"},
      {std::regex(R"(^audio\.blocks\.(\d+)\.ln1\.)"),
       "audio_tower.layers.$1.self_attn_layer_norm."},
      {std::regex(R"(^audio\.blocks\.(\d+)\.ln2\.)"), "audio_tower.layers.$1.final_layer_norm."},
      {std::regex(R"(^audio\.blocks\.(\d+)\.attn\.)"), "audio_tower.layers.$1.self_attn."},
      {std::regex(R"(^audio\.blocks\.(\d+)\.mlp\.)"), "audio_tower.layers.$1."},
      {std::regex(R"(^audio\.)"), "audio_tower."},
  };
  return r;
}

bool is_patch_embed(const std::string& name) { return name == "vision.patch_embed.weight"; }

// Conv3d layout [hidden, C, tp, p, p] of Qwen2-VL's patch embedding.
std::vector<std::int64_t> patch_embed_shape(const ModelConfig& c) {
  const auto& v = c.vision_config;
  return {v.hidden_size, v.in_channels, v.temporal_patch_size, v.patch_size, v.patch_size};
}

}  // namespace

std::string to_hf_name(const std::string& name, const ModelConfig& config) {
  if (name.rfind("projector.", 0) == 0) {
    if (config.vision_config.enabled) {
      static const std::regex mlp0(R"(^projector\.mlp0\.)"), mlp2(R"(^projector\.mlp2\.)"),
          lnq(R"(^projector\.ln_q\.)");
      std::string out = std::regex_replace(name, mlp0, "visual.merger.mlp.0.");
      out = std::regex_replace(out, mlp2, "visual.merger.mlp.2.");
      return std::regex_replace(out, lnq, "visual.merger.ln_q.");
    }
    return "multi_modal_projector." + name.substr(std::string("projector.").size());
  }
  for (const auto& rule : rules()) {
    if (std::regex_search(name, rule.pattern)) {
      return std::regex_replace(name, rule.pattern, rule.replacement,
                                std::regex_constants::format_first_only);
    }
  }
  return name;  // lm_head.weight keeps its name.
}

void save_model(const MultimodalModel& model, const std::filesystem::path& dir,
                const std::map<std::string, std::string>& metadata) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  CS_CHECK_AS(IoError, !ec, "cannot create model directory '", dir.string(), "': ", ec.message());
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  for (const auto& p : model.named_parameters()) {
    auto value = p.value().detach();
    if (is_patch_embed(p.key())) value = value.reshape(patch_embed_shape(model.config()));
    tensors.emplace_back(to_hf_name(p.key(), model.config()), value);
  }
  auto meta = metadata;
  meta["format"] = "pt";
  safetensors::save(dir / "model.safetensors", tensors, meta);
  save_model_config(model.config(), dir / "config.json");
}

std::shared_ptr<MultimodalModel> load_model(const std::filesystem::path& dir) {
  std::error_code ec;
  CS_CHECK_AS(IoError, std::filesystem::is_directory(dir, ec), "model directory '", dir.string(),
              "' does not exist");
  const auto config = load_model_config(dir / "config.json");
  auto model = std::make_shared<MultimodalModel>(config);
  const auto file = safetensors::File::open(dir / "model.safetensors");
  std::set<std::string> expected;
  torch::NoGradGuard no_grad;
  for (auto& p : model->named_parameters()) {
    const std::string hf = to_hf_name(p.key(), config);
    expected.insert(hf);
    CS_CHECK_AS(FormatError, file.contains(hf), "'", (dir / "model.safetensors").string(),
                "' lacks tensor '", hf, "' (config.json and weights disagree?)");
    auto shape = p.value().sizes().vec();
    if (is_patch_embed(p.key())) shape = patch_embed_shape(config);
    auto value = file.get(hf, shape);
    CS_CHECK_AS(FormatError, value.is_floating_point(), "tensor '", hf, "' must be floating point");
    CS_CHECK_AS(NumericError, torch::isfinite(value).all().item<bool>(), "tensor '", hf,
                "' contains NaN or infinite values");
    p.value().copy_(value.reshape(p.value().sizes()));
  }
  std::vector<std::string> extra;
  for (const auto& name : file.names()) {
    if (!expected.count(name)) extra.push_back(name);
  }
  CS_CHECK_AS(FormatError, extra.empty(), "'", (dir / "model.safetensors").string(),
              "' has tensors this config does not use: ", join(extra, ", "));
  return model;
}

}  // namespace clearsight::mm
