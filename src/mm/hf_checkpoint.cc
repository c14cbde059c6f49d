#include "clearsight/mm/hf_checkpoint.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <map>
#include <optional>
#include <set>

#include "clearsight/core/atomic_file.h"
#include "clearsight/core/error.h"
#include "clearsight/core/safetensors.h"
#include "clearsight/core/strings.h"
#include "json_file.h"

namespace clearsight::mm {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

// Typed reads of config fields with the field's path in every error.
class Fields {
 public:
  Fields(const Json& j, std::string prefix, std::string source)
      : j_(j), prefix_(std::move(prefix)), source_(std::move(source)) {}

  bool has(const std::string& key) const { return j_.contains(key) && !j_[key].is_null(); }

  std::int64_t integer(const std::string& key, std::optional<std::int64_t> fallback,
                       std::int64_t min = 1) const {
    if (!has(key)) {
      CS_CHECK_AS(ConfigError, fallback.has_value(), source_, ": ", prefix_, key,
                  " is missing (required)");
      return *fallback;
    }
    CS_CHECK_AS(ConfigError, j_[key].is_number_integer(), source_, ": ", prefix_, key,
                " must be an integer, got ", j_[key].dump());
    const auto v = j_[key].get<std::int64_t>();
    CS_CHECK_AS(ConfigError, v >= min, source_, ": ", prefix_, key, " must be >= ", min, ", got ",
                v);
    return v;
  }

  double number(const std::string& key, std::optional<double> fallback) const {
    if (!has(key)) {
      CS_CHECK_AS(ConfigError, fallback.has_value(), source_, ": ", prefix_, key,
                  " is missing (required)");
      return *fallback;
    }
    CS_CHECK_AS(ConfigError, j_[key].is_number(), source_, ": ", prefix_, key,
                " must be a number, got ", j_[key].dump());
    const auto v = j_[key].get<double>();
    CS_CHECK_AS(ConfigError, std::isfinite(v) && v > 0, source_, ": ", prefix_, key,
                " must be a positive number, got ", j_[key].dump());
    return v;
  }

  bool boolean(const std::string& key, bool fallback) const {
    if (!has(key)) return fallback;
    CS_CHECK_AS(ConfigError, j_[key].is_boolean(), source_, ": ", prefix_, key,
                " must be true or false, got ", j_[key].dump());
    return j_[key].get<bool>();
  }

  std::string text(const std::string& key, const std::string& fallback) const {
    if (!has(key)) return fallback;
    CS_CHECK_AS(ConfigError, j_[key].is_string(), source_, ": ", prefix_, key,
                " must be a string, got ", j_[key].dump());
    return j_[key].get<std::string>();
  }

 private:
  const Json& j_;
  std::string prefix_, source_;
};

// The hub name and the newer transformers name of one of our parameters.
std::pair<std::string, std::string> hf_names(const std::string& name, const ModelConfig& config) {
  ModelConfig naming = config;
  naming.vision_config.enabled = config.qwen2_vision.enabled;
  std::string hub = to_hf_name(name, naming);
  if (config.model_type == "qwen2_audio" &&
      (hub.rfind("model.", 0) == 0 || hub.rfind("lm_head.", 0) == 0)) {
    hub = "language_model." + hub;  // Qwen2-Audio nests its Qwen2 under language_model.
  }
  std::string newer = hub;
  if (hub.rfind("model.", 0) == 0) {
    newer = "model.language_model." + hub.substr(6);
  } else if (hub.rfind("visual.", 0) == 0) {
    newer = "model." + hub;
  }
  return {hub, newer};
}

}  // namespace

bool is_hf_checkpoint(const fs::path& dir) {
  const auto path = dir / "config.json";
  if (!fs::is_regular_file(path)) return false;
  try {
    const auto j = Json::parse(read_file(path));
    const auto type = j.value("model_type", std::string());
    return type == "qwen2_vl" || type == "qwen2_audio";
  } catch (const std::exception&) {
    return false;
  }
}

