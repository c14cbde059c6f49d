#include "clearsight/il/noise.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstring>
#include <random>

#include "clearsight/core/error.h"
#include "clearsight/core/rng.h"
#include "clearsight/core/strings.h"
#include "clearsight/il/demos.h"

namespace clearsight::il {
namespace {

constexpr NoiseKind kKinds[] = {NoiseKind::kGauss,      NoiseKind::kMult,     NoiseKind::kUniform,
                                NoiseKind::kDrop,       NoiseKind::kDropRand, NoiseKind::kAction,
                                NoiseKind::kActionExec, NoiseKind::kMix};

std::string trim(std::string_view text) {
  const auto begin = text.find_first_not_of(" \t\n");
  if (begin == std::string_view::npos) return "";
  const auto end = text.find_last_not_of(" \t\n");
  return std::string(text.substr(begin, end - begin + 1));
}

NoiseKind kind_from_name(const std::string& name) {
  for (auto kind : kKinds) {
    if (noise_kind_name(kind) == name) return kind;
  }
  const auto names = noise_kind_names();
  const std::string hint = did_you_mean(name, names);
  CS_THROW(UnknownNameError, "unknown noise kind '", name, "' (valid: ", join(names, ", "), ")",
           hint.empty() ? "" : "; " + hint);
}

std::string format_number(double value) {
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  return std::string(buffer, result.ptr);
}

double parse_number(const std::string& text, const std::string& component) {
  double value = 0;
  const char* end = text.data() + text.size();
  const auto result = std::from_chars(text.data(), end, value);
  CS_CHECK_AS(ConfigError, !text.empty() && result.ec == std::errc() && result.ptr == end,
              "noise '", component, "': '", text, "' is not a number");
  return value;
}

/// Checks a component's value range; component is its text for messages.
void check_component(const NoiseComponent& c, const std::string& component) {
  const auto name = noise_kind_name(c.kind);
  if (c.kind == NoiseKind::kDrop) {
    CS_CHECK_AS(ConfigError, !c.dims.empty(), "noise '", component,
                "' needs the dimensions to zero (drop:2,5)");
    for (auto d : c.dims) {
      CS_CHECK_AS(ConfigError, d >= 0, "noise '", component, "': dimension ", d, " is negative");
    }
    return;
  }
  CS_CHECK_AS(ConfigError, std::isfinite(c.scale) && c.scale >= 0, "noise '", component,
              "': ", name, " needs a finite value >= 0, got ", c.scale);
  if (c.kind == NoiseKind::kDropRand || c.kind == NoiseKind::kMix) {
    CS_CHECK_AS(ConfigError, c.scale <= 1, "noise '", component, "': ", name,
                " is a probability in [0, 1], got ", c.scale);
  }
}

NoiseComponent parse_component(const std::string& text) {
  const auto colon = text.find(':');
  const std::string name = to_lower(trim(text.substr(0, colon)));
  const NoiseKind kind = kind_from_name(name);
  CS_CHECK_AS(ConfigError, colon != std::string::npos, "noise '", text, "' needs a value (", name,
              kind == NoiseKind::kDrop ? ":I,J,...)" : ":VALUE)");
  NoiseComponent c;
  c.kind = kind;
  const std::string value = trim(text.substr(colon + 1));
  if (kind == NoiseKind::kDrop) {
    for (const auto& piece : split(value, ',')) {
      const std::string dim = trim(piece);
      std::int64_t d = 0;
      const char* end = dim.data() + dim.size();
      const auto result = std::from_chars(dim.data(), end, d);
      CS_CHECK_AS(ConfigError, !dim.empty() && result.ec == std::errc() && result.ptr == end,
                  "noise '", text, "': '", dim, "' is not a dimension index");
      c.dims.push_back(d);
    }
  } else {
    c.scale = parse_number(value, text);
  }
  check_component(c, text);
  return c;
}

std::string component_string(const NoiseComponent& c) {
  std::string out = std::string(noise_kind_name(c.kind)) + ":";
  if (c.kind == NoiseKind::kDrop) {
    for (std::size_t i = 0; i < c.dims.size(); ++i) {
      if (i > 0) out += ',';
      out += std::to_string(c.dims[i]);
    }
  } else {
    out += format_number(c.scale);
  }
  return out;
}

/// Per-dimension population standard deviation of rows [n, dim] (row-major).
std::vector<double> column_std(const std::vector<double>& rows, std::size_t n, std::size_t dim) {
  std::vector<double> mean(dim, 0.0), var(dim, 0.0);
  for (std::size_t r = 0; r < n; ++r)
    for (std::size_t j = 0; j < dim; ++j) mean[j] += rows[r * dim + j];
  for (auto& m : mean) m /= static_cast<double>(n);
  for (std::size_t r = 0; r < n; ++r) {
    for (std::size_t j = 0; j < dim; ++j) {
      const double e = rows[r * dim + j] - mean[j];
      var[j] += e * e;
    }
  }
  for (auto& v : var) v = std::sqrt(v / static_cast<double>(n));
  return var;
}

/// Applies one state-noise component to every row of states [n, dim].
void corrupt_states(const NoiseComponent& c, const std::vector<double>& std_dev,
                    std::vector<double>& states, std::size_t dim, RngEngine& rng) {
  std::normal_distribution<double> normal(0.0, 1.0);
  std::uniform_real_distribution<double> uniform(-1.0, 1.0);
  std::bernoulli_distribution dropped(c.kind == NoiseKind::kDropRand ? c.scale : 0.0);
  for (std::size_t i = 0; i < states.size(); ++i) {
    const std::size_t j = i % dim;
    double& x = states[i];
    switch (c.kind) {
      case NoiseKind::kGauss:
        x += c.scale * std_dev[j] * normal(rng);
        break;
      case NoiseKind::kMult:
        x *= 1.0 + c.scale * normal(rng);
        break;
      case NoiseKind::kUniform:
        x += c.scale * std_dev[j] * uniform(rng);
        break;
      case NoiseKind::kDropRand:
        if (dropped(rng)) x = 0.0;
        break;
      case NoiseKind::kDrop:
        if (std::find(c.dims.begin(), c.dims.end(), static_cast<std::int64_t>(j)) != c.dims.end())
          x = 0.0;
        break;
      default:
        break;
    }
  }
}

}  // namespace

std::string_view noise_kind_name(NoiseKind kind) {
  switch (kind) {
    case NoiseKind::kGauss:
      return "gauss";
    case NoiseKind::kMult:
      return "mult";
    case NoiseKind::kUniform:
      return "uniform";
    case NoiseKind::kDrop:
      return "drop";
    case NoiseKind::kDropRand:
      return "drop-rand";
    case NoiseKind::kAction:
      return "action";
    case NoiseKind::kActionExec:
      return "action-exec";
    case NoiseKind::kMix:
      return "mix";
  }
  return "?";
}

std::vector<std::string> noise_kind_names() {
  std::vector<std::string> names;
  for (auto kind : kKinds) names.emplace_back(noise_kind_name(kind));
  return names;
}

bool NoiseComponent::is_state_noise() const {
  return kind == NoiseKind::kGauss || kind == NoiseKind::kMult || kind == NoiseKind::kUniform ||
         kind == NoiseKind::kDrop || kind == NoiseKind::kDropRand;
}

bool NoiseComponent::is_collection_only() const {
  return kind == NoiseKind::kActionExec || kind == NoiseKind::kMix;
}

NoiseSpec NoiseSpec::parse(std::string_view text) {
  NoiseSpec spec;
  const std::string whole = trim(text);
  if (whole.empty() || to_lower(whole) == "none") return spec;
  // '+' always separates components; ',' does too, except before a bare number, which continues
  // the previous component's list (drop:2,5).
  std::vector<std::string> pieces;
  for (const auto& group : split(whole, '+')) {
    bool first = true;
    for (const auto& raw : split(group, ',')) {
      const std::string piece = trim(raw);
      const bool continues =
          !first && !pieces.empty() && piece.find(':') == std::string::npos && !piece.empty() &&
          (std::isdigit(static_cast<unsigned char>(piece[0])) || piece[0] == '-');
      if (continues) {
        pieces.back() += "," + piece;
      } else {
        CS_CHECK_AS(ConfigError, !piece.empty(), "noise spec '", whole, "' has an empty component");
        pieces.push_back(piece);
      }
      first = false;
    }
  }
  for (const auto& piece : pieces) spec.components.push_back(parse_component(piece));
  return spec;
}

NoiseSpec NoiseSpec::from_json(const nlohmann::json& json) {
  const nlohmann::json* list = &json;
  if (json.is_object()) {
    CS_CHECK_AS(ConfigError, json.contains("components") && json["components"].is_array(),
                "a noise record needs a 'components' array, got ", json.dump());
    list = &json["components"];
  }
  CS_CHECK_AS(ConfigError, list->is_array(), "a noise record is an object or array, got ",
              json.dump());
  NoiseSpec spec;
  for (const auto& item : *list) {
    CS_CHECK_AS(ConfigError, item.is_object() && item.contains("kind") && item["kind"].is_string(),
                "a noise component needs a 'kind', got ", item.dump());
    NoiseComponent c;
    c.kind = kind_from_name(item["kind"].get<std::string>());
    if (c.kind == NoiseKind::kDrop) {
      CS_CHECK_AS(ConfigError, item.contains("dims") && item["dims"].is_array(), "noise component ",
                  item.dump(), " needs a 'dims' array");
      for (const auto& d : item["dims"]) {
        CS_CHECK_AS(ConfigError, d.is_number_integer(), "noise component ", item.dump(),
                    ": dimensions are integers");
        c.dims.push_back(d.get<std::int64_t>());
      }
    } else {
      CS_CHECK_AS(ConfigError, item.contains("scale") && item["scale"].is_number(),
                  "noise component ", item.dump(), " needs a numeric 'scale'");
      c.scale = item["scale"].get<double>();
    }
    check_component(c, item.dump());
    spec.components.push_back(std::move(c));
  }
  return spec;
}

std::string NoiseSpec::to_string() const {
  if (components.empty()) return "none";
  std::string out;
  for (std::size_t i = 0; i < components.size(); ++i) {
    if (i > 0) out += '+';
    out += component_string(components[i]);
  }
  return out;
}

nlohmann::json NoiseSpec::to_json() const {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& c : components) {
    nlohmann::json item = {{"kind", noise_kind_name(c.kind)}};
    if (c.kind == NoiseKind::kDrop) {
      item["dims"] = c.dims;
    } else {
      item["scale"] = c.scale;
    }
    list.push_back(std::move(item));
  }
  return {{"spec", to_string()}, {"components", list}};
}

