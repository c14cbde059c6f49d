// Architecture presets of the built-in models.
#pragma once

#include <string>
#include <vector>

#include "clearsight/mm/config.h"

namespace clearsight::mm {

/// The architecture of a built-in model ("cs-tiny-vl", "cs-tiny-audio") for a vocabulary of
/// vocab_size tokens; throws UnknownNameError for other names.
ModelConfig preset_config(const std::string& name, std::int64_t vocab_size);

/// Names of the presets.
std::vector<std::string> preset_names();

}  // namespace clearsight::mm