ModelConfig load_hf_config(const fs::path& path) {
  const Json root = read_json_file(path, "a Hugging Face config.json");
  const std::string source = path.string();
  CS_CHECK_AS(ConfigError, root.is_object(), source, ": must be a JSON object");
  const std::string type = root.value("model_type", std::string());
  CS_CHECK_AS(ConfigError, type == "qwen2_vl" || type == "qwen2_audio", source, ": model_type '",
              type, "' is not supported (expected qwen2_vl or qwen2_audio)");
  // Text fields: text_config (transformers >= 4.5x layout) over the flat top-level keys.
  Json text = root;
  if (root.contains("text_config") && root["text_config"].is_object()) {
    for (const auto& [k, v] : root["text_config"].items()) text[k] = v;
  }
  const Fields t(text, "", source);
  ModelConfig c;
  c.model_type = type;
  c.hf_source = source;
  c.vocab_size = t.integer("vocab_size", std::nullopt);
  c.hidden_size = t.integer("hidden_size", std::nullopt);
  c.intermediate_size = t.integer("intermediate_size", std::nullopt);
  c.num_hidden_layers = t.integer("num_hidden_layers", std::nullopt);
  c.num_attention_heads = t.integer("num_attention_heads", std::nullopt);
  c.num_key_value_heads = t.integer("num_key_value_heads", c.num_attention_heads);
  c.max_position_embeddings = t.integer("max_position_embeddings", 32768);
  c.rms_norm_eps = t.number("rms_norm_eps", 1e-6);
  c.tie_word_embeddings = t.boolean("tie_word_embeddings", false);
  CS_CHECK_AS(ConfigError, t.text("hidden_act", "silu") == "silu", source,
              ": hidden_act must be silu for a Qwen2 decoder");
  // rope_scaling (transformers 4.x) or rope_parameters (5.x) carry mrope_section.
  Json rope = Json::object();
  for (const char* key : {"rope_scaling", "rope_parameters"}) {
    if (text.contains(key) && text[key].is_object()) rope = text[key];
  }
  c.rope_theta = Fields(rope, "rope_parameters.", source).has("rope_theta")
                     ? Fields(rope, "rope_parameters.", source).number("rope_theta", 1e6)
                     : t.number("rope_theta", type == "qwen2_audio" ? 10000.0 : 1e6);
  c.hf_rotary = true;
  const Fields top(root, "", source);
  if (type == "qwen2_audio") {
    c.audio_token_id = top.integer("audio_token_index", 151646, 0);
    CS_CHECK_AS(ConfigError, c.audio_token_id < c.vocab_size, source, ": audio_token_index ",
                c.audio_token_id, " is outside vocab_size ", c.vocab_size);
    CS_CHECK_AS(ConfigError, root.contains("audio_config") && root["audio_config"].is_object(),
                source, ": audio_config is missing (a qwen2_audio checkpoint has an audio tower)");
    const Fields a(root["audio_config"], "audio_config.", source);
    auto& q = c.qwen2_audio;
    q.enabled = true;
    q.num_mel_bins = a.integer("num_mel_bins", 128);
    q.encoder_layers = a.integer("encoder_layers", 32);
    q.encoder_attention_heads = a.integer("encoder_attention_heads", 20);
    q.encoder_ffn_dim = a.integer("encoder_ffn_dim", 5120);
    q.d_model = a.integer("d_model", 1280);
    q.max_source_positions = a.integer("max_source_positions", 1500);
    CS_CHECK_AS(ConfigError, a.text("activation_function", "gelu") == "gelu", source,
                ": audio_config.activation_function must be gelu");
    CS_CHECK_AS(ConfigError, !a.boolean("scale_embedding", false), source,
                ": audio_config.scale_embedding is not supported");
    try {
      q.validate();
      c.validate();
    } catch (const ConfigError& e) {
      CS_THROW(ConfigError, source, ": ", e.what());
    }
    return c;
  }
  CS_CHECK_AS(ConfigError, rope.contains("mrope_section") && rope["mrope_section"].is_array(),
              source, ": rope_scaling.mrope_section is missing (Qwen2-VL needs M-RoPE sections)");
  for (const auto& v : rope["mrope_section"]) {
    CS_CHECK_AS(ConfigError, v.is_number_integer() && v.get<std::int64_t>() >= 0, source,
                ": rope_scaling.mrope_section entries must be non-negative integers");
    c.mrope_section.push_back(v.get<std::int64_t>());
  }
  std::int64_t sum = 0;
  for (const auto v : c.mrope_section) sum += v;
  CS_CHECK_AS(ConfigError,
              c.hidden_size % c.num_attention_heads == 0 && c.mrope_section.size() == 3 &&
                  sum * 2 == c.hidden_size / c.num_attention_heads,
              source, ": rope_scaling.mrope_section must be 3 sizes summing to head_dim / 2 = ",
              c.hidden_size / std::max<std::int64_t>(1, c.num_attention_heads) / 2);
  c.image_token_id = top.integer("image_token_id", 151655, 0);
  c.video_token_id = top.integer("video_token_id", 151656, 0);
  c.vision_start_token_id = top.integer("vision_start_token_id", 151652, 0);
  for (const auto id : {c.image_token_id, c.video_token_id, c.vision_start_token_id}) {
    CS_CHECK_AS(ConfigError, id < c.vocab_size, source, ": token id ", id,
                " is outside vocab_size ", c.vocab_size);
  }

  CS_CHECK_AS(ConfigError, root.contains("vision_config") && root["vision_config"].is_object(),
              source, ": vision_config is missing (a qwen2_vl checkpoint has a vision tower)");
  const Fields v(root["vision_config"], "vision_config.", source);
  auto& q = c.qwen2_vision;
  q.enabled = true;
  q.depth = v.integer("depth", 32);
  q.embed_dim = v.integer("embed_dim", 1280);
  q.num_heads = v.integer("num_heads", 16);
  q.mlp_ratio = v.number("mlp_ratio", 4.0);
  q.in_channels = v.integer("in_channels", v.integer("in_chans", 3));
  q.patch_size = v.integer("patch_size", v.integer("spatial_patch_size", 14));
  q.spatial_merge_size = v.integer("spatial_merge_size", 2);
  q.temporal_patch_size = v.integer("temporal_patch_size", 2);
  q.hidden_act = v.text("hidden_act", "quick_gelu");
  const auto merger_out = v.integer("hidden_size", c.hidden_size);
  CS_CHECK_AS(ConfigError, merger_out == c.hidden_size, source, ": vision_config.hidden_size (",
              merger_out, ") must equal the language model's hidden_size (", c.hidden_size, ")");
  try {
    q.validate();
    c.validate();
  } catch (const ConfigError& e) {
    CS_THROW(ConfigError, source, ": ", e.what());
  }
  return c;
}

