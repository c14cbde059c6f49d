// `clearsight demos collect|noise|inspect`: demonstration files (HDF5, D4RL layout), with frames
// from one or more cameras and contact sheets of them.
#include <nlohmann/json.hpp>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <vector>

#include "clearsight/core/error.h"
#include "clearsight/core/image.h"
#include "clearsight/core/strings.h"
#include "clearsight/il/collect.h"
#include "clearsight/il/demos.h"
#include "clearsight/il/noise.h"
#include "clearsight/rl/policy.h"
#include "commands.h"

namespace clearsight::cli {
namespace {

using nlohmann::json;

/// Parses "64" (square) or "96x64" (width x height).
std::pair<int, int> parse_pixels(const std::string& text) {
  const auto parts = split(to_lower(text), 'x');
  auto number = [&](const std::string& piece) {
    int value = 0;
    const char* end = piece.data() + piece.size();
    const auto result = std::from_chars(piece.data(), end, value);
    CS_CHECK_AS(ConfigError, !piece.empty() && result.ec == std::errc() && result.ptr == end,
                "--pixels expects W or WxH (e.g. 64 or 96x64), got '", text, "'");
    return value;
  };
  CS_CHECK_AS(ConfigError, parts.size() == 1 || parts.size() == 2,
              "--pixels expects W or WxH (e.g. 64 or 96x64), got '", text, "'");
  const int width = number(parts[0]);
  const int height = parts.size() == 2 ? number(parts[1]) : width;
  CS_CHECK_AS(ConfigError, width >= 8 && width <= 1024 && height >= 8 && height <= 1024,
              "--pixels sizes must be in 8..1024, got '", text, "'");
  return {width, height};
}

std::string format_stats(const json& stats) {
  if (stats.is_null()) return "-";
  char line[160];
  std::snprintf(line, sizeof(line), "%.2f +- %.2f (min %.2f, max %.2f)",
                stats["mean"].get<double>(), stats["std"].get<double>(), stats["min"].get<double>(),
                stats["max"].get<double>());
  return line;
}

/// "3, 90, -45" from a pose's JSON numbers.
std::string pose_string(const json& pose) {
  std::vector<std::string> parts;
  for (const auto& v : pose) {
    char number[32];
    std::snprintf(number, sizeof(number), "%g", v.get<double>());
    parts.emplace_back(number);
  }
  return join(parts, ", ");
}

/// Cameras from repeated --camera values, each "d,a,e" or several joined by ';' (default: the
/// expert camera); the first is view 0.
std::vector<envs::CameraPose> parse_cameras(const std::vector<std::string>& values) {
  std::vector<envs::CameraPose> poses;
  for (const auto& value : values) {
    for (const auto& piece : split(value, ';')) {
      const auto begin = piece.find_first_not_of(" \t");
      if (begin == std::string::npos) continue;
      poses.push_back(parse_camera(piece.substr(begin, piece.find_last_not_of(" \t") - begin + 1)));
    }
  }
  if (poses.empty()) poses.push_back(envs::kExpertCamera);
  return poses;
}

/// Frame indices: count of them evenly spaced over 0..total-1, first and last included (all
/// frames when there are no more than count).
std::vector<std::int64_t> spaced_frames(std::int64_t total, std::int64_t count) {
  std::vector<std::int64_t> out;
  if (count >= total) {
    for (std::int64_t i = 0; i < total; ++i) out.push_back(i);
    return out;
  }
  for (std::int64_t i = 0; i < count; ++i) {
    out.push_back(count == 1 ? 0
                             : std::llround(static_cast<double>(i) * (total - 1) / (count - 1)));
  }
  return out;
}

/// Writes one PNG of evenly spaced frames, one row per camera view; returns what it wrote.
json write_contact_sheet(const std::string& file, const il::DemoDataset& d,
                         const std::filesystem::path& out, int frames) {
  CS_CHECK_AS(ConfigError, d.has_images(), file, " has no images; collect with --pixels");
  const auto indices = spaced_frames(d.size(), frames);
  const int height = static_cast<int>(d.images.size(1)), width = static_cast<int>(d.images.size(2));
  std::vector<std::vector<std::uint8_t>> tiles;
  for (std::int64_t k = 0; k < d.view_count(); ++k) {
    const auto images = d.view_images(k).contiguous();
    for (auto i : indices) {
      const auto frame = images[i];
      const auto* bytes = frame.data_ptr<std::uint8_t>();
      tiles.emplace_back(bytes, bytes + frame.numel());
    }
  }
  const auto sheet = tile_frames(tiles, width, height, static_cast<int>(indices.size()));
  write_png(out, sheet.pixels, sheet.width, sheet.height);
  return {{"path", out.string()},
          {"frames", indices},
          {"views", d.view_count()},
          {"width", sheet.width},
          {"height", sheet.height}};
}

void print_summary(const std::string& file, const json& s) {
  std::printf("%s: %s demonstrations\n", file.c_str(), s["env"].get<std::string>().c_str());
  std::printf("  transitions   %lld (%lld terminals, %lld timeouts)\n",
              s["transitions"].get<long long>(), s["terminals"].get<long long>(),
              s["timeouts"].get<long long>());
  std::printf("  episodes      %lld (%lld from the expert)\n", s["episodes"].get<long long>(),
              s["expert_episodes"].get<long long>());
  std::printf("  return        %s\n", format_stats(s["return"]).c_str());
  std::printf("  expert return %s\n", format_stats(s["expert_episode_return"]).c_str());
  std::printf("  length        %s\n", format_stats(s["episode_length"]).c_str());
  std::printf("  sizes         %lld observations, %lld actions\n",
              s["observation_size"].get<long long>(), s["action_size"].get<long long>());
  std::printf("  noise         %s\n", s["noise_spec"].get<std::string>().c_str());
  if (!s["images"].is_null()) {
    const auto& shape = s["images"]["shape"];
    const auto& views = s["views"];
    std::printf("  images        %lld frames of %lldx%lld, %zu camera view%s\n",
                shape[0].get<long long>(), shape[2].get<long long>(), shape[1].get<long long>(),
                views.size(), views.size() == 1 ? "" : "s");
    for (const auto& v : views) {
      std::printf("  view %-8lld %s: camera (%s) .. (%s), pixel mean %.1f, %lld constant frames\n",
                  v["index"].get<long long>(), v["name"].get<std::string>().c_str(),
                  pose_string(v["camera_poses"]["first"]).c_str(),
                  pose_string(v["camera_poses"]["last"]).c_str(), v["pixel_mean"].get<double>(),
                  v["constant_frames"].get<long long>());
    }
  }
  std::printf("  observation   dim        mean         std\n");
  const auto& mean = s["observations"]["mean"];
  const auto& std_dev = s["observations"]["std"];
  for (std::size_t i = 0; i < mean.size(); ++i) {
    std::printf("  %13s %3zu %11.4f %11.4f\n", "", i, mean[i].get<double>(),
                std_dev[i].get<double>());
  }
  std::printf("  attributes    %s\n", s["attributes"].dump().c_str());
}

struct CollectArgs {
  std::string expert;
  std::string env;
  std::string out;
  std::string noise = "none";
  std::string pixels;
  std::vector<std::string> cameras;
  std::string backend = "auto";
  int episodes = 10;
  int max_steps = 0;
  std::optional<std::uint64_t> seed;
  bool deterministic = true;
  bool json = false;
};

int run_collect(const CollectArgs& a, std::uint64_t global_seed) {
  il::CollectOptions options;
  options.episodes = a.episodes;
  options.seed = a.seed.value_or(global_seed);
  options.noise = il::NoiseSpec::parse(a.noise);
  options.deterministic = a.deterministic;
  options.max_steps = a.max_steps;
  const auto cameras = parse_cameras(a.cameras);
  options.camera = cameras.front();
  options.extra_cameras.assign(cameras.begin() + 1, cameras.end());
  options.render_backend = a.backend;
  options.progress = !a.json;
  if (!a.pixels.empty()) {
    std::tie(options.pixel_width, options.pixel_height) = parse_pixels(a.pixels);
  }
  std::unique_ptr<rl::Policy> expert;
  if (a.expert == "random") {
    CS_CHECK_AS(ConfigError, !a.env.empty(), "--expert random needs --env");
    expert = rl::make_random_policy(a.env);
  } else {
    expert = rl::load_policy(a.expert);
  }
  const std::string env = a.env.empty() ? expert->env_name() : a.env;
  options.expert_name = a.expert;
  const auto dataset = il::collect_demos(*expert, env, options);
  il::save_demos(a.out, dataset);
  const auto summary = il::demo_summary(dataset);
  if (a.json) {
    std::printf("%s\n", json{{"out", a.out}, {"summary", summary}}.dump(2).c_str());
    return 0;
  }
  std::printf("wrote %s: %lld transitions in %lld episodes of %s, return %s, noise %s\n",
              a.out.c_str(), static_cast<long long>(dataset.size()),
              static_cast<long long>(dataset.episodes()), env.c_str(),
              format_stats(summary["return"]).c_str(),
              summary["noise_spec"].get<std::string>().c_str());
  return 0;
}

int run_noise(const std::string& in, const std::string& noise, const std::string& out,
              std::uint64_t seed, bool as_json) {
  std::error_code ec_in, ec_out;
  CS_CHECK_AS(ConfigError,
              std::filesystem::weakly_canonical(in, ec_in) !=
                      std::filesystem::weakly_canonical(out, ec_out) ||
                  ec_in || ec_out,
              "--out '", out, "' is the input file; write the noisy copy to another file");
  const auto spec = il::NoiseSpec::parse(noise);
  auto dataset = il::load_demos(in);
  il::apply_observation_noise(dataset, spec, seed);
  il::save_demos(out, dataset);
  if (as_json) {
    std::printf("%s\n", json{{"in", in},
                             {"out", out},
                             {"applied", spec.to_string()},
                             {"seed", seed},
                             {"transitions", dataset.size()},
                             {"recorded_noise", json::parse(dataset.meta.noise)},
                             {"summary", il::demo_summary(dataset)}}
                            .dump(2)
                            .c_str());
    return 0;
  }
  std::printf("wrote %s: %s applied to %lld transitions (seed %llu); recorded noise %s\n",
              out.c_str(), spec.to_string().c_str(), static_cast<long long>(dataset.size()),
              static_cast<unsigned long long>(seed),
              il::NoiseSpec::from_json(json::parse(dataset.meta.noise)).to_string().c_str());
  return 0;
}

struct InspectArgs {
  std::string file;
  std::string env;
  std::string contact_sheet;
  int frames = 16;
  bool json = false;
};

int run_inspect(const InspectArgs& a) {
  if (!a.contact_sheet.empty()) {
    const std::string ext = to_lower(std::filesystem::path(a.contact_sheet).extension().string());
    CS_CHECK_AS(ConfigError, ext == ".png", "--contact-sheet must end in .png, got '",
                a.contact_sheet, "'");
  }
  const auto dataset = il::load_demos(a.file, a.env);
  // --env: the file must be usable there, with that environment's observation and action widths.
  if (!a.env.empty()) il::check_demos_fit_env(dataset);
  auto summary = il::demo_summary(dataset);
  json sheet = nullptr;
  if (!a.contact_sheet.empty()) {
    sheet = write_contact_sheet(a.file, dataset, a.contact_sheet, a.frames);
  }
  if (a.json) {
    if (!sheet.is_null()) summary["contact_sheet"] = sheet;
    std::printf("%s\n", summary.dump(2).c_str());
  } else {
    print_summary(a.file, summary);
    if (!sheet.is_null()) {
      std::printf("wrote %s: %zu frames x %lld views (%dx%d)\n", a.contact_sheet.c_str(),
                  sheet["frames"].size(), sheet["views"].get<long long>(),
                  sheet["width"].get<int>(), sheet["height"].get<int>());
    }
  }
  return 0;
}

}  // namespace

void add_demos_command(Context& context) {
  auto* group = context.app.add_subcommand("demos", "Demonstration files: collect, noise, inspect");
  group->require_subcommand(1);

  auto* collect = group->add_subcommand("collect", "Roll out an expert and write an HDF5 file");
  auto c = std::make_shared<CollectArgs>();
  collect->add_option("--expert", c->expert, "Policy directory (rl train), or 'random'")
      ->required();
  collect->add_option("--env", c->env, "Environment (default: the policy's)");
  collect->add_option("--episodes", c->episodes, "Episodes to record")
      ->default_val(c->episodes)
      ->check(CLI::Range(1, 1000000));
  collect->add_option("--out", c->out, "Output .h5 file")->required();
  collect->add_option("--noise", c->noise, "Noise spec, e.g. gauss:0.3+action:0.1 or mix:0.2")
      ->default_val(c->noise);
  collect->add_option("--seed", c->seed, "Seed (default: the global --seed)");
  collect->add_flag("--deterministic,!--stochastic", c->deterministic,
                    "Mean actions (default) or sampled actions");
  collect->add_option("--pixels", c->pixels, "Also record W or WxH frames (uint8) per step");
  collect
      ->add_option("--camera", c->cameras,
                   "Frame camera distance,azimuth,elevation; repeat it (or join poses with "
                   "';') for extra views rendered at every step")
      ->default_str("3,90,-45");
  collect->add_option("--backend", c->backend, "Offscreen rendering: auto, egl or osmesa")
      ->default_val(c->backend);
  collect->add_option("--max-steps", c->max_steps, "Steps per episode at most (0: env limit)")
      ->default_val(c->max_steps)
      ->check(CLI::NonNegativeNumber);
  collect->add_flag("--json", c->json, "Print one JSON document");
  collect->callback([&context, c] {
    context.action = [&context, c] {
      start_runtime(context.global);
      return run_collect(*c, context.global.runtime.seed);
    };
  });

  auto* noise = group->add_subcommand("noise", "Apply state/recorded-action noise to a file");
  struct NoiseArgs {
    std::string in;
    std::string noise;
    std::string out;
    std::optional<std::uint64_t> seed;
    bool json = false;
  };
  auto n = std::make_shared<NoiseArgs>();
  noise->add_option("IN", n->in, "Clean demonstration file")->required();
  noise->add_option("--noise", n->noise, "Noise spec, e.g. gauss:0.3+drop:2,5")->required();
  noise->add_option("--out", n->out, "Output .h5 file")->required();
  noise->add_option("--seed", n->seed, "Seed (default: the global --seed)");
  noise->add_flag("--json", n->json, "Print one JSON document");
  noise->callback([&context, n] {
    context.action = [&context, n] {
      start_runtime(context.global);
      return run_noise(n->in, n->noise, n->out, n->seed.value_or(context.global.runtime.seed),
                       n->json);
    };
  });

  auto* inspect = group->add_subcommand("inspect", "Validate and summarise a demonstration file");
  auto i = std::make_shared<InspectArgs>();
  inspect->add_option("FILE", i->file, "Demonstration file")->required();
  inspect->add_option("--env", i->env, "Fail unless the file is for this environment");
  inspect->add_option("--contact-sheet", i->contact_sheet,
                      "Also write a PNG of frames, one row per camera view");
  inspect->add_option("--frames", i->frames, "Frames per row of the contact sheet, evenly spaced")
      ->default_val(i->frames)
      ->check(CLI::Range(1, 1024));
  inspect->add_flag("--json", i->json, "Print one JSON document");
  inspect->callback([&context, i] {
    context.action = [&context, i] {
      start_runtime(context.global);
      return run_inspect(*i);
    };
  });
}

}  // namespace clearsight::cli
