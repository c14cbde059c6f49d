#include "clearsight/miner/selection_io.h"

#include <cmath>

#include "clearsight/core/error.h"
#include "clearsight/core/safetensors.h"
#include "clearsight/core/strings.h"

namespace clearsight::miner {

void save_selection(const Selection& s, const std::filesystem::path& path,
                    const std::string& model) {
  std::vector<std::string> weights;
  for (double w : s.options.weights) weights.push_back(std::to_string(w));
  safetensors::save(path, {{"masks", s.masks}},
                    {{"kind", "miner_selection"},
                     {"model", model},
                     {"modalities", join(s.modalities, ",")},
                     {"strategy", s.options.strategy},
                     {"ratio", std::to_string(s.options.ratio)},
                     {"split", s.options.split},
                     {"weights", join(weights, ",")}});
}

Selection load_selection(const std::filesystem::path& path) {
  const auto file = safetensors::File::open(path);
  const auto& meta = file.metadata();
  const auto kind = meta.count("kind") ? meta.at("kind") : std::string();
  CS_CHECK_AS(FormatError, kind == "miner_selection", "'", path.string(),
              "' is not a MINER selection file (metadata kind '", kind,
              "', expected 'miner_selection')");
  CS_CHECK_AS(FormatError, meta.count("modalities") && file.contains("masks"), "'", path.string(),
              "' lacks the modalities metadata or the masks tensor");
  Selection s;
  s.modalities = split(meta.at("modalities"), ',');
  s.masks = file.get("masks");
  CS_CHECK_AS(FormatError,
              s.masks.scalar_type() == torch::kBool && s.masks.dim() == 3 &&
                  s.masks.size(0) == static_cast<std::int64_t>(s.modalities.size()),
              "'", path.string(), "': masks must be bool [", s.modalities.size(),
              ", layers, neurons], got ", s.masks.sizes());
  if (meta.count("strategy")) s.options.strategy = meta.at("strategy");
  if (meta.count("split")) s.options.split = meta.at("split");
  if (meta.count("ratio")) {
    try {
      s.options.ratio = std::stod(meta.at("ratio"));
    } catch (const std::exception&) {
      CS_THROW(FormatError, "'", path.string(), "': ratio '", meta.at("ratio"),
               "' is not a number");
    }
  }
  if (meta.count("weights")) {
    const auto parts = split(meta.at("weights"), ',');
    CS_CHECK_AS(FormatError, parts.size() == s.options.weights.size(), "'", path.string(),
                "': weights '", meta.at("weights"), "' are not ", s.options.weights.size(),
                " numbers (",
                join(std::vector<std::string>(kMetrics.begin(), kMetrics.end()), ", "), ")");
    for (std::size_t i = 0; i < parts.size(); ++i) {
      try {
        s.options.weights[i] = std::stod(parts[i]);
      } catch (const std::exception&) {
        CS_THROW(FormatError, "'", path.string(), "': weight '", parts[i], "' is not a number");
      }
      CS_CHECK_AS(FormatError, std::isfinite(s.options.weights[i]), "'", path.string(),
                  "': weight '", parts[i], "' is not finite");
    }
  }
  return s;
}

}  // namespace clearsight::miner