std::shared_ptr<MultimodalModel> load_hf_model(const fs::path& dir, const HfLoadOptions& options) {
  CS_CHECK_AS(IoError, fs::is_directory(dir), "model folder '", dir.string(), "' does not exist");
  const auto config = load_hf_config(dir / "config.json");
  // Which file holds each tensor: one model.safetensors or a sharded index.
  std::map<std::string, fs::path> where;
  std::map<fs::path, safetensors::File> files;
  const auto single = dir / "model.safetensors";
  const auto index = dir / "model.safetensors.index.json";
  if (fs::is_regular_file(index)) {
    const auto j = read_json_file(index, "a safetensors index with a weight_map");
    CS_CHECK_AS(FormatError, j.contains("weight_map") && j["weight_map"].is_object(),
                index.string(), ": no weight_map object");
    for (const auto& [name, file] : j["weight_map"].items()) {
      CS_CHECK_AS(FormatError, file.is_string(), index.string(), ": weight_map['", name,
                  "'] must be a file name");
      where[name] = dir / file.get<std::string>();
    }
  } else {
    CS_CHECK_AS(IoError, fs::is_regular_file(single), dir.string(),
                ": neither model.safetensors nor model.safetensors.index.json exists");
    files.emplace(single, safetensors::File::open(single));
    for (const auto& name : files.at(single).names()) where[name] = single;
  }
  const auto file_of = [&](const fs::path& path) -> const safetensors::File& {
    auto it = files.find(path);
    if (it == files.end()) {
      CS_CHECK_AS(IoError, fs::is_regular_file(path), path.string(),
                  ": shard named in model.safetensors.index.json does not exist");
      it = files.emplace(path, safetensors::File::open(path)).first;
    }
    return it->second;
  };

  torch::manual_seed(0);
  // Built with float32 parameters (initialising them is fastest in float32); each is replaced by
  // the file's tensor below, a view of the mapping when the dtypes agree.
  auto model = std::make_shared<MultimodalModel>(config, /*initialise=*/false);
  // The layout is decided once: the hub's names or the newer ones.
  const bool newer = !where.count("model.embed_tokens.weight") &&
                     where.count("model.language_model.embed_tokens.weight");
  std::set<std::string> used;
  torch::NoGradGuard no_grad;
  for (auto& p : model->named_parameters()) {
    const auto [hub, next] = hf_names(p.key(), config);
    const std::string& name = newer ? next : hub;
    const auto it = where.find(name);
    CS_CHECK_AS(FormatError, it != where.end(), dir.string(), ": the weights lack tensor '", name,
                "' (config.json and weights disagree?)");
    used.insert(name);
    const auto& file = file_of(it->second);
    CS_CHECK_AS(FormatError, file.contains(name), it->second.string(), " lacks tensor '", name,
                "' that the index places there");
    auto shape = p.value().sizes().vec();
    if (p.key() == "vision.patch_embed.weight") {
      const auto& v = config.qwen2_vision;
      shape = {v.embed_dim, v.in_channels, v.temporal_patch_size, v.patch_size, v.patch_size};
    }
    torch::Tensor value;
    try {
      value = file.get(name, shape, /*copy=*/false);
    } catch (const ShapeError& e) {
      CS_THROW(ShapeError, it->second.string(), ": ", e.what());
    }
    CS_CHECK_AS(FormatError, value.is_floating_point(), it->second.string(), ": tensor '", name,
                "' must be floating point");
    CS_CHECK_AS(NumericError, torch::isfinite(value).all().item<bool>(), it->second.string(),
                ": tensor '", name, "' contains NaN or infinite values");
    value = value.reshape(p.value().sizes());
    if (value.scalar_type() == options.dtype && value.is_contiguous()) {
      p.value().set_data(value);  // Zero-copy: the parameter views the mapped file.
    } else {
      p.value().set_data(value.to(options.dtype).contiguous());
    }
  }
  std::vector<std::string> extra;
  for (const auto& [name, file] : where) {
    if (used.count(name)) continue;
    if (config.tie_word_embeddings && name == "lm_head.weight") continue;  // tied copy
    extra.push_back(name);
  }
  CS_CHECK_AS(FormatError, extra.empty(), dir.string(), ": the weights have tensors this ",
              config.model_type, " config does not use: ", join(extra, ", "));
  model->to(options.dtype);  // Buffers and any parameter not yet in the compute dtype.
  model->eval();
  return model;
}

