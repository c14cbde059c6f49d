#include "clearsight/mm/whisper_features.h"

#include <nlohmann/json.hpp>

#include "clearsight/core/atomic_file.h"
#include "clearsight/core/error.h"
#include "clearsight/mm/towers.h"
#include "json_file.h"

namespace clearsight::mm {

WhisperFeatureConfig load_whisper_feature_extractor(const std::filesystem::path& path) {
  const auto j = read_json_file(path, "a Whisper preprocessor_config.json");
  WhisperFeatureConfig c;
  const auto integer = [&](const char* key, std::int64_t& out) {
    read_positive_integer(j, key, path, out);
  };
  integer("feature_size", c.feature_size);
  integer("sampling_rate", c.sampling_rate);
  integer("hop_length", c.hop_length);
  integer("n_fft", c.n_fft);
  std::int64_t chunk = 0;
  integer("chunk_length", chunk);
  if (chunk > 0) c.n_samples = chunk * c.sampling_rate;
  integer("n_samples", c.n_samples);
  if (j.contains("padding_value") && j["padding_value"].is_number()) {
    c.padding_value = j["padding_value"].get<double>();
  }
  CS_CHECK_AS(ConfigError, c.n_fft > c.hop_length && c.n_samples >= c.n_fft, path.string(),
              ": n_fft must exceed hop_length and n_samples must hold one window");
  if (j.contains("dither") && j["dither"].is_number()) {
    CS_CHECK_AS(ConfigError, j["dither"].get<double>() == 0.0, path.string(),
                ": dither must be 0 (random dithering is not reproducible)");
  }
  return c;
}

WhisperFeatures whisper_features(const std::vector<torch::Tensor>& waveforms,
                                 const WhisperFeatureConfig& c) {
  CS_CHECK_AS(ShapeError, !waveforms.empty(), "no audio clips");
  const auto window = torch::hann_window(c.n_fft, torch::TensorOptions().dtype(torch::kFloat64));
  const auto filters = mel_filterbank_f64(c.sampling_rate, c.n_fft, c.feature_size);
  std::vector<torch::Tensor> feats, masks;
  for (const auto& w : waveforms) {
    CS_CHECK_AS(ShapeError, w.dim() == 1 && w.numel() > 0, "an audio clip must be 1-D samples");
    auto clip = w.to(torch::kFloat32).narrow(0, 0, std::min<std::int64_t>(w.numel(), c.n_samples));
    CS_CHECK_AS(NumericError, torch::isfinite(clip).all().item<bool>(),
                "audio samples contain NaN or infinite values");
    auto padded = torch::full({c.n_samples}, c.padding_value, torch::kFloat32);
    padded.narrow(0, 0, clip.numel()).copy_(clip);
    auto sample_mask = torch::zeros({c.n_samples}, torch::kInt64);
    sample_mask.narrow(0, 0, clip.numel()).fill_(1);
    // Centred STFT in float64; the spectrum is kept as complex64, as transformers stores it.
    const auto spec = torch::stft(padded.to(torch::kFloat64), c.n_fft, c.hop_length, c.n_fft,
                                  window, /*center=*/true, /*pad_mode=*/"reflect",
                                  /*normalized=*/false, /*onesided=*/true,
                                  /*return_complex=*/true)
                          .to(torch::kComplexFloat);
    const auto power = torch::view_as_real(spec).to(torch::kFloat64).pow(2).sum(-1);  // [bins, T]
    const auto mel = torch::matmul(filters, power).clamp_min(1e-10);
    auto log_spec = mel.log10().to(torch::kFloat32);
    log_spec = log_spec.narrow(1, 0, log_spec.size(1) - 1);  // the last frame is dropped
    log_spec = torch::maximum(log_spec, log_spec.max() - 8.0f);
    feats.push_back((log_spec + 4.0f) / 4.0f);
    auto m = sample_mask.slice(0, 0, c.n_samples, c.hop_length);
    if (c.n_samples % c.hop_length != 0) m = m.narrow(0, 0, m.numel() - 1);
    masks.push_back(m);
  }
  return {torch::stack(feats), torch::stack(masks)};
}

}  // namespace clearsight::mm
