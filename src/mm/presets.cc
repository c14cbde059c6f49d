#include "clearsight/mm/presets.h"

#include "clearsight/core/error.h"
#include "clearsight/core/strings.h"

namespace clearsight::mm {

std::vector<std::string> preset_names() { return {"cs-tiny-audio", "cs-tiny-vl"}; }

ModelConfig preset_config(const std::string& name, std::int64_t vocab_size) {
  ModelConfig c;
  c.vocab_size = vocab_size;
  // A small Qwen2: 4 layers x 512 MLP neurons = 2048 candidate neurons for MINER.
  c.hidden_size = 128;
  c.intermediate_size = 512;
  c.num_hidden_layers = 4;
  // 8 heads of 16 dimensions (4 key/value groups): with 4 heads of 32 the letter-copy circuit of
  // text_choice did not form in 6000 steps (text pilots, docs/RESULTS.md; ADR 0008).
  c.num_attention_heads = 8;
  c.num_key_value_heads = 4;
  c.max_position_embeddings = 256;
  if (name == "cs-tiny-vl") {
    c.model_type = "clearsight_vl";
    c.vision_config.enabled = true;
  } else if (name == "cs-tiny-audio") {
    c.model_type = "clearsight_audio";
    c.audio_config.enabled = true;
  } else {
    const std::string hint = did_you_mean(name, preset_names());
    CS_THROW(UnknownNameError, "unknown model preset '", name, "'", hint.empty() ? "" : "; ", hint,
             " (presets: ", join(preset_names(), ", "), ")");
  }
  c.validate();
  return c;
}

}  // namespace clearsight::mm