NoiseSpec NoiseSpec::post_hoc() const {
  NoiseSpec out;
  for (const auto& c : components) {
    if (!c.is_collection_only()) out.components.push_back(c);
  }
  return out;
}

NoiseSpec NoiseSpec::then(const NoiseSpec& other) const {
  NoiseSpec out = *this;
  out.components.insert(out.components.end(), other.components.begin(), other.components.end());
  return out;
}

double NoiseSpec::executed_action_sigma() const {
  double var = 0;
  for (const auto& c : components) {
    if (c.kind == NoiseKind::kActionExec) var += c.scale * c.scale;
  }
  return std::sqrt(var);
}

double NoiseSpec::mix_share() const {
  double share = 0;
  for (const auto& c : components) {
    if (c.kind == NoiseKind::kMix) share = c.scale;
  }
  return share;
}

void apply_observation_noise(DemoDataset& dataset, const NoiseSpec& spec, std::uint64_t seed) {
  for (const auto& c : spec.components) {
    CS_CHECK_AS(ConfigError, !c.is_collection_only(), "noise '", component_string(c),
                "' acts while collecting demonstrations (demos collect --noise); it cannot be "
                "applied to recorded data");
  }
  dataset.validate();
  const auto t = static_cast<std::size_t>(dataset.size());
  const auto dim = static_cast<std::size_t>(dataset.observation_size());
  for (const auto& c : spec.components) {
    for (auto d : c.dims) {
      CS_CHECK_AS(ConfigError, d < static_cast<std::int64_t>(dim), "noise '", component_string(c),
                  "': observations have ", dim, " dimensions (0..", dim - 1, ")");
    }
  }
  NoiseSpec recorded;
  if (!dataset.meta.noise.empty()) {
    recorded = NoiseSpec::from_json(nlohmann::json::parse(dataset.meta.noise));
  }
  dataset.meta.noise = recorded.then(spec).to_json().dump();
  dataset.meta.noise_seed = seed;
  if (spec.empty()) return;

  // One row per distinct state: observations[t], then each next_observations[t] that is not
  // observations[t + 1] (episode ends); a state seen twice is corrupted once.
  const auto obs = dataset.observations.to(torch::kFloat64).contiguous();
  const auto next = dataset.next_observations.to(torch::kFloat64).contiguous();
  const double* o = obs.data_ptr<double>();
  const double* n = next.data_ptr<double>();
  std::vector<double> states(o, o + t * dim);
  std::vector<std::size_t> next_row(t);
  for (std::size_t i = 0; i < t; ++i) {
    const bool same =
        i + 1 < t && std::memcmp(n + i * dim, o + (i + 1) * dim, dim * sizeof(double)) == 0;
    if (same) {
      next_row[i] = i + 1;
    } else {
      next_row[i] = states.size() / dim;
      states.insert(states.end(), n + i * dim, n + (i + 1) * dim);
    }
  }
  const std::vector<double> std_dev = column_std(std::vector<double>(o, o + t * dim), t, dim);

  auto actions = dataset.actions.to(torch::kFloat64).contiguous();
  double* a = actions.data_ptr<double>();
  bool state_changed = false;
  for (std::size_t k = 0; k < spec.components.size(); ++k) {
    const auto& c = spec.components[k];
    RngEngine rng(derive_seed(seed, static_cast<std::uint64_t>(k)));
    if (c.kind == NoiseKind::kAction) {
      std::normal_distribution<double> normal(0.0, c.scale);
      for (std::int64_t i = 0; i < actions.numel(); ++i) {
        a[i] = std::clamp(a[i] + normal(rng), -1.0, 1.0);
      }
    } else {
      corrupt_states(c, std_dev, states, dim, rng);
      state_changed = true;
    }
  }
  dataset.actions = actions.to(torch::kFloat32);
  if (!state_changed) return;
  auto noisy_obs =
      torch::empty({static_cast<std::int64_t>(t), static_cast<std::int64_t>(dim)}, torch::kFloat64);
  auto noisy_next = torch::empty_like(noisy_obs);
  double* no = noisy_obs.data_ptr<double>();
  double* nn = noisy_next.data_ptr<double>();
  std::copy(states.begin(), states.begin() + static_cast<std::ptrdiff_t>(t * dim), no);
  for (std::size_t i = 0; i < t; ++i) {
    std::copy_n(states.begin() + static_cast<std::ptrdiff_t>(next_row[i] * dim), dim, nn + i * dim);
  }
  dataset.observations = noisy_obs.to(torch::kFloat32);
  dataset.next_observations = noisy_next.to(torch::kFloat32);
}

}  // namespace clearsight::il
