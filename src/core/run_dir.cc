#include "clearsight/core/run_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <mutex>

#include "clearsight/core/atomic_file.h"
#include "clearsight/core/error.h"
#include "clearsight/core/strings.h"
#include "clearsight/core/tensorboard.h"

namespace clearsight {

namespace fs = std::filesystem;

class RunLock {
 public:
  // Locks dir/.lock or throws RuntimeError naming the process that holds it.
  explicit RunLock(const fs::path& dir) {
    const auto file = dir / ".lock";
    fd_ = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    CS_CHECK_AS(IoError, fd_ >= 0, "cannot open '", file.string(), "': ", std::strerror(errno));
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      char buffer[32] = {};
      const auto n = ::pread(fd_, buffer, sizeof(buffer) - 1, 0);
      ::close(fd_);
      std::string holder = n > 0 ? std::string(buffer, static_cast<std::size_t>(n)) : "";
      while (!holder.empty() && std::isspace(static_cast<unsigned char>(holder.back()))) {
        holder.pop_back();
      }
      if (holder.empty()) holder = "unknown";
      CS_CHECK_AS(IoError, err == EWOULDBLOCK, "cannot lock '", file.string(),
                  "': ", std::strerror(err));
      CS_THROW(RuntimeError, "run directory '", dir.string(),
               "' is in use by another clearsight process (pid ", holder,
               "); wait for it to finish or choose another output folder");
    }
    const std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, pid.data(), pid.size(), 0) < 0) {
      // The lock holds without the pid; only the message to a second process is poorer.
    }
  }
  ~RunLock() { ::close(fd_); }  // Closing releases the flock.
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;

 private:
  int fd_ = -1;
};

namespace {

// Run directories this process holds: RunDirs of one directory share its lock (a second flock
// from the same process would fail against its own first one).
std::shared_ptr<RunLock> lock_run_dir(const fs::path& dir) {
  static std::mutex mutex;
  static std::map<std::string, std::weak_ptr<RunLock>> held;
  std::error_code ec;
  const auto key = fs::weakly_canonical(dir, ec).string();
  std::lock_guard<std::mutex> guard(mutex);
  auto& slot = held[ec ? dir.string() : key];
  if (auto lock = slot.lock()) return lock;
  auto lock = std::make_shared<RunLock>(dir);
  slot = lock;
  return lock;
}

}  // namespace

RunDir::RunDir(fs::path path) : path_(std::move(path)), lock_(lock_run_dir(path_)) {}

std::string today_string() {
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char buffer[16];
  std::strftime(buffer, sizeof(buffer), "%Y-%m-%d", &local);
  return buffer;
}

RunDir RunDir::create(const fs::path& root, const std::string& name) {
  CS_CHECK_AS(ConfigError, !name.empty() && name.find('/') == std::string::npos, "run name '", name,
              "' must be non-empty and contain no '/'");
  std::error_code ec;
  fs::create_directories(root, ec);
  CS_CHECK_AS(IoError, !ec, "cannot create runs directory '", root.string(), "': ", ec.message());
  const std::string base = today_string() + "-" + name;
  for (int suffix = 0; suffix < 10000; ++suffix) {
    const fs::path candidate = root / (suffix == 0 ? base : base + "-" + std::to_string(suffix));
    if (fs::create_directory(candidate, ec)) return RunDir(candidate);
    CS_CHECK_AS(IoError, !ec, "cannot create run directory '", candidate.string(),
                "': ", ec.message());
  }
  CS_THROW(IoError, "too many runs named '", base, "' under '", root.string(), "'");
}

RunDir RunDir::open(const fs::path& dir) {
  std::error_code ec;
  CS_CHECK_AS(IoError, fs::is_directory(dir, ec), "run directory '", dir.string(),
              "' does not exist");
  return RunDir(dir);
}

