// Speech synthesis for the speech task with espeak-ng's C library, resampled to kSampleRate.
//
// espeak-ng keeps synthesiser state in globals (pitch flutter index, gain control, echo buffer)
// that carry over from one utterance to the next, so the same text synthesised twice in one
// process differs slightly, and the library is not thread-safe. Each utterance is therefore
// synthesised in a short-lived child process (fork) that initialises espeak-ng from scratch:
// the output depends only on the text and the voice settings, the parent's espeak-ng state is
// never touched, and concurrent calls from several threads are safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace clearsight::mm {

/// Voice settings of one utterance.
struct SpeechVoice {
  /// espeak-ng voice name with optional variant ("en+m3").
  std::string name = "en";
  /// Words per minute (80-450).
  int rate = 175;
  /// Base pitch (0-100).
  int pitch = 50;
  /// Pitch range (0-100).
  int range = 50;
};

/// Voice names the speech task draws from.
const std::vector<std::string>& speech_voice_names();

/// espeak-ng's version string ("1.51").
std::string espeak_version();

/// Synthesises text at kSampleRate (16-bit), leading and trailing silence trimmed; throws
/// RuntimeError when espeak-ng fails or its data is missing.
std::vector<std::int16_t> synthesize_speech(const std::string& text, const SpeechVoice& voice);

/// Band-limited resampling (Blackman-windowed sinc, cutoff 0.95 of the lower Nyquist frequency).
std::vector<float> resample(const std::vector<float>& input, int from_rate, int to_rate);

}  // namespace clearsight::mm
