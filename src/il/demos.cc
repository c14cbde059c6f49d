#include "clearsight/il/demos.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <string_view>
#include <utility>

#include "clearsight/core/error.h"
#include "clearsight/core/strings.h"
#include "clearsight/envs/env.h"
#include "clearsight/il/noise.h"
#include "clearsight/version.h"
#include "il/hdf5_file.h"

namespace clearsight::il {
namespace {

/// The six D4RL datasets every demonstration file holds.
const std::vector<std::string> kRequired = {"observations",      "actions",   "rewards",
                                            "next_observations", "terminals", "timeouts"};

std::string shape_string(const std::vector<std::int64_t>& dims) {
  std::string out = "[";
  for (std::size_t i = 0; i < dims.size(); ++i) {
    if (i > 0) out += ", ";
    out += std::to_string(dims[i]);
  }
  return out + "]";
}

std::string tensor_shape(const torch::Tensor& t) {
  if (!t.defined()) return "undefined";
  return shape_string(t.sizes().vec()) + " " + std::string(c10::toString(t.scalar_type()));
}

void check_tensor(const torch::Tensor& t, const char* name, std::vector<std::int64_t> shape,
                  torch::Dtype dtype, const std::string& where) {
  const bool ok = t.defined() && t.scalar_type() == dtype && t.sizes().vec() == shape;
  CS_CHECK_AS(ShapeError, ok, where, name, " must be ", shape_string(shape), " ",
              c10::toString(dtype), ", got ", tensor_shape(t));
}

void check_finite(const torch::Tensor& t, const char* name, const std::string& where) {
  const auto bad = torch::logical_not(torch::isfinite(t));
  if (!bad.any().item<bool>()) return;
  const auto index = bad.nonzero()[0];
  const std::int64_t row = index[0].item<std::int64_t>();
  if (t.dim() == 1) {
    CS_THROW(NumericError, where, name, " holds a non-finite value (", t[row].item<double>(),
             ") at row ", row);
  }
  const std::int64_t column = index[1].item<std::int64_t>();
  CS_THROW(NumericError, where, name, " holds a non-finite value (", t[row][column].item<double>(),
           ") at row ", row, ", column ", column);
}

/// "views/<k>/": where view k (k >= 1) lives in the file, and how errors name it.
std::string view_prefix(std::int64_t k) { return "views/" + std::to_string(k) + "/"; }

void validate_dataset(const DemoDataset& d, const std::string& where) {
  CS_CHECK_AS(ShapeError, d.observations.defined() && d.observations.dim() == 2, where,
              "observations must be [T, obs] float32, got ", tensor_shape(d.observations));
  CS_CHECK_AS(ShapeError, d.actions.defined() && d.actions.dim() == 2, where,
              "actions must be [T, act] float32, got ", tensor_shape(d.actions));
  const std::int64_t t = d.observations.size(0);
  CS_CHECK_AS(ShapeError, t >= 1, where, "the dataset holds no transitions");
  check_tensor(d.observations, "observations", {t, d.observations.size(1)}, torch::kFloat32, where);
  check_tensor(d.actions, "actions", {t, d.actions.size(1)}, torch::kFloat32, where);
  check_tensor(d.rewards, "rewards", {t}, torch::kFloat32, where);
  check_tensor(d.next_observations, "next_observations", d.observations.sizes().vec(),
               torch::kFloat32, where);
  check_tensor(d.terminals, "terminals", {t}, torch::kBool, where);
  check_tensor(d.timeouts, "timeouts", {t}, torch::kBool, where);
  CS_CHECK_AS(ShapeError, d.images.defined() == d.camera_poses.defined(), where,
              "images and camera_poses come together (images ", tensor_shape(d.images),
              ", camera_poses ", tensor_shape(d.camera_poses), ")");
  if (d.images.defined()) {
    CS_CHECK_AS(ShapeError, d.images.dim() == 4, where, "images must be [T, H, W, 3] uint8, got ",
                tensor_shape(d.images));
    check_tensor(d.images, "images", {t, d.images.size(1), d.images.size(2), 3}, torch::kUInt8,
                 where);
    check_tensor(d.camera_poses, "camera_poses", {t, 3}, torch::kFloat32, where);
  }
  CS_CHECK_AS(ShapeError, d.views.empty() || d.images.defined(), where, "the dataset has ",
              d.views.size(), " extra camera views but no images (view 0)");
  for (std::size_t i = 0; i < d.views.size(); ++i) {
    const auto& v = d.views[i];
    const std::string prefix = view_prefix(static_cast<std::int64_t>(i) + 1);
    const std::vector<std::int64_t> frames{t, d.images.size(1), d.images.size(2), 3};
    CS_CHECK_AS(ShapeError,
                v.images.defined() && v.images.scalar_type() == torch::kUInt8 &&
                    v.images.sizes().vec() == frames,
                where, prefix, "images must be ", shape_string(frames),
                " uint8 (every view has the transitions and the frame size of view 0), got ",
                tensor_shape(v.images));
    check_tensor(v.camera_poses, (prefix + "camera_poses").c_str(), {t, 3}, torch::kFloat32, where);
  }
  const auto& m = d.meta;
  if (!m.episode_lengths.empty()) {
    CS_CHECK_AS(ShapeError,
                m.episode_returns.size() == m.episode_lengths.size() &&
                    m.episode_expert.size() == m.episode_lengths.size(),
                where, "episode records disagree: ", m.episode_lengths.size(), " lengths, ",
                m.episode_returns.size(), " returns, ", m.episode_expert.size(), " expert flags");
    std::int64_t total = 0;
    for (auto n : m.episode_lengths) {
      CS_CHECK_AS(ShapeError, n >= 1, where, "an episode has length ", n);
      total += n;
    }
    CS_CHECK_AS(ShapeError, total == t, where, "episode lengths sum to ", total, ", but there are ",
                t, " transitions");
  }
  check_finite(d.observations, "observations", where);
  check_finite(d.actions, "actions", where);
  check_finite(d.rewards, "rewards", where);
  check_finite(d.next_observations, "next_observations", where);
  if (d.camera_poses.defined()) check_finite(d.camera_poses, "camera_poses", where);
  for (std::size_t i = 0; i < d.views.size(); ++i) {
    const std::string name = view_prefix(static_cast<std::int64_t>(i) + 1) + "camera_poses";
    check_finite(d.views[i].camera_poses, name.c_str(), where);
  }
  for (double r : m.episode_returns) {
    CS_CHECK_AS(NumericError, std::isfinite(r), where, "an episode return is ", r);
  }
}

std::filesystem::path temp_path_for(const std::filesystem::path& path) {
  static std::atomic<unsigned> counter{0};
  return path.parent_path() / (path.filename().string() + ".tmp." + std::to_string(getpid()) + "." +
                               std::to_string(counter.fetch_add(1)));
}

void sync_path(const std::filesystem::path& path, bool directory) {
  const int fd =
      ::open(path.empty() ? "." : path.c_str(), directory ? O_RDONLY | O_DIRECTORY : O_RDONLY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

/// Removes a temporary file unless released.
struct TempFileGuard {
  std::filesystem::path path;
  bool keep = false;
  ~TempFileGuard() {
    if (!keep) {
      std::error_code ignored;
      std::filesystem::remove(path, ignored);
    }
  }
};

torch::Tensor contiguous_cpu(const torch::Tensor& t) { return t.cpu().contiguous(); }

void write_tensor(h5::File& file, const std::string& name, const torch::Tensor& t, h5::Dtype dtype,
                  const h5::WriteOptions& options = {}) {
  const auto data = contiguous_cpu(t);
  file.write(name, dtype, data.sizes().vec(), data.data_ptr(), options);
}

std::string noise_json_or_clean(const std::string& noise) {
  return noise.empty() ? NoiseSpec{}.to_json().dump() : noise;
}

/// Reads a float dataset that must have the given leading size and rank (1 or 2).
torch::Tensor read_float(const h5::File& file, const std::string& name, std::int64_t rows, int rank,
                         const std::string& where) {
  const auto info = file.info(name);
  CS_CHECK_AS(ShapeError, info.stored == h5::StoredClass::kFloat, where, name,
              " must hold floats, it holds ", h5::stored_class_name(info.stored), " values");
  auto dims = info.dims;
  // D4RL files sometimes store per-step scalars as [T, 1].
  if (rank == 1 && dims.size() == 2 && dims[1] == 1) dims.pop_back();
  CS_CHECK_AS(ShapeError, static_cast<int>(dims.size()) == rank, where, name, " has shape ",
              shape_string(info.dims), ", expected rank ", rank);
  CS_CHECK_AS(ShapeError, dims[0] == rows, where, name, " has ", dims[0],
              " rows, observations have ", rows);
  auto out = torch::empty(dims, torch::kFloat32);
  file.read(name, h5::Dtype::kFloat32, out.data_ptr());
  return out;
}

torch::Tensor read_flags(const h5::File& file, const std::string& name, std::int64_t rows,
                         const std::string& where) {
  const auto info = file.info(name);
  auto dims = info.dims;
  if (dims.size() == 2 && dims[1] == 1) dims.pop_back();
  CS_CHECK_AS(ShapeError, dims.size() == 1 && dims[0] == rows, where, name, " has shape ",
              shape_string(info.dims), ", expected [", rows, "]");
  // Flags are booleans (D4RL) or integers 0/1; a float 0.7 is no flag.
  CS_CHECK_AS(FormatError,
              info.stored == h5::StoredClass::kBool || info.stored == h5::StoredClass::kInteger,
              where, name, " holds ", h5::stored_class_name(info.stored),
              " values, expected booleans (or integers 0 and 1)");
  if (info.stored == h5::StoredClass::kInteger) {
    auto values = torch::empty({rows}, torch::kInt64);
    file.read(name, h5::Dtype::kInt64, values.data_ptr());
    CS_CHECK_AS(FormatError, ((values == 0) | (values == 1)).all().item<bool>(), where, name,
                " holds integers other than 0 and 1");
    return values.to(torch::kBool);
  }
  auto out = torch::empty({rows}, torch::kBool);
  file.read(name, h5::Dtype::kBool, out.data_ptr());
  return out;
}

/// Reads frames [t, H, W, 3] uint8 and their camera poses [t, 3] (one camera view).
DemoView read_view(const h5::File& file, const std::string& prefix, std::int64_t t,
                   const std::string& where) {
  const std::string images = prefix + "images", poses = prefix + "camera_poses";
  CS_CHECK_AS(FormatError, file.exists(images), where, "missing dataset '", images, "'",
              prefix.empty() ? "" : " (the group 'views' announces this camera view)");
  CS_CHECK_AS(FormatError, file.exists(poses), where, "missing dataset '", poses,
              "' (it comes with '", images, "')");
  const auto info = file.info(images);
  CS_CHECK_AS(ShapeError,
              info.dims.size() == 4 && info.dims[0] == t && info.dims[3] == 3 &&
                  info.stored == h5::StoredClass::kInteger && info.element_size == 1,
              where, images, " has shape ", shape_string(info.dims), " of ",
              h5::stored_class_name(info.stored), " (", info.element_size, " bytes), expected [", t,
              ", H, W, 3] uint8");
  DemoView view;
  view.images = torch::empty(info.dims, torch::kUInt8);
  file.read(images, h5::Dtype::kUint8, view.images.data_ptr());
  view.camera_poses = read_float(file, poses, t, 2, where);
  CS_CHECK_AS(ShapeError, view.camera_poses.size(1) == 3, where, poses, " has shape ",
              tensor_shape(view.camera_poses), ", expected [", t, ", 3]");
  return view;
}

/// Description of the views group, stored as its attribute 'layout'.
constexpr std::string_view kViewsLayout =
    "views/<k>/images [T,H,W,RGB] uint8 and views/<k>/camera_poses [T,3] float32 for "
    "k = 1..count, the same steps as images seen from other cameras; view 0 is the root "
    "images/camera_poses";

/// Most extra views a file may announce (a sanity bound against a corrupt count).
constexpr std::uint64_t kMaxViews = 256;

}  // namespace

std::int64_t DemoDataset::view_count() const {
  return has_images() ? 1 + static_cast<std::int64_t>(views.size()) : 0;
}

const torch::Tensor& DemoDataset::view_images(std::int64_t k) const {
  CS_CHECK_AS(ConfigError, k >= 0 && k < view_count(), "camera view ", k,
              " does not exist; the dataset has ", view_count(), " views");
  return k == 0 ? images : views[static_cast<std::size_t>(k - 1)].images;
}

const torch::Tensor& DemoDataset::view_camera_poses(std::int64_t k) const {
  CS_CHECK_AS(ConfigError, k >= 0 && k < view_count(), "camera view ", k,
              " does not exist; the dataset has ", view_count(), " views");
  return k == 0 ? camera_poses : views[static_cast<std::size_t>(k - 1)].camera_poses;
}

std::string DemoDataset::view_name(std::int64_t k) const {
  CS_CHECK_AS(ConfigError, k >= 0 && k < view_count(), "camera view ", k,
              " does not exist; the dataset has ", view_count(), " views");
  const std::string fallback = "view" + std::to_string(k);
  if (k == 0) return fallback;
  const auto& name = views[static_cast<std::size_t>(k - 1)].name;
  return name.empty() ? fallback : name;
}

std::int64_t DemoDataset::size() const {
  return observations.defined() && observations.dim() >= 1 ? observations.size(0) : 0;
}

std::int64_t DemoDataset::observation_size() const {
  return observations.defined() && observations.dim() == 2 ? observations.size(1) : 0;
}

std::int64_t DemoDataset::action_size() const {
  return actions.defined() && actions.dim() == 2 ? actions.size(1) : 0;
}

std::vector<std::int64_t> DemoDataset::episode_starts() const {
  std::vector<std::int64_t> starts;
  std::int64_t at = 0;
  for (auto n : meta.episode_lengths) {
    starts.push_back(at);
    at += n;
  }
  return starts;
}

void DemoDataset::derive_episodes() {
  meta.episode_lengths.clear();
  meta.episode_returns.clear();
  meta.episode_expert.clear();
  const std::int64_t t = size();
  if (t == 0) return;
  const auto ends = torch::logical_or(terminals, timeouts).contiguous();
  const auto rewards64 = rewards.to(torch::kFloat64).contiguous();
  const bool* end = ends.data_ptr<bool>();
  const double* r = rewards64.data_ptr<double>();
  std::int64_t length = 0;
  double total = 0;
  for (std::int64_t i = 0; i < t; ++i) {
    ++length;
    total += r[i];
    if (end[i] || i == t - 1) {
      meta.episode_lengths.push_back(length);
      meta.episode_returns.push_back(total);
      meta.episode_expert.push_back(1);
      length = 0;
      total = 0;
    }
  }
}

void DemoDataset::validate() const { validate_dataset(*this, ""); }

void save_demos(const std::filesystem::path& path, const DemoDataset& dataset) {
  validate_dataset(dataset, "");
  CS_CHECK_AS(ConfigError, !dataset.meta.env.empty(),
              "demonstrations need an environment name to be saved");
  DemoDataset d = dataset;
  if (d.meta.episode_lengths.empty()) d.derive_episodes();
  const std::string noise = noise_json_or_clean(d.meta.noise);
  NoiseSpec spec;
  try {
    spec = NoiseSpec::from_json(nlohmann::json::parse(noise));
  } catch (const nlohmann::json::exception& e) {
    CS_THROW(ConfigError, "the dataset's noise record is not JSON: ", e.what());
  }

  TempFileGuard temp{temp_path_for(path)};
  {
    auto file = h5::File::create(temp.path);
    write_tensor(file, "observations", d.observations, h5::Dtype::kFloat32);
    write_tensor(file, "actions", d.actions, h5::Dtype::kFloat32);
    write_tensor(file, "rewards", d.rewards, h5::Dtype::kFloat32);
    write_tensor(file, "next_observations", d.next_observations, h5::Dtype::kFloat32);
    write_tensor(file, "terminals", d.terminals, h5::Dtype::kBool);
    write_tensor(file, "timeouts", d.timeouts, h5::Dtype::kBool);
    if (d.has_images()) {
      // One frame per chunk: readers seek frames at random without inflating their neighbours.
      const h5::WriteOptions frames{{1, d.images.size(1), d.images.size(2), 3}, 4};
      write_tensor(file, "images", d.images, h5::Dtype::kUint8, frames);
      file.set_attribute("images", "layout", std::string_view("T,H,W,RGB"));
      write_tensor(file, "camera_poses", d.camera_poses, h5::Dtype::kFloat32);
      file.set_attribute("camera_poses", "columns", std::string_view("distance,azimuth,elevation"));
    }
    if (!d.views.empty()) {
      const h5::WriteOptions frames{{1, d.images.size(1), d.images.size(2), 3}, 4};
      file.create_group("views");
      file.set_attribute("views", "count", static_cast<std::int64_t>(d.views.size()));
      file.set_attribute("views", "layout", kViewsLayout);
      for (std::int64_t k = 1; k <= static_cast<std::int64_t>(d.views.size()); ++k) {
        const auto& view = d.views[static_cast<std::size_t>(k - 1)];
        const std::string prefix = view_prefix(k);
        const std::string group = prefix.substr(0, prefix.size() - 1);
        file.create_group(group);
        file.set_attribute(group, "name", std::string_view(d.view_name(k)));
        write_tensor(file, prefix + "images", view.images, h5::Dtype::kUint8, frames);
        file.set_attribute(prefix + "images", "layout", std::string_view("T,H,W,RGB"));
        write_tensor(file, prefix + "camera_poses", view.camera_poses, h5::Dtype::kFloat32);
        file.set_attribute(prefix + "camera_poses", "columns",
                           std::string_view("distance,azimuth,elevation"));
      }
    }
    const auto& m = d.meta;
    const auto n = static_cast<std::int64_t>(m.episode_lengths.size());
    file.create_group("episodes");
    file.write("episodes/returns", h5::Dtype::kFloat64, {n}, m.episode_returns.data());
    file.write("episodes/lengths", h5::Dtype::kInt64, {n}, m.episode_lengths.data());
    file.write("episodes/expert", h5::Dtype::kBool, {n}, m.episode_expert.data());

    file.set_attribute("/", "layout", std::string_view("d4rl"));
    file.set_attribute("/", "format_version", kDemoFormatVersion);
    file.set_attribute("/", "env", std::string_view(m.env));
    file.set_attribute("/", "expert", std::string_view(m.expert));
    file.set_attribute("/", "expert_return", m.expert_return);
    file.set_attribute("/", "noise", std::string_view(noise));
    file.set_attribute("/", "noise_spec", std::string_view(spec.to_string()));
    file.set_attribute("/", "seed", m.seed);
    file.set_attribute("/", "noise_seed", m.noise_seed);
    file.set_attribute("/", "deterministic", std::int64_t{m.deterministic ? 1 : 0});
    file.set_attribute("/", "episodes", n);
    file.set_attribute("/", "clearsight_version",
                       std::string_view(m.clearsight_version.empty() ? std::string(kVersion)
                                                                     : m.clearsight_version));
    file.close();
  }
  sync_path(temp.path, false);
  CS_CHECK_AS(IoError, std::rename(temp.path.c_str(), path.c_str()) == 0, "cannot rename '",
              temp.path.string(), "' to '", path.string(), "': ", std::strerror(errno));
  temp.keep = true;
  sync_path(path.parent_path(), true);
}

DemoDataset load_demos(const std::filesystem::path& path, const std::string& expected_env) {
  const auto file = h5::File::open(path);
  std::string where = "'";
  where += path.string();
  where += "': ";
  for (const auto& key : kRequired) {
    CS_CHECK_AS(FormatError, file.exists(key), where, "missing dataset '", key,
                "' (a demonstration file holds observations, actions, rewards, "
                "next_observations, terminals and timeouts)");
  }
  CS_CHECK_AS(FormatError, file.has_attribute("/", "env"), where,
              "missing attribute 'env' (the environment the demonstrations are for)");
  if (file.has_attribute("/", "format_version")) {
    const double version = file.double_attribute("/", "format_version");
    CS_CHECK_AS(FormatError,
                version >= 1 && version <= kDemoFormatVersion && version == std::floor(version),
                where, "format_version is ", version,
                "; this build of ClearSight reads versions 1 to ", kDemoFormatVersion,
                version > kDemoFormatVersion ? " (written by a newer ClearSight: upgrade)" : "");
  }
  DemoDataset d;
  auto& m = d.meta;
  m.env = file.string_attribute("/", "env");
  CS_CHECK_AS(ConfigError, expected_env.empty() || m.env == expected_env, where,
              "demonstrations are for environment '", m.env, "', expected '", expected_env, "'");

  const auto obs_info = file.info("observations");
  CS_CHECK_AS(ShapeError, obs_info.dims.size() == 2, where, "observations has shape ",
              shape_string(obs_info.dims), ", expected [T, obs]");
  const std::int64_t t = obs_info.dims[0];
  CS_CHECK_AS(ShapeError, t >= 1, where, "the file holds no transitions");
  d.observations = read_float(file, "observations", t, 2, where);
  d.actions = read_float(file, "actions", t, 2, where);
  d.rewards = read_float(file, "rewards", t, 1, where);
  d.next_observations = read_float(file, "next_observations", t, 2, where);
  CS_CHECK_AS(ShapeError, d.next_observations.sizes() == d.observations.sizes(), where,
              "next_observations has shape ", tensor_shape(d.next_observations), ", observations ",
              tensor_shape(d.observations));
  d.terminals = read_flags(file, "terminals", t, where);
  d.timeouts = read_flags(file, "timeouts", t, where);

  if (file.exists("images")) {
    auto main = read_view(file, "", t, where);
    d.images = std::move(main.images);
    d.camera_poses = std::move(main.camera_poses);
  }
  if (file.exists("views")) {
    CS_CHECK_AS(FormatError, d.has_images(), where,
                "group 'views' (extra camera views) without dataset 'images' (view 0)");
    CS_CHECK_AS(FormatError, file.has_attribute("views", "count"), where,
                "missing attribute 'count' of 'views' (the number of extra camera views)");
    const std::uint64_t count = file.uint64_attribute("views", "count");
    CS_CHECK_AS(FormatError, count <= kMaxViews, where, "attribute 'count' of 'views' is ", count,
                ", expected at most ", kMaxViews, " extra camera views");
    for (std::int64_t k = 1; k <= static_cast<std::int64_t>(count); ++k) {
      const std::string prefix = view_prefix(k);
      const std::string group = prefix.substr(0, prefix.size() - 1);
      CS_CHECK_AS(FormatError, file.exists(group), where, "missing group '", group,
                  "' (attribute 'count' of 'views' announces ", count, " extra camera views)");
      auto view = read_view(file, prefix, t, where);
      if (file.has_attribute(group, "name")) view.name = file.string_attribute(group, "name");
      d.views.push_back(std::move(view));
    }
  }

  if (file.exists("episodes")) {
    for (const char* key : {"episodes/returns", "episodes/lengths", "episodes/expert"}) {
      CS_CHECK_AS(FormatError, file.exists(key), where, "missing dataset '", key, "'");
    }
    const auto lengths = file.info("episodes/lengths");
    CS_CHECK_AS(ShapeError, lengths.dims.size() == 1, where, "episodes/lengths has shape ",
                shape_string(lengths.dims), ", expected [episodes]");
    const auto n = lengths.dims[0];
    for (const char* key : {"episodes/returns", "episodes/expert"}) {
      const auto info = file.info(key);
      CS_CHECK_AS(ShapeError, info.dims == std::vector<std::int64_t>{n}, where, key, " has shape ",
                  shape_string(info.dims), ", expected [", n, "]");
    }
    CS_CHECK_AS(FormatError, lengths.stored == h5::StoredClass::kInteger, where,
                "episodes/lengths must hold integers");
    m.episode_lengths.resize(static_cast<std::size_t>(n));
    m.episode_returns.resize(static_cast<std::size_t>(n));
    m.episode_expert.resize(static_cast<std::size_t>(n));
    file.read("episodes/lengths", h5::Dtype::kInt64, m.episode_lengths.data());
    file.read("episodes/returns", h5::Dtype::kFloat64, m.episode_returns.data());
    file.read("episodes/expert", h5::Dtype::kBool, m.episode_expert.data());
  } else {
    d.derive_episodes();
  }

  auto text = [&](const char* name) {
    return file.has_attribute("/", name) ? file.string_attribute("/", name) : std::string();
  };
  m.expert = text("expert");
  m.clearsight_version = text("clearsight_version");
  m.noise = text("noise");
  if (!m.noise.empty()) {
    try {
      NoiseSpec::from_json(nlohmann::json::parse(m.noise));
    } catch (const nlohmann::json::exception& e) {
      CS_THROW(FormatError, where, "attribute 'noise' is not JSON: ", e.what());
    } catch (const Error& e) {
      CS_THROW(FormatError, where, "attribute 'noise' is not a noise record: ", e.what());
    }
  }
  if (file.has_attribute("/", "expert_return")) {
    m.expert_return = file.double_attribute("/", "expert_return");
  }
  if (file.has_attribute("/", "seed")) m.seed = file.uint64_attribute("/", "seed");
  if (file.has_attribute("/", "noise_seed"))
    m.noise_seed = file.uint64_attribute("/", "noise_seed");
  if (file.has_attribute("/", "deterministic")) {
    m.deterministic = file.double_attribute("/", "deterministic") != 0.0;
  }
  validate_dataset(d, where);
  return d;
}

void check_demos_fit_env(const DemoDataset& demos) {
  const auto& env = demos.meta.env;
  const auto names = envs::env_names();
  CS_CHECK_AS(UnknownNameError, std::find(names.begin(), names.end(), env) != names.end(),
              "the demonstrations' environment '", env,
              "' is not registered (valid: ", join(names, ", "), ")");
  const auto instance = envs::make_env(env);
  const auto obs_size = instance->spec().observation_space.size();
  const auto act_size = instance->spec().action_space.size();
  CS_CHECK_AS(ShapeError, demos.observation_size() == obs_size && demos.action_size() == act_size,
              "the demonstrations have observation/action widths ", demos.observation_size(), "/",
              demos.action_size(), " but ", env, " has ", obs_size, "/", act_size);
}

nlohmann::json demo_summary(const DemoDataset& d) {
  using nlohmann::json;
  const auto& m = d.meta;
  auto stats = [](const std::vector<double>& values) {
    if (values.empty()) return json(nullptr);
    double mean = 0;
    for (double v : values) mean += v;
    mean /= static_cast<double>(values.size());
    double var = 0;
    for (double v : values) var += (v - mean) * (v - mean);
    return json{{"mean", mean},
                {"std", std::sqrt(var / static_cast<double>(values.size()))},
                {"min", *std::min_element(values.begin(), values.end())},
                {"max", *std::max_element(values.begin(), values.end())}};
  };
  std::vector<double> expert_returns, lengths;
  std::int64_t expert_episodes = 0;
  for (std::size_t i = 0; i < m.episode_returns.size(); ++i) {
    lengths.push_back(static_cast<double>(m.episode_lengths[i]));
    if (m.episode_expert[i]) {
      ++expert_episodes;
      expert_returns.push_back(m.episode_returns[i]);
    }
  }
  auto to_vector = [](const torch::Tensor& t) {
    const auto c = t.to(torch::kFloat64).contiguous();
    return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
  };
  const auto obs64 = d.observations.to(torch::kFloat64);
  const auto act64 = d.actions.to(torch::kFloat64);
  json noise = nullptr;
  std::string noise_spec = "none";
  if (!m.noise.empty()) {
    noise = json::parse(m.noise);
    noise_spec = NoiseSpec::from_json(noise).to_string();
  }
  json images = nullptr;
  json views = json::array();
  for (std::int64_t k = 0; k < d.view_count(); ++k) {
    const auto& frames = d.view_images(k);
    const auto& poses = d.view_camera_poses(k);
    const auto flat = frames.reshape({frames.size(0), -1});
    const auto constant = (std::get<0>(flat.max(1)) == std::get<0>(flat.min(1))).sum();
    const double pixel_mean = frames.sum(torch::kInt64).item<std::int64_t>() /
                              static_cast<double>(std::max<std::int64_t>(frames.numel(), 1));
    json view = {{"index", k},
                 {"name", d.view_name(k)},
                 {"shape", frames.sizes().vec()},
                 {"camera_poses",
                  {{"first", to_vector(poses[0])},
                   {"last", to_vector(poses[poses.size(0) - 1])},
                   {"distinct", std::get<0>(torch::unique_dim(poses, 0)).size(0)}}},
                 {"pixel_mean", pixel_mean},
                 {"constant_frames", constant.item<std::int64_t>()}};
    if (k == 0) images = view;
    views.push_back(std::move(view));
  }
  return {
      {"env", m.env},
      {"transitions", d.size()},
      {"episodes", d.episodes()},
      {"expert_episodes", expert_episodes},
      {"observation_size", d.observation_size()},
      {"action_size", d.action_size()},
      {"return", stats(m.episode_returns)},
      {"expert_episode_return", stats(expert_returns)},
      {"episode_length", stats(lengths)},
      {"terminals", d.terminals.sum().item<std::int64_t>()},
      {"timeouts", d.timeouts.sum().item<std::int64_t>()},
      {"noise_spec", noise_spec},
      {"noise", noise},
      {"observations",
       {{"mean", to_vector(obs64.mean(0))}, {"std", to_vector(obs64.std(0, false))}}},
      {"actions",
       {{"mean", to_vector(act64.mean(0))},
        {"min", to_vector(std::get<0>(act64.min(0)))},
        {"max", to_vector(std::get<0>(act64.max(0)))}}},
      {"images", images},
      {"views", views},
      {"attributes",
       {{"expert", m.expert},
        {"expert_return", std::isfinite(m.expert_return) ? json(m.expert_return) : json(nullptr)},
        {"seed", m.seed},
        {"noise_seed", m.noise_seed},
        {"deterministic", m.deterministic},
        {"clearsight_version", m.clearsight_version}}},
  };
}

}  // namespace clearsight::il
