#include "clearsight/wm/replay.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "clearsight/core/error.h"
#include "clearsight/core/safetensors.h"
#include "clearsight/il/demos.h"

namespace clearsight::wm {
namespace {

namespace fs = std::filesystem;

std::string episode_file(std::int64_t index) {
  return fmt::format("episode-{:06d}.safetensors", index);
}

torch::Tensor rows(const torch::Tensor& t, std::int64_t start, std::int64_t length) {
  return t.narrow(0, start, length);
}

}  // namespace

void Episode::validate() const {
  CS_CHECK_AS(ShapeError,
              images.defined() && images.dim() == 4 && images.size(3) == 3 &&
                  images.scalar_type() == torch::kUInt8,
              "episode images must be [T, H, W, 3] uint8");
  const auto t = images.size(0);
  CS_CHECK_AS(ShapeError, t >= 1, "an episode needs at least one step");
  CS_CHECK_AS(ShapeError,
              prev_actions.defined() && prev_actions.dim() == 2 && prev_actions.size(0) == t &&
                  prev_actions.scalar_type() == torch::kFloat32,
              "episode prev_actions must be [", t, ", A] float32");
  CS_CHECK_AS(ShapeError,
              rewards.defined() && rewards.dim() == 1 && rewards.size(0) == t &&
                  rewards.scalar_type() == torch::kFloat32,
              "episode rewards must be [", t, "] float32");
  CS_CHECK_AS(ShapeError,
              conditions.defined() && conditions.dim() == 2 && conditions.size(0) == t &&
                  conditions.scalar_type() == torch::kFloat32,
              "episode conditions must be [", t, ", C] float32");
  CS_CHECK_AS(ShapeError,
              terminals.defined() && terminals.dim() == 1 && terminals.size(0) == t &&
                  terminals.scalar_type() == torch::kBool,
              "episode terminals must be [", t, "] bool");
  CS_CHECK_AS(NumericError,
              torch::isfinite(prev_actions).all().item<bool>() &&
                  torch::isfinite(rewards).all().item<bool>() &&
                  (conditions.numel() == 0 || torch::isfinite(conditions).all().item<bool>()),
              "episode holds non-finite actions, rewards or conditions");
}

EpisodeBuilder::EpisodeBuilder(std::int64_t height, std::int64_t width, std::int64_t action_size,
                               std::int64_t condition_size)
    : height_(height), width_(width), action_size_(action_size), condition_size_(condition_size) {}

void EpisodeBuilder::add(std::span<const std::uint8_t> frame, std::span<const float> prev_action,
                         float reward, std::span<const float> condition, bool terminal) {
  CS_CHECK_AS(ShapeError,
              static_cast<std::int64_t>(frame.size()) == height_ * width_ * 3 &&
                  static_cast<std::int64_t>(prev_action.size()) == action_size_ &&
                  static_cast<std::int64_t>(condition.size()) == condition_size_,
              "episode step sizes: frame ", frame.size(), " (expected ", height_ * width_ * 3,
              "), action ", prev_action.size(), " (", action_size_, "), condition ",
              condition.size(), " (", condition_size_, ")");
  images_.insert(images_.end(), frame.begin(), frame.end());
  actions_.insert(actions_.end(), prev_action.begin(), prev_action.end());
  rewards_.push_back(reward);
  conditions_.insert(conditions_.end(), condition.begin(), condition.end());
  terminals_.push_back(terminal ? 1 : 0);
  ++length_;
}

Episode EpisodeBuilder::episode(const std::string& source) const {
  Episode e;
  auto* img = const_cast<std::uint8_t*>(images_.data());
  e.images = torch::from_blob(img, {length_, height_, width_, 3}, torch::kUInt8).clone();
  e.prev_actions = torch::from_blob(const_cast<float*>(actions_.data()), {length_, action_size_},
                                    torch::kFloat32)
                       .clone();
  e.rewards =
      torch::from_blob(const_cast<float*>(rewards_.data()), {length_}, torch::kFloat32).clone();
  e.conditions = condition_size_ > 0 ? torch::from_blob(const_cast<float*>(conditions_.data()),
                                                        {length_, condition_size_}, torch::kFloat32)
                                           .clone()
                                     : torch::zeros({length_, 0});
  e.terminals =
      torch::from_blob(const_cast<std::uint8_t*>(terminals_.data()), {length_}, torch::kUInt8)
          .to(torch::kBool);
  e.source = source;
  return e;
}

void EpisodeBuilder::assign(const Episode& episode) {
  clear();
  if (episode.length() == 0) return;
  CS_CHECK_AS(ShapeError,
              episode.images.size(1) == height_ && episode.images.size(2) == width_ &&
                  episode.prev_actions.size(1) == action_size_ &&
                  episode.conditions.size(1) == condition_size_,
              "a saved partial episode does not fit this run's frame, action or condition sizes");
  const auto images = episode.images.contiguous();
  const auto actions = episode.prev_actions.contiguous();
  const auto conditions = episode.conditions.contiguous();
  const auto rewards = episode.rewards.contiguous();
  const auto terminals = episode.terminals.to(torch::kUInt8).contiguous();
  images_.assign(images.data_ptr<std::uint8_t>(), images.data_ptr<std::uint8_t>() + images.numel());
  actions_.assign(actions.data_ptr<float>(), actions.data_ptr<float>() + actions.numel());
  conditions_.assign(conditions.data_ptr<float>(),
                     conditions.data_ptr<float>() + conditions.numel());
  rewards_.assign(rewards.data_ptr<float>(), rewards.data_ptr<float>() + rewards.numel());
  terminals_.assign(terminals.data_ptr<std::uint8_t>(),
                    terminals.data_ptr<std::uint8_t>() + terminals.numel());
  length_ = episode.length();
}

void EpisodeBuilder::clear() {
  length_ = 0;
  images_.clear();
  actions_.clear();
  rewards_.clear();
  conditions_.clear();
  terminals_.clear();
}

SequenceReplay::SequenceReplay(fs::path directory) : directory_(std::move(directory)) {}

void SequenceReplay::add(Episode episode) {
  episode.validate();
  if (!episodes_.empty()) {
    const auto& first = episodes_.front();
    CS_CHECK_AS(ShapeError,
                episode.images.size(1) == first.images.size(1) &&
                    episode.images.size(2) == first.images.size(2) &&
                    episode.prev_actions.size(1) == first.prev_actions.size(1) &&
                    episode.conditions.size(1) == first.conditions.size(1),
                "episode ", episodes(), " (", episode.source, ") has frames ",
                episode.images.size(1), "x", episode.images.size(2), ", actions ",
                episode.prev_actions.size(1), ", conditions ", episode.conditions.size(1),
                "; the replay holds ", first.images.size(1), "x", first.images.size(2), ", ",
                first.prev_actions.size(1), ", ", first.conditions.size(1));
  }
  if (!directory_.empty()) {
    fs::create_directories(directory_);
    save_episode(directory_ / episode_file(episodes()), episode);
  }
  steps_ += episode.length();
  episodes_.push_back(std::move(episode));
}

bool SequenceReplay::can_sample(std::int64_t length, bool cross_boundaries) const {
  if (cross_boundaries) return steps_ >= length;
  return std::any_of(episodes_.begin(), episodes_.end(),
                     [length](const Episode& e) { return e.length() >= length; });
}

SequenceBatch SequenceReplay::window(std::int64_t episode, std::int64_t start,
                                     std::int64_t length) const {
  const auto& e = episodes_.at(episode);
  CS_CHECK(start >= 0 && start + length <= e.length(), "window [", start, ", ", start + length,
           ") outside episode ", episode, " of length ", e.length());
  SequenceBatch b;
  b.images = rows(e.images, start, length).unsqueeze(0);
  b.prev_actions = rows(e.prev_actions, start, length).unsqueeze(0);
  b.rewards = rows(e.rewards, start, length).unsqueeze(0);
  if (e.conditions.size(1) > 0) b.conditions = rows(e.conditions, start, length).unsqueeze(0);
  b.is_first = torch::zeros({1, length}, torch::kBool);
  if (start == 0) b.is_first.index_put_({0, 0}, true);
  b.terminals = rows(e.terminals, start, length).unsqueeze(0);
  return b;
}

SequenceBatch SequenceReplay::sample(std::int64_t batch, std::int64_t length, RngEngine& rng,
                                     bool cross_boundaries) const {
  CS_CHECK_AS(ConfigError, batch >= 1 && length >= 1, "batch and length must be >= 1");
  CS_CHECK_AS(RuntimeError, can_sample(length, cross_boundaries), "the replay holds ", episodes(),
              " episodes (", steps_, " steps) and no window of ", length, " steps");
  std::vector<torch::Tensor> images, actions, rewards, conditions, firsts, terminals;
  const bool has_conditions = episodes_.front().conditions.size(1) > 0;
  if (!cross_boundaries) {
    // Uniform over every valid (episode, start) pair.
    std::vector<std::int64_t> cumulative;
    std::int64_t total = 0;
    for (const auto& e : episodes_) {
      total += std::max<std::int64_t>(0, e.length() - length + 1);
      cumulative.push_back(total);
    }
    std::uniform_int_distribution<std::int64_t> pick(0, total - 1);
    for (std::int64_t b = 0; b < batch; ++b) {
      const auto k = pick(rng);
      const auto i = std::upper_bound(cumulative.begin(), cumulative.end(), k) - cumulative.begin();
      const auto start = k - (i > 0 ? cumulative[i - 1] : 0);
      auto w = window(i, start, length);
      images.push_back(w.images);
      actions.push_back(w.prev_actions);
      rewards.push_back(w.rewards);
      if (has_conditions) conditions.push_back(w.conditions);
      firsts.push_back(w.is_first);
      terminals.push_back(w.terminals);
    }
  } else {
    // Start anywhere in the concatenation; joins are marked by is_first.
    std::uniform_int_distribution<std::int64_t> pick(0, steps_ - length);
    for (std::int64_t b = 0; b < batch; ++b) {
      std::int64_t k = pick(rng);
      std::size_t i = 0;
      while (k >= episodes_[i].length()) k -= episodes_[i++].length();
      std::vector<SequenceBatch> parts;
      std::int64_t left = length;
      while (left > 0) {
        const auto take = std::min(left, episodes_[i].length() - k);
        parts.push_back(window(static_cast<std::int64_t>(i), k, take));
        left -= take;
        k = 0;
        ++i;
      }
      auto cat = [&](torch::Tensor SequenceBatch::*f) {
        std::vector<torch::Tensor> v;
        for (auto& p : parts) v.push_back(p.*f);
        return torch::cat(v, 1);
      };
      images.push_back(cat(&SequenceBatch::images));
      actions.push_back(cat(&SequenceBatch::prev_actions));
      rewards.push_back(cat(&SequenceBatch::rewards));
      if (has_conditions) conditions.push_back(cat(&SequenceBatch::conditions));
      firsts.push_back(cat(&SequenceBatch::is_first));
      terminals.push_back(cat(&SequenceBatch::terminals));
    }
  }
  SequenceBatch out;
  out.images = torch::cat(images, 0);
  out.prev_actions = torch::cat(actions, 0);
  out.rewards = torch::cat(rewards, 0);
  if (has_conditions) out.conditions = torch::cat(conditions, 0);
  out.is_first = torch::cat(firsts, 0);
  out.terminals = torch::cat(terminals, 0);
  return out;
}

void SequenceReplay::load_directory(std::int64_t count) {
  CS_CHECK_AS(ConfigError, !directory_.empty(), "this replay has no directory");
  episodes_.clear();
  steps_ = 0;
  for (std::int64_t i = 0;; ++i) {
    const auto path = directory_ / episode_file(i);
    const bool wanted = count < 0 || i < count;
    if (!fs::exists(path)) {
      CS_CHECK_AS(IoError, count < 0 || i >= count, "the replay directory '", directory_.string(),
                  "' holds ", i, " episodes; the checkpoint needs ", count);
      break;
    }
    if (!wanted) {
      fs::remove(path);  // Written after the checkpoint by a run that was then killed.
      continue;
    }
    auto e = load_episode(path);
    steps_ += e.length();
    episodes_.push_back(std::move(e));
  }
}

void save_episode(const fs::path& path, const Episode& episode) {
  safetensors::save(path,
                    {{"images", episode.images},
                     {"prev_actions", episode.prev_actions},
                     {"rewards", episode.rewards},
                     {"conditions", episode.conditions},
                     {"terminals", episode.terminals.to(torch::kUInt8)}},
                    {{"source", episode.source}, {"format", "clearsight-episode-1"}});
}

Episode load_episode(const fs::path& path) {
  const auto file = safetensors::File::open(path);
  const auto& meta = file.metadata();
  auto it = meta.find("format");
  CS_CHECK_AS(FormatError, it != meta.end() && it->second == "clearsight-episode-1", "'",
              path.string(), "' is not a ClearSight episode file");
  Episode e;
  for (const char* name : {"images", "prev_actions", "rewards", "conditions", "terminals"}) {
    CS_CHECK_AS(FormatError, file.contains(name), "'", path.string(), "' lacks tensor '", name,
                "'");
  }
  e.images = file.get("images");
  e.prev_actions = file.get("prev_actions");
  e.rewards = file.get("rewards");
  e.conditions = file.get("conditions");
  e.terminals = file.get("terminals").to(torch::kBool);
  auto src = meta.find("source");
  e.source = src != meta.end() ? src->second : "agent";
  try {
    e.validate();
  } catch (const Error& err) {
    CS_THROW(FormatError, "'", path.string(), "': ", err.what());
  }
  return e;
}

std::vector<Episode> demo_episodes(const il::DemoDataset& demos, std::int64_t view,
                                   std::int64_t image_size, std::int64_t action_size,
                                   const std::string& source) {
  CS_CHECK_AS(ConfigError, demos.has_images(), source,
              " has no frames; collect it with demos collect --pixels");
  CS_CHECK_AS(ConfigError, view >= 0 && view < demos.view_count(), source, ": camera view ", view,
              " does not exist (the file has ", demos.view_count(), ")");
  CS_CHECK_AS(ShapeError, demos.action_size() == action_size, source, " has actions of size ",
              demos.action_size(), "; the environment's are ", action_size);
  const torch::Tensor& frames = demos.view_images(view);
  std::vector<Episode> out;
  const auto starts = demos.episode_starts();
  for (std::size_t i = 0; i < starts.size(); ++i) {
    const auto start = starts[i];
    const auto length = demos.meta.episode_lengths[i];
    Episode e;
    auto img = frames.narrow(0, start, length);
    if (img.size(1) != image_size || img.size(2) != image_size) {
      auto x = img.permute({0, 3, 1, 2}).to(torch::kFloat32);
      x = torch::adaptive_avg_pool2d(x, {image_size, image_size});
      img = x.round().clamp(0, 255).to(torch::kUInt8).permute({0, 2, 3, 1});
    }
    e.images = img.contiguous();
    const auto actions = demos.actions.narrow(0, start, length);
    const auto rewards = demos.rewards.narrow(0, start, length);
    e.prev_actions = torch::cat({torch::zeros({1, action_size}), actions.narrow(0, 0, length - 1)});
    e.rewards = torch::cat({torch::zeros({1}), rewards.narrow(0, 0, length - 1)});
    e.conditions = torch::zeros({length, 0});
    // Row t is s_t; a terminal at the last transition ends at s_{T}, which has no frame.
    e.terminals = torch::zeros({length}, torch::kBool);
    e.source = source;
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace clearsight::wm
