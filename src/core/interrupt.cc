#include "clearsight/core/interrupt.h"

#include <atomic>
#include <csignal>

namespace clearsight {
namespace {

std::atomic<bool> g_stop{false};
std::atomic<int> g_signal{0};

extern "C" void on_stop_signal(int signal) {
  // Only async-signal-safe work: two lock-free stores and signal() itself, which restores the
  // default action so that a second Ctrl-C ends a run that does not stop soon enough.
  g_signal.store(signal, std::memory_order_relaxed);
  g_stop.store(true, std::memory_order_release);
  std::signal(signal, SIG_DFL);
}

}  // namespace

void install_stop_handlers() {
  static_assert(std::atomic<bool>::is_always_lock_free && std::atomic<int>::is_always_lock_free);
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
}

bool stop_requested() { return g_stop.load(std::memory_order_acquire); }

int stop_signal() { return g_signal.load(std::memory_order_relaxed); }

void request_stop(int signal) {
  g_signal.store(signal, std::memory_order_relaxed);
  g_stop.store(true, std::memory_order_release);
}

void clear_stop() {
  g_stop.store(false, std::memory_order_release);
  g_signal.store(0, std::memory_order_relaxed);
}

}  // namespace clearsight
