// One seed drives every random source: torch, std engines and everything derived from them.
#pragma once

#include <cstdint>
#include <random>
#include <string_view>

namespace clearsight {

/// The 64-bit engine used across ClearSight.
using RngEngine = std::mt19937_64;

/// SplitMix64 step: a well-mixed 64-bit hash of x.
std::uint64_t splitmix64(std::uint64_t x);

/// A child seed derived from a parent seed and a stream name (stable across runs and platforms).
std::uint64_t derive_seed(std::uint64_t seed, std::string_view stream);

/// A child seed derived from a parent seed and an index (e.g. environment i of a vector env).
std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t index);

/// Seeds torch (CPU and CUDA) and the process-wide engine; remembers the seed.
void seed_everything(std::uint64_t seed);

/// The seed last passed to seed_everything (0 before any call).
std::uint64_t global_seed();

/// The process-wide engine, seeded by seed_everything; not thread-safe.
RngEngine& global_rng();

/// An engine for a named stream, seeded from the global seed (independent of call order).
RngEngine make_rng(std::string_view stream);

}  // namespace clearsight
