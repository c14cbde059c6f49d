#include "clearsight/envs/env.h"

#include <cmath>
#include <cstring>

#include "clearsight/core/error.h"
#include "clearsight/core/strings.h"

namespace clearsight::envs {

Box Box::uniform(std::vector<std::int64_t> shape, double low, double high) {
  Box box;
  box.shape = std::move(shape);
  const auto n = box.size();
  box.low.assign(static_cast<std::size_t>(n), low);
  box.high.assign(static_cast<std::size_t>(n), high);
  return box;
}

std::int64_t Box::size() const {
  std::int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

bool Box::contains(std::span<const double> x) const {
  if (static_cast<std::int64_t>(x.size()) != size()) return false;
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (!(x[i] >= low[i] && x[i] <= high[i])) return false;
  }
  return true;
}

void Info::set(const char* name, double value) {
  for (int i = 0; i < size_; ++i) {
    if (names_[i] == name || std::strcmp(names_[i], name) == 0) {
      values_[i] = value;
      return;
    }
  }
  CS_CHECK(size_ < kCapacity, "step info holds at most ", kCapacity, " entries");
  names_[size_] = name;
  values_[size_] = value;
  ++size_;
}

bool Info::has(std::string_view name) const {
  for (int i = 0; i < size_; ++i)
    if (name == names_[i]) return true;
  return false;
}

double Info::get(std::string_view name) const {
  for (int i = 0; i < size_; ++i)
    if (name == names_[i]) return values_[i];
  std::vector<std::string> present;
  for (int i = 0; i < size_; ++i) present.emplace_back(names_[i]);
  CS_THROW(UnknownNameError, "step info has no entry '", name, "' (present: ", join(present, ", "),
           ")");
}

std::string Env::save_state() const {
  CS_THROW(RuntimeError, "environment '", spec().name, "' cannot save its state");
}

void Env::load_state(std::string_view /*state*/) {
  CS_THROW(RuntimeError, "environment '", spec().name, "' cannot load a saved state");
}

std::vector<double> Env::reset(std::uint64_t seed) {
  std::vector<double> obs(static_cast<std::size_t>(spec().observation_space.size()));
  reset(seed, obs);
  return obs;
}

StepResult Env::step(std::span<const double> action, std::vector<double>& out) {
  out.resize(static_cast<std::size_t>(spec().observation_space.size()));
  return step(action, std::span<double>(out));
}

}  // namespace clearsight::envs
