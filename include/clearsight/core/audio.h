// Audio files and sample-rate conversion: WAV/FLAC/OGG through libsndfile, band-limited
// resampling, all as mono float32.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

namespace clearsight {

/// A mono clip.
struct AudioClip {
  int sample_rate = 0;
  std::vector<float> samples;
};

/// Reads an audio file (WAV, FLAC, OGG...), mixing channels down to mono; throws IoError or
/// FormatError.
AudioClip read_audio(const std::filesystem::path& path);

/// Reads an audio file and resamples it to rate Hz for a model: refuses a clip without samples
/// (FormatError) and warns when the file's rate is below rate (nothing above its Nyquist frequency
/// reaches the model, e.g. 8 kHz telephone audio for a 16 kHz model).
std::vector<float> read_audio_at(const std::filesystem::path& path, int rate);

/// Writes a 16-bit PCM mono WAV atomically.
void write_wav(const std::filesystem::path& path, const std::vector<float>& samples,
               int sample_rate);

/// Resamples with libsoxr (high-quality preset: linear phase, low-passed below the lower Nyquist
/// frequency); the output has floor(n x to_rate / from_rate) samples.
std::vector<float> resample(const std::vector<float>& samples, int from_rate, int to_rate);

}  // namespace clearsight
