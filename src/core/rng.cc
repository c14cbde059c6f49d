#include "clearsight/core/rng.h"

#include <torch/torch.h>

namespace clearsight {
namespace {
std::uint64_t g_seed = 0;
RngEngine& engine() {
  static RngEngine rng(splitmix64(0));
  return rng;
}
}  // namespace

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::uint64_t derive_seed(std::uint64_t seed, std::string_view stream) {
  // FNV-1a over the name, then mixed with the parent seed.
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : stream) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return splitmix64(splitmix64(seed) ^ h);
}

std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t index) {
  return splitmix64(splitmix64(seed) + 0x632be59bd9b4e019ULL * (index + 1));
}

void seed_everything(std::uint64_t seed) {
  g_seed = seed;
  torch::manual_seed(seed);
  engine().seed(derive_seed(seed, "global"));
}

std::uint64_t global_seed() { return g_seed; }

RngEngine& global_rng() { return engine(); }

RngEngine make_rng(std::string_view stream) { return RngEngine(derive_seed(g_seed, stream)); }

}  // namespace clearsight
