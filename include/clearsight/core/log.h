// Logging through spdlog with one verbosity knob shared by the CLI and the library.
#pragma once

#include <spdlog/spdlog.h>

namespace clearsight::log {

/// Sets the log level from a verbosity count: -1 quiet (errors only), 0 info, 1 debug, 2+ trace.
void set_verbosity(int verbosity);

/// The verbosity last set with set_verbosity (0 by default).
int verbosity();

/// Installs ClearSight's stderr logger with a compact pattern (idempotent).
void init();

using spdlog::debug;
using spdlog::error;
using spdlog::info;
using spdlog::trace;
using spdlog::warn;

}  // namespace clearsight::log
