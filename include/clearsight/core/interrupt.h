// Stopping long runs cleanly: SIGINT or SIGTERM (Ctrl-C, a scheduler's notice before it kills a
// job) asks training loops to stop at their next step, write their checkpoint and summary, and
// return; a second signal ends the process at once.
#pragma once

namespace clearsight {

/// Installs the SIGINT and SIGTERM handlers (idempotent). Only commands whose loops poll
/// stop_requested() install them, so that Ctrl-C still ends every other command at once.
void install_stop_handlers();

/// Whether a stop was asked since the last clear_stop().
bool stop_requested();

/// The signal that asked the stop (SIGINT, SIGTERM), or 0 for request_stop() or no stop.
int stop_signal();

/// Asks running loops to stop, as a signal would (tests, embedding programs).
void request_stop(int signal = 0);

/// Forgets an earlier stop request.
void clear_stop();

}  // namespace clearsight