ModelConfig qwen2_vl_shape(const std::string& name) {
  ModelConfig c;
  c.model_type = "qwen2_vl";
  c.vocab_size = 151936;
  c.rms_norm_eps = 1e-6;
  c.rope_theta = 1e6;
  c.hf_rotary = true;
  c.image_token_id = 151655;
  c.video_token_id = 151656;
  c.vision_start_token_id = 151652;
  auto& v = c.qwen2_vision;
  v.enabled = true;
  if (name == "tiny") {
    c.hidden_size = 64;
    c.intermediate_size = 128;
    c.num_hidden_layers = 2;
    c.num_attention_heads = 4;
    c.num_key_value_heads = 2;
    c.max_position_embeddings = 4096;
    c.tie_word_embeddings = true;
    c.mrope_section = {2, 3, 3};
    v.depth = 2;
    v.embed_dim = 32;
    v.num_heads = 4;
  } else if (name == "2b") {
    c.hidden_size = 1536;
    c.intermediate_size = 8960;
    c.num_hidden_layers = 28;
    c.num_attention_heads = 12;
    c.num_key_value_heads = 2;
    c.max_position_embeddings = 32768;
    c.tie_word_embeddings = true;
    c.mrope_section = {16, 24, 24};
    v.depth = 32;
    v.embed_dim = 1280;
    v.num_heads = 16;
  } else {
    CS_THROW(UnknownNameError, "unknown Qwen2-VL shape '", name, "' (expected tiny or 2b)");
  }
  c.validate();
  return c;
}

