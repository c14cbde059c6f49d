#include "clearsight/core/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>

#include "clearsight/core/log.h"
#include "clearsight/core/strings.h"

namespace clearsight {

bool is_terminal(std::FILE* stream) { return stream != nullptr && isatty(fileno(stream)) == 1; }

ProgressBar::ProgressBar(std::string label, std::int64_t total, ProgressOptions options,
                         std::FILE* stream)
    : label_(std::move(label)),
      total_(std::max<std::int64_t>(total, 0)),
      options_(std::move(options)),
      stream_(stream),
      active_(!options_.disable && (options_.force || is_terminal(stream))),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_ - std::chrono::hours(1)) {}

ProgressBar::~ProgressBar() { finish(); }

void ProgressBar::advance(std::int64_t n) { set(done_ + n); }

void ProgressBar::set(std::int64_t done) {
  done_ = done;
  if (!warmed_ && done_ > 0) {
    // The first unit carries the warm-up (loading, first allocations): the ETA's rate is
    // measured from here on.
    warmed_ = true;
    warm_done_ = done_;
    warm_time_ = std::chrono::steady_clock::now();
  }
  if (!active_ || finished_) return;
  const auto now = std::chrono::steady_clock::now();
  if (std::chrono::duration<double>(now - last_draw_).count() >= options_.min_interval_s)
    draw(false);
}

void ProgressBar::set_postfix(std::string postfix) { postfix_ = std::move(postfix); }

void ProgressBar::finish() {
  if (finished_) return;
  finished_ = true;
  if (active_) {
    draw(true);
  } else if (!options_.disable && done_ > 0) {
    // Off a terminal (logs, CI): one line per finished stage instead of a bar.
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    log::info("{}: {} {} in {}{}", label_.empty() ? "done" : label_, done_, options_.unit,
              human_duration(elapsed), postfix_.empty() ? "" : "  " + postfix_);
  }
}

double ProgressBar::rate() const {
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  return elapsed > 0 ? static_cast<double>(done_) / elapsed : 0.0;
}

double ProgressBar::eta_seconds() const {
  if (total_ <= 0 || !warmed_ || done_ <= warm_done_) return -1.0;
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - warm_time_).count();
  if (elapsed <= 0) return -1.0;
  const double r = static_cast<double>(done_ - warm_done_) / elapsed;
  return static_cast<double>(std::max<std::int64_t>(total_ - done_, 0)) / r;
}

std::string ProgressBar::render_line() const {
  std::string line = label_;
  if (!line.empty()) line += ' ';
  char buffer[96];
  if (total_ > 0) {
    const double fraction = std::clamp(static_cast<double>(done_) / total_, 0.0, 1.0);
    const int filled = static_cast<int>(std::lround(fraction * options_.width));
    line += '[';
    line.append(filled, '#');
    line.append(options_.width - filled, '.');
    line += "] ";
    std::snprintf(buffer, sizeof(buffer), "%lld/%lld ", static_cast<long long>(done_),
                  static_cast<long long>(total_));
  } else {
    std::snprintf(buffer, sizeof(buffer), "%lld ", static_cast<long long>(done_));
  }
  line += buffer;
  const double r = rate();
  std::snprintf(buffer, sizeof(buffer), r >= 100 ? "%.0f %s/s" : "%.2f %s/s", r,
                options_.unit.c_str());
  line += buffer;
  const double eta = eta_seconds();
  if (eta >= 0 && done_ < total_) line += " ETA " + human_duration(eta);
  if (done_ >= total_ && total_ > 0) {
    line += " in " +
            human_duration(
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count());
  }
  if (!postfix_.empty()) line += "  " + postfix_;
  return line;
}

void ProgressBar::draw(bool final) {
  last_draw_ = std::chrono::steady_clock::now();
  const std::string line = render_line();
  std::fprintf(stream_, "\r%s\x1b[K%s", line.c_str(), final ? "\n" : "");
  std::fflush(stream_);
}

}  // namespace clearsight
