#include "mm/sounds.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "clearsight/core/error.h"
#include "clearsight/mm/tasks.h"

namespace clearsight::mm {
namespace {

constexpr double kTwoPi = 2.0 * std::numbers::pi;
constexpr double kRate = kSampleRate;

// Raised-cosine fade in and out over `fade` samples, in place.
void fade_edges(std::vector<double>& x, std::size_t begin, std::size_t end, std::size_t fade) {
  fade = std::min(fade, (end - begin) / 2);
  for (std::size_t k = 0; k < fade; ++k) {
    const double g = 0.5 - 0.5 * std::cos(std::numbers::pi * static_cast<double>(k) / fade);
    x[begin + k] *= g;
    x[end - 1 - k] *= g;
  }
}

// Siren: a tone whose frequency swings between two values at a slow rate.
void siren(std::vector<double>& x, Random& rng) {
  const double low = rng.uniform(450.0, 900.0);
  const double high = low * rng.uniform(1.3, 2.0);
  const double rate = rng.uniform(0.7, 3.0);
  const bool triangle = rng.chance(0.5);
  double phase = 0.0;
  double lfo = rng.uniform();
  for (double& v : x) {
    lfo += rate / kRate;
    const double t = lfo - std::floor(lfo);
    const double shape =
        triangle ? 1.0 - std::abs(2.0 * t - 1.0) : 0.5 - 0.5 * std::cos(kTwoPi * t);
    phase += kTwoPi * (low + (high - low) * shape) / kRate;
    v = std::sin(phase) + 0.2 * std::sin(2.0 * phase);
  }
}

// Beeps: 2-5 steady tone bursts separated by gaps.
void beep(std::vector<double>& x, Random& rng) {
  const double f = rng.uniform(600.0, 2000.0);
  const int bursts = rng.range(2, 5);
  const auto on = static_cast<std::size_t>(rng.uniform(0.06, 0.2) * kRate);
  const auto off = static_cast<std::size_t>(rng.uniform(0.05, 0.2) * kRate);
  std::size_t at = static_cast<std::size_t>(rng.uniform(0.0, 0.1) * kRate);
  std::fill(x.begin(), x.end(), 0.0);
  for (int b = 0; b < bursts && at + on <= x.size(); ++b) {
    for (std::size_t k = 0; k < on; ++k)
      x[at + k] = std::sin(kTwoPi * f * static_cast<double>(k) / kRate);
    fade_edges(x, at, at + on, static_cast<std::size_t>(0.005 * kRate));
    at += on + off;
  }
}

// Knocks: 2-5 damped resonant impulses with a noisy attack.
void knock(std::vector<double>& x, Random& rng) {
  const int knocks = rng.range(2, 5);
  const double f = rng.uniform(150.0, 600.0);
  const double tau = rng.uniform(0.008, 0.03);
  const double gap = rng.uniform(0.1, 0.3);
  std::fill(x.begin(), x.end(), 0.0);
  double start = rng.uniform(0.0, 0.1);
  for (int k = 0; k < knocks; ++k) {
    const double level = rng.uniform(0.6, 1.0);
    const auto begin = static_cast<std::size_t>(start * kRate);
    for (std::size_t n = begin; n < x.size(); ++n) {
      const double t = static_cast<double>(n - begin) / kRate;
      if (t > 8 * tau) break;
      const double envelope = std::exp(-t / tau);
      x[n] += level * envelope * (std::sin(kTwoPi * f * t) + 0.5 * rng.normal() * envelope);
    }
    start += gap * rng.uniform(0.8, 1.2);
  }
}

// Hum: a low harmonic tone (mains-like) with slow amplitude wobble.
void hum(std::vector<double>& x, Random& rng) {
  const double f0 = rng.uniform(50.0, 180.0);
  const int harmonics = rng.range(3, 7);
  const double tilt = rng.uniform(0.4, 0.8);
  const double wobble = rng.uniform(0.5, 4.0);
  for (std::size_t n = 0; n < x.size(); ++n) {
    const double t = static_cast<double>(n) / kRate;
    double v = 0.0;
    double a = 1.0;
    for (int h = 1; h <= harmonics; ++h, a *= tilt) v += a * std::sin(kTwoPi * f0 * h * t);
    x[n] = v * (1.0 + 0.2 * std::sin(kTwoPi * wobble * t));
  }
}

// Whoosh: band-limited noise whose centre frequency sweeps, under a rise-and-fall envelope.
void whoosh(std::vector<double>& x, Random& rng) {
  const double f_start = rng.uniform(300.0, 1500.0);
  const double f_end = f_start * rng.uniform(0.3, 3.0);
  const double q = rng.uniform(1.0, 3.0);
  double y1 = 0.0;
  double y2 = 0.0;
  const double size = static_cast<double>(x.size());
  for (std::size_t n = 0; n < x.size(); ++n) {
    const double t = static_cast<double>(n) / size;
    const double f = f_start * std::pow(f_end / f_start, t);
    // Two-pole resonator at f with bandwidth f / q.
    const double r = std::exp(-std::numbers::pi * (f / q) / kRate);
    const double y =
        (1 - r) * rng.normal() + 2 * r * std::cos(kTwoPi * f / kRate) * y1 - r * r * y2;
    y2 = y1;
    y1 = y;
    x[n] = y * std::sin(std::numbers::pi * t);
  }
}

// Chirps: 1-4 short bursts rising exponentially in frequency.
void chirp(std::vector<double>& x, Random& rng) {
  const int chirps = rng.range(1, 4);
  const double f_low = rng.uniform(800.0, 1800.0);
  const double f_high = f_low * rng.uniform(2.0, 4.0);
  const auto length = static_cast<std::size_t>(rng.uniform(0.05, 0.15) * kRate);
  const auto gap = static_cast<std::size_t>(rng.uniform(0.05, 0.25) * kRate);
  std::fill(x.begin(), x.end(), 0.0);
  std::size_t at = static_cast<std::size_t>(rng.uniform(0.0, 0.1) * kRate);
  for (int c = 0; c < chirps && at + length <= x.size(); ++c) {
    double phase = 0.0;
    for (std::size_t k = 0; k < length; ++k) {
      const double t = static_cast<double>(k) / static_cast<double>(length);
      phase += kTwoPi * f_low * std::pow(f_high / f_low, t) / kRate;
      x[at + k] = std::sin(phase);
    }
    fade_edges(x, at, at + length, static_cast<std::size_t>(0.004 * kRate));
    at += length + gap;
  }
}

// Buzz: a harsh sawtooth with a fast amplitude flutter (an insect or an electric buzzer).
void buzz(std::vector<double>& x, Random& rng) {
  const double f0 = rng.uniform(100.0, 400.0);
  const double flutter = rng.uniform(15.0, 60.0);
  const double depth = rng.uniform(0.2, 0.8);
  double phase = rng.uniform();
  for (std::size_t n = 0; n < x.size(); ++n) {
    const double t = static_cast<double>(n) / kRate;
    phase += f0 / kRate;
    const double saw = 2.0 * (phase - std::floor(phase)) - 1.0;
    x[n] = saw * (1.0 - depth * (0.5 + 0.5 * std::sin(kTwoPi * flutter * t)));
  }
}

}  // namespace

const std::vector<std::string>& sound_labels() {
  static const std::vector<std::string> labels{"siren",  "beep",  "knock", "hum",
                                               "whoosh", "chirp", "buzz"};
  return labels;
}

std::vector<float> make_sound(int label_id, Random& rng) {
  CS_CHECK(label_id >= 0 && label_id < static_cast<int>(sound_labels().size()), "sound class id ",
           label_id, " out of range");
  const auto length = static_cast<std::size_t>(rng.uniform(0.5, 2.0) * kRate);
  std::vector<double> x(length, 0.0);
  switch (label_id) {
    case 0:
      siren(x, rng);
      break;
    case 1:
      beep(x, rng);
      break;
    case 2:
      knock(x, rng);
      break;
    case 3:
      hum(x, rng);
      break;
    case 4:
      whoosh(x, rng);
      break;
    case 5:
      chirp(x, rng);
      break;
    default:
      buzz(x, rng);
      break;
  }
  fade_edges(x, 0, x.size(), static_cast<std::size_t>(0.01 * kRate));
  // Random peak level, then white noise at a random SNR (5-30 dB) of the signal's mean power.
  double peak = 0.0;
  double power = 0.0;
  for (double v : x) {
    peak = std::max(peak, std::abs(v));
    power += v * v;
  }
  const double gain = peak > 0 ? rng.uniform(0.2, 0.8) / peak : 0.0;
  power = power / static_cast<double>(x.size()) * gain * gain;
  const double snr_db = rng.uniform(5.0, 30.0);
  const double noise_sd = std::sqrt(std::max(power, 1e-8) / std::pow(10.0, snr_db / 10.0));
  std::vector<float> out(x.size());
  for (std::size_t n = 0; n < x.size(); ++n) {
    out[n] = static_cast<float>(std::clamp(x[n] * gain + noise_sd * rng.normal(), -1.0, 1.0));
  }
  return out;
}

}  // namespace clearsight::mm