ModelConfig qwen2_audio_shape(const std::string& name) {
  ModelConfig c;
  c.model_type = "qwen2_audio";
  c.vocab_size = 156032;
  c.rms_norm_eps = 1e-5;
  c.rope_theta = 10000.0;
  c.hf_rotary = true;
  c.audio_token_id = 151646;
  auto& a = c.qwen2_audio;
  a.enabled = true;
  a.num_mel_bins = 128;
  a.max_source_positions = 1500;
  if (name == "tiny") {
    c.hidden_size = 64;
    c.intermediate_size = 128;
    c.num_hidden_layers = 2;
    c.num_attention_heads = 4;
    c.num_key_value_heads = 2;
    c.max_position_embeddings = 8192;
    c.tie_word_embeddings = true;
    a.encoder_layers = 2;
    a.encoder_attention_heads = 4;
    a.encoder_ffn_dim = 64;
    a.d_model = 32;
  } else if (name == "7b") {
    c.hidden_size = 4096;
    c.intermediate_size = 11008;
    c.num_hidden_layers = 32;
    c.num_attention_heads = 32;
    c.num_key_value_heads = 32;
    c.max_position_embeddings = 8192;
    c.tie_word_embeddings = false;
    a.encoder_layers = 32;
    a.encoder_attention_heads = 20;
    a.encoder_ffn_dim = 5120;
    a.d_model = 1280;
  } else {
    CS_THROW(UnknownNameError, "unknown Qwen2-Audio shape '", name, "' (expected tiny or 7b)");
  }
  a.validate();
  c.validate();
  return c;
}

ModelConfig qwen2_shape(const std::string& model_type, const std::string& name) {
  if (model_type == "qwen2_vl") return qwen2_vl_shape(name);
  if (model_type == "qwen2_audio") return qwen2_audio_shape(name);
  CS_THROW(UnknownNameError, "unknown architecture '", model_type,
           "' (expected qwen2_vl or qwen2_audio)");
}

