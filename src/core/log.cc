#include "clearsight/core/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <atomic>
#include <mutex>

namespace clearsight::log {
namespace {
std::atomic<int> g_verbosity{0};
std::once_flag g_init_once;
}  // namespace

void init() {
  std::call_once(g_init_once, [] {
    auto logger = spdlog::stderr_color_mt("clearsight");
    logger->set_pattern("%^[%L %H:%M:%S]%$ %v");
    spdlog::set_default_logger(logger);
    spdlog::set_level(spdlog::level::info);
  });
}

void set_verbosity(int verbosity) {
  init();
  g_verbosity = verbosity;
  spdlog::level::level_enum level = spdlog::level::info;
  if (verbosity < 0) level = spdlog::level::err;
  if (verbosity == 1) level = spdlog::level::debug;
  if (verbosity >= 2) level = spdlog::level::trace;
  spdlog::set_level(level);
}

int verbosity() { return g_verbosity; }

}  // namespace clearsight::log
