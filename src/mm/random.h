// Portable random draws for the synthetic tasks: std distributions differ between standard
// libraries, so every draw here is computed from the raw mt19937_64 output by our own formulas.
#pragma once

#include <cmath>
#include <cstdint>
#include <numbers>
#include <utility>
#include <vector>

#include "clearsight/core/rng.h"
#include "clearsight/mm/tasks.h"

namespace clearsight::mm {

/// A seeded stream of platform-independent random draws.
class Random {
 public:
  /// Seeds the stream.
  explicit Random(std::uint64_t seed) : engine_(seed) {}

  /// 64 random bits.
  std::uint64_t bits() { return engine_(); }

  /// Uniform integer in [0, n) (n > 0), by 128-bit multiply-shift.
  int below(int n) {
    const unsigned __int128 product = static_cast<unsigned __int128>(bits()) *
                                      static_cast<unsigned __int128>(static_cast<std::uint64_t>(n));
    return static_cast<int>(product >> 64);
  }

  /// Uniform integer in [lo, hi].
  int range(int lo, int hi) { return lo + below(hi - lo + 1); }

  /// Uniform double in [0, 1).
  double uniform() { return static_cast<double>(bits() >> 11) * 0x1.0p-53; }

  /// Uniform double in [lo, hi).
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }

  /// True with probability p.
  bool chance(double p) { return uniform() < p; }

  /// Standard normal draw (Box-Muller; the second value of each pair is kept for the next call).
  double normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    const double u1 = 1.0 - uniform();  // (0, 1]: log stays finite
    const double u2 = uniform();
    const double radius = std::sqrt(-2.0 * std::log(u1));
    spare_ = radius * std::sin(2.0 * std::numbers::pi * u2);
    has_spare_ = true;
    return radius * std::cos(2.0 * std::numbers::pi * u2);
  }

  /// A uniformly chosen element of a non-empty vector.
  template <typename T>
  const T& pick(const std::vector<T>& items) {
    return items[static_cast<std::size_t>(below(static_cast<int>(items.size())))];
  }

  /// Shuffles in place (Fisher-Yates).
  template <typename T>
  void shuffle(std::vector<T>& items) {
    for (int i = static_cast<int>(items.size()) - 1; i > 0; --i) {
      std::swap(items[static_cast<std::size_t>(i)], items[static_cast<std::size_t>(below(i + 1))]);
    }
  }

 private:
  RngEngine engine_;
  double spare_ = 0.0;
  bool has_spare_ = false;
};

/// The seed of sample index of a split of a task: derive_seed(seed, name) -> split -> index.
inline std::uint64_t sample_seed(std::uint64_t task_seed, const std::string& task, Split split,
                                 std::int64_t index) {
  const std::uint64_t per_task = derive_seed(task_seed, task);
  const std::uint64_t per_split = derive_seed(per_task, split_name(split));
  return derive_seed(per_split, static_cast<std::uint64_t>(index));
}

}  // namespace clearsight::mm
