// A terminal progress bar with rate and ETA; off a terminal it logs one line when a stage ends.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace clearsight {

/// Options of a ProgressBar.
struct ProgressOptions {
  /// Draw even when the stream is not a terminal (tests, forced display).
  bool force = false;
  /// Never draw (overrides force).
  bool disable = false;
  /// Width of the bar in characters.
  int width = 28;
  /// Minimum seconds between two redraws.
  double min_interval_s = 0.1;
  /// Unit name shown after the rate ("it", "samples", "steps").
  std::string unit = "it";
};

/// Progress of a long loop: `label [#####.....] 120/1000 12.0 it/s ETA 1m13s postfix`.
class ProgressBar {
 public:
  /// Starts a bar over total units (0 = unknown total) drawn on stream (stderr by default).
  ProgressBar(std::string label, std::int64_t total, ProgressOptions options = {},
              std::FILE* stream = stderr);
  /// Finishes the bar (draws the final state with a newline) if still active.
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  /// Advances by n units and redraws when the redraw interval has passed.
  void advance(std::int64_t n = 1);
  /// Sets the absolute position.
  void set(std::int64_t done);
  /// Sets a short text shown after the ETA (e.g. "return 312.4").
  void set_postfix(std::string postfix);
  /// Draws the final state and ends the line; further calls do nothing.
  void finish();

  /// Units done so far.
  std::int64_t done() const { return done_; }
  /// Units per second since the start.
  double rate() const;
  /// Estimated seconds left at the rate since the first unit (the warm-up excluded), or a negative
  /// number while unknown (before the second unit).
  double eta_seconds() const;
  /// Whether this bar draws at all.
  bool active() const { return active_; }
  /// The line as it would be drawn now (without carriage return).
  std::string render_line() const;

 private:
  void draw(bool final);

  std::string label_;
  std::int64_t total_;
  std::int64_t done_ = 0;
  ProgressOptions options_;
  std::FILE* stream_;
  bool active_;
  bool finished_ = false;
  std::string postfix_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
  bool warmed_ = false;
  std::int64_t warm_done_ = 0;
  std::chrono::steady_clock::time_point warm_time_;
};

/// Whether the stream is attached to a terminal.
bool is_terminal(std::FILE* stream);

}  // namespace clearsight