void save_hf_checkpoint(const MultimodalModel& model, const fs::path& dir, torch::Dtype dtype) {
  const auto& c = model.config();
  const bool audio = c.model_type == "qwen2_audio" && c.qwen2_audio.enabled;
  CS_CHECK_AS(ConfigError, (c.model_type == "qwen2_vl" && c.qwen2_vision.enabled) || audio,
              "save_hf_checkpoint writes qwen2_vl and qwen2_audio models only");
  std::error_code ec;
  fs::create_directories(dir, ec);
  CS_CHECK_AS(IoError, !ec, "cannot create '", dir.string(), "': ", ec.message());
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  for (const auto& p : model.named_parameters()) {
    auto value = p.value().detach().to(dtype);
    if (p.key() == "vision.patch_embed.weight") {
      const auto& v = c.qwen2_vision;
      value = value.reshape(
          {v.embed_dim, v.in_channels, v.temporal_patch_size, v.patch_size, v.patch_size});
    }
    tensors.emplace_back(hf_names(p.key(), c).first, value.contiguous());
  }
  safetensors::save(dir / "model.safetensors", tensors, {{"format", "pt"}});
  const std::string dtype_name = dtype == torch::kBFloat16  ? "bfloat16"
                                 : dtype == torch::kFloat16 ? "float16"
                                                            : "float32";
  Json text = {{"vocab_size", c.vocab_size},
               {"hidden_size", c.hidden_size},
               {"intermediate_size", c.intermediate_size},
               {"num_hidden_layers", c.num_hidden_layers},
               {"num_attention_heads", c.num_attention_heads},
               {"num_key_value_heads", c.num_key_value_heads},
               {"max_position_embeddings", c.max_position_embeddings},
               {"rms_norm_eps", c.rms_norm_eps},
               {"rope_theta", c.rope_theta},
               {"hidden_act", "silu"},
               {"tie_word_embeddings", c.tie_word_embeddings}};
  Json config;
  if (audio) {
    // Qwen2-Audio nests its decoder's fields under text_config.
    const auto& a = c.qwen2_audio;
    text["model_type"] = "qwen2";
    text["bos_token_id"] = 151643;
    text["eos_token_id"] = 151645;
    config = {{"architectures", {"Qwen2AudioForConditionalGeneration"}},
              {"model_type", "qwen2_audio"},
              {"audio_token_index", c.audio_token_id},
              {"ignore_index", -100},
              {"vocab_size", c.vocab_size},
              {"tie_word_embeddings", c.tie_word_embeddings},
              {"torch_dtype", dtype_name},
              {"text_config", text},
              {"audio_config",
               {{"model_type", "qwen2_audio_encoder"},
                {"num_mel_bins", a.num_mel_bins},
                {"encoder_layers", a.encoder_layers},
                {"encoder_attention_heads", a.encoder_attention_heads},
                {"encoder_ffn_dim", a.encoder_ffn_dim},
                {"d_model", a.d_model},
                {"max_source_positions", a.max_source_positions},
                {"activation_function", "gelu"},
                {"scale_embedding", false}}}};
    atomic_write(dir / "config.json", config.dump(2) + "\n");
    return;
  }
  const auto& v = c.qwen2_vision;
  config = text;
  config["rope_scaling"] = {{"type", "mrope"}, {"mrope_section", c.mrope_section}};
  config["architectures"] = {"Qwen2VLForConditionalGeneration"};
  config["model_type"] = "qwen2_vl";
  config["torch_dtype"] = dtype_name;
  config["image_token_id"] = c.image_token_id;
  config["video_token_id"] = c.video_token_id;
  config["vision_start_token_id"] = c.vision_start_token_id;
  config["vision_end_token_id"] = c.vision_start_token_id + 1;
  config["vision_token_id"] = c.image_token_id - 1;
  config["bos_token_id"] = 151643;
  config["eos_token_id"] = 151645;
  config["vision_config"] = {{"depth", v.depth},
                             {"embed_dim", v.embed_dim},
                             {"hidden_size", c.hidden_size},
                             {"hidden_act", v.hidden_act},
                             {"mlp_ratio", v.mlp_ratio},
                             {"num_heads", v.num_heads},
                             {"in_chans", v.in_channels},
                             {"patch_size", v.patch_size},
                             {"spatial_merge_size", v.spatial_merge_size},
                             {"temporal_patch_size", v.temporal_patch_size}};
  atomic_write(dir / "config.json", config.dump(2) + "\n");
}

void write_qwen2_audio_tokenizer(const fs::path& qwen_tokenizer_json, const fs::path& out) {
  Json j = read_json_file(qwen_tokenizer_json, "Qwen's tokenizer.json");
  CS_CHECK_AS(FormatError, j.contains("added_tokens") && j["added_tokens"].is_array(),
              qwen_tokenizer_json.string(), ": no added_tokens list");
  // Qwen2-Audio keeps Qwen's byte-level BPE and its first three added tokens; ids 151646-151648
  // are its audio tokens.
  Json added = Json::array();
  for (const auto& t : j["added_tokens"]) {
    if (t.value("id", std::int64_t{-1}) <= 151645) added.push_back(t);
  }
  CS_CHECK_AS(FormatError, added.size() == 3, qwen_tokenizer_json.string(),
              ": expected <|endoftext|>, <|im_start|>, <|im_end|> at ids 151643-151645");
  std::int64_t id = 151646;
  for (const char* content : {"<|AUDIO|>", "<|audio_bos|>", "<|audio_eos|>"}) {
    added.push_back({{"id", id++},
                     {"content", content},
                     {"single_word", false},
                     {"lstrip", false},
                     {"rstrip", false},
                     {"normalized", false},
                     {"special", true}});
  }
  j["added_tokens"] = added;
  atomic_write(out, j.dump(2) + "\n");
}