RunDir RunDir::at(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  CS_CHECK_AS(IoError, !ec && fs::is_directory(dir), "cannot create run directory '", dir.string(),
              "': ", ec.message());
  return RunDir(dir);
}

fs::path RunDir::file(const std::string& relative) const {
  const fs::path full = path_ / relative;
  std::error_code ec;
  fs::create_directories(full.parent_path(), ec);
  CS_CHECK_AS(IoError, !ec, "cannot create '", full.parent_path().string(), "': ", ec.message());
  return full;
}

void RunDir::write_json(const std::string& relative, const nlohmann::json& value) const {
  atomic_write(file(relative), value.dump(2) + "\n");
}

void RunDir::write_config(const nlohmann::json& config) const { write_json("config.json", config); }

nlohmann::json RunDir::read_config() const {
  const std::string text = read_file(path_ / "config.json");
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    CS_THROW(FormatError, "'", (path_ / "config.json").string(), "' is not valid JSON: ", e.what());
  }
}

namespace {

// A CSV cell: numbers exact (%.17g), strings quoted when they hold a comma, quote or line break.
std::string csv_cell(const nlohmann::json& v) {
  if (v.is_null()) return "";
  if (v.is_number_float()) {
    char buffer[40];
    std::snprintf(buffer, sizeof(buffer), "%.17g", v.get<double>());
    return buffer;
  }
  std::string text = v.is_string() ? v.get<std::string>() : v.dump();
  if (text.find_first_of(",\"\n\r") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

std::string csv_row(const std::vector<std::string>& columns, const nlohmann::json& record) {
  std::string line;
  for (std::size_t i = 0; i < columns.size(); ++i) {
    if (i) line += ',';
    if (record.contains(columns[i])) line += csv_cell(record[columns[i]]);
  }
  return line + "\n";
}

void append_line(const fs::path& path, const std::string& line) {
  std::FILE* out = std::fopen(path.c_str(), "ab");
  CS_CHECK_AS(IoError, out != nullptr, "cannot append to '", path.string(),
              "': ", std::strerror(errno));
  const bool ok = std::fwrite(line.data(), 1, line.size(), out) == line.size();
  const bool closed = std::fclose(out) == 0;
  CS_CHECK_AS(IoError, ok && closed, "cannot append to '", path.string(),
              "': ", std::strerror(errno));
}

// Appends record to an SB3-style CSV (a header row, then one row per record). A record with a
// key the header lacks rewrites the file with the wider header (earlier rows get empty cells),
// as SB3's CSV writer does.
void append_csv(const fs::path& path, const nlohmann::json& record) {
  std::vector<std::string> columns;
  {
    std::ifstream in(path);
    std::string header;
    if (in && std::getline(in, header) && !header.empty()) columns = split(header, ',');
  }
  std::vector<std::string> added;
  for (const auto& [key, value] : record.items()) {
    if (std::find(columns.begin(), columns.end(), key) == columns.end()) added.push_back(key);
  }
  if (added.empty() && !columns.empty()) {
    append_line(path, csv_row(columns, record));
    return;
  }
  const auto old_columns = columns;
  std::error_code ec;
  const std::string text = fs::exists(path, ec) ? read_file(path) : std::string();
  columns.insert(columns.end(), added.begin(), added.end());
  std::string out;
  for (std::size_t i = 0; i < columns.size(); ++i) out += (i ? "," : "") + columns[i];
  out += "\n";
  // Earlier rows keep their cells; the new columns are empty for them.
  const auto first = text.find('\n');
  if (first != std::string::npos && !old_columns.empty()) {
    std::size_t at = first + 1;
    while (at < text.size()) {
      const auto next = text.find('\n', at);
      if (next == std::string::npos) break;  // a torn last row (killed run) is dropped
      out += text.substr(at, next - at) + std::string(added.size(), ',') + "\n";
      at = next + 1;
    }
  }
  out += csv_row(columns, record);
  atomic_write(path, out);
}

}  // namespace

void RunDir::log_metrics(const nlohmann::json& record) const {
  CS_CHECK_AS(ConfigError, record.is_object(), "a metrics record must be a JSON object");
  // The same record for spreadsheet and plotting tools: evaluation rows (any "eval_" key) in
  // eval.csv, training rows in progress.csv.
  bool eval = false;
  for (const auto& [key, value] : record.items()) eval = eval || key.rfind("eval_", 0) == 0;
  append_csv(path_ / (eval ? "eval.csv" : "progress.csv"), record);
  // And for TensorBoard: every number but the step, as a scalar at that step.
  if (record.contains("step") && record["step"].is_number()) {
    std::map<std::string, double> scalars;
    for (const auto& [key, value] : record.items()) {
      if (key != "step" && value.is_number()) scalars[key] = value.get<double>();
    }
    if (!scalars.empty()) {
      const double now =
          std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
              .count();
      append_scalars(event_file_in(path_), scalars, record["step"].get<std::int64_t>(), now);
    }
  }
  const fs::path path = path_ / "metrics.jsonl";
  // One write() of a complete line per record: a killed run leaves at most one torn last line,
  // which read_metrics skips.
  append_line(path, record.dump() + "\n");
}

std::size_t RunDir::cut_metrics_after(std::int64_t step) const {
  std::error_code ec;
  const fs::path jsonl = path_ / "metrics.jsonl";
  if (!fs::exists(jsonl, ec)) return 0;
  std::size_t dropped = 0;
  std::string kept;
  // The CSVs are views of metrics.jsonl: rebuilt from the kept rows, with the columns in the
  // order log_metrics would have added them.
  std::vector<nlohmann::json> rows[2];
  for (const auto& row : read_metrics()) {
    if (row.contains("step") && row["step"].is_number() &&
        row["step"].get<double>() > static_cast<double>(step)) {
      ++dropped;
      continue;
    }
    kept += row.dump() + "\n";
    bool eval = false;
    for (const auto& [key, value] : row.items()) eval = eval || key.rfind("eval_", 0) == 0;
    rows[eval ? 1 : 0].push_back(row);
  }
  cut_event_file(event_file_in(path_), step);
  // Also rewritten when only a torn last line (a kill mid-write) goes: the next row would join it.
  if (dropped == 0 && read_file(jsonl) == kept) return 0;
  atomic_write(jsonl, kept);
  const char* names[2] = {"progress.csv", "eval.csv"};
  for (int k = 0; k < 2; ++k) {
    const fs::path csv = path_ / names[k];
    if (rows[k].empty()) {
      fs::remove(csv, ec);
      continue;
    }
    std::vector<std::string> columns;
    for (const auto& row : rows[k]) {
      for (const auto& [key, value] : row.items()) {
        if (std::find(columns.begin(), columns.end(), key) == columns.end()) columns.push_back(key);
      }
    }
    std::string out;
    for (std::size_t i = 0; i < columns.size(); ++i) out += (i ? "," : "") + columns[i];
    out += "\n";
    for (const auto& row : rows[k]) out += csv_row(columns, row);
    atomic_write(csv, out);
  }
  return dropped;
}

std::vector<nlohmann::json> RunDir::read_metrics() const {
  std::vector<nlohmann::json> out;
  const fs::path path = path_ / "metrics.jsonl";
  std::error_code ec;
  if (!fs::exists(path, ec)) return out;
  const std::string text = read_file(path);
  const auto lines = split(text, '\n');
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].empty()) continue;
    try {
      out.push_back(nlohmann::json::parse(lines[i]));
    } catch (const nlohmann::json::parse_error& e) {
      const bool last = i + 1 == lines.size();  // No trailing newline: torn by a kill.
      CS_CHECK_AS(FormatError, last, "'", path.string(), "' line ", i + 1,
                  " is not valid JSON: ", e.what());
    }
  }
  return out;
}

}  // namespace clearsight
