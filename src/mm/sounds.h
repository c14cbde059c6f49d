// Procedural sound events for the sound_event task: each class is a small synthesiser with
// random pitch, duration, level and noise, so that neighbouring classes overlap somewhat.
#pragma once

#include <string>
#include <vector>

#include "mm/random.h"

namespace clearsight::mm {

/// Class labels ("siren", "beep", "knock", "hum", "whoosh", "chirp", "buzz"), by class id.
const std::vector<std::string>& sound_labels();

/// A waveform of class label_id at kSampleRate, 0.5-2 s long, with values in [-1, 1].
std::vector<float> make_sound(int label_id, Random& rng);

}  // namespace clearsight::mm