void write_random_qwen2(const std::string& model_type, const std::string& shape,
                        const fs::path& tokenizer_json, const fs::path& out, torch::Dtype dtype,
                        std::uint64_t seed) {
  CS_CHECK_AS(IoError, fs::is_regular_file(tokenizer_json), tokenizer_json.string(),
              ": no such file (expected Qwen's tokenizer.json)");
  CS_CHECK_AS(IoError, !fs::exists(out / "config.json"), (out / "config.json").string(),
              " exists already; choose an empty folder");
  const auto config = qwen2_shape(model_type, shape);
  // Everything is written into a staging folder that is renamed into place on success.
  const fs::path staging = out.string() + ".partial";
  std::error_code ec;
  fs::remove_all(staging, ec);
  torch::manual_seed(seed);
  {
    const MultimodalModel model(config);
    save_hf_checkpoint(model, staging, dtype);
  }
  Json preprocessor;
  if (model_type == "qwen2_audio") {
    write_qwen2_audio_tokenizer(tokenizer_json, staging / "tokenizer.json");
    const Json tokenizer_config = {{"tokenizer_class", "Qwen2Tokenizer"},
                                   {"bos_token", nullptr},
                                   {"eos_token", "<|im_end|>"},
                                   {"pad_token", "<|endoftext|>"},
                                   {"model_max_length", 32768}};
    atomic_write(staging / "tokenizer_config.json", tokenizer_config.dump(2) + "\n");
    preprocessor = {{"processor_class", "Qwen2AudioProcessor"},
                    {"feature_extractor_type", "WhisperFeatureExtractor"},
                    {"feature_size", config.qwen2_audio.num_mel_bins},
                    {"sampling_rate", 16000},
                    {"hop_length", 160},
                    {"n_fft", 400},
                    {"chunk_length", 30},
                    {"n_samples", 480000},
                    {"nb_max_frames", 2 * config.qwen2_audio.max_source_positions},
                    {"padding_side", "right"},
                    {"padding_value", 0.0},
                    {"return_attention_mask", true}};
  } else {
    fs::copy_file(tokenizer_json, staging / "tokenizer.json", fs::copy_options::overwrite_existing);
    const auto tokenizer_config = tokenizer_json.parent_path() / "tokenizer_config.json";
    if (fs::is_regular_file(tokenizer_config)) {
      fs::copy_file(tokenizer_config, staging / "tokenizer_config.json",
                    fs::copy_options::overwrite_existing);
    }
    preprocessor = {{"processor_class", "Qwen2VLProcessor"},
                    {"image_processor_type", "Qwen2VLImageProcessor"},
                    {"do_resize", true},
                    {"resample", 3},
                    {"do_rescale", true},
                    {"rescale_factor", 1.0 / 255.0},
                    {"do_normalize", true},
                    {"image_mean", {0.48145466, 0.4578275, 0.40821073}},
                    {"image_std", {0.26862954, 0.26130258, 0.27577711}},
                    {"do_convert_rgb", true},
                    {"min_pixels", 3136},
                    {"max_pixels", 12845056},
                    {"patch_size", config.qwen2_vision.patch_size},
                    {"temporal_patch_size", config.qwen2_vision.temporal_patch_size},
                    {"merge_size", config.qwen2_vision.spatial_merge_size}};
  }
  atomic_write(staging / "preprocessor_config.json", preprocessor.dump(2) + "\n");
  if (fs::is_directory(out) && fs::is_empty(out)) fs::remove(out, ec);
  fs::rename(staging, out, ec);
  CS_CHECK_AS(IoError, !ec, "cannot move ", staging.string(), " to ", out.string(), ": ",
              ec.message());
}

}  // namespace clearsight::mm
