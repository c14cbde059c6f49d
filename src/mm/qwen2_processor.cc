#include "clearsight/mm/qwen2_processor.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>

#include "clearsight/core/atomic_file.h"
#include "clearsight/core/error.h"
#include "json_file.h"

namespace clearsight::mm {
namespace {

constexpr int kPrecisionBits = 32 - 8 - 2;

double bicubic(double x) {
  constexpr double a = -0.5;
  if (x < 0.0) x = -x;
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}

// Pillow's precompute_coeffs + normalize_coeffs_8bpc for one axis.
struct Coefficients {
  std::int64_t ksize = 0;
  std::vector<std::int64_t> bounds;  // xmin, count per output pixel
  std::vector<std::int64_t> k;       // fixed-point weights, ksize per output pixel
};

Coefficients coefficients(std::int64_t in_size, std::int64_t out_size) {
  const double in0 = 0.0, in1 = static_cast<double>(in_size);
  const double scale = (in1 - in0) / static_cast<double>(out_size);
  const double filterscale = std::max(scale, 1.0);
  const double support = 2.0 * filterscale;
  Coefficients c;
  c.ksize = static_cast<std::int64_t>(std::ceil(support)) * 2 + 1;
  c.bounds.resize(static_cast<std::size_t>(out_size) * 2);
  c.k.assign(static_cast<std::size_t>(out_size * c.ksize), 0);
  std::vector<double> w(static_cast<std::size_t>(c.ksize));
  for (std::int64_t xx = 0; xx < out_size; ++xx) {
    const double center = in0 + (static_cast<double>(xx) + 0.5) * scale;
    const double ss = 1.0 / filterscale;
    auto xmin = static_cast<std::int64_t>(center - support + 0.5);  // truncation, as (int)
    if (xmin < 0) xmin = 0;
    auto xmax = static_cast<std::int64_t>(center + support + 0.5);
    if (xmax > in_size) xmax = in_size;
    xmax -= xmin;
    double ww = 0.0;
    for (std::int64_t x = 0; x < xmax; ++x) {
      w[static_cast<std::size_t>(x)] = bicubic((static_cast<double>(x + xmin) - center + 0.5) * ss);
      ww += w[static_cast<std::size_t>(x)];
    }
    for (std::int64_t x = 0; x < xmax; ++x) {
      double v = w[static_cast<std::size_t>(x)];
      if (ww != 0.0) v /= ww;
      const double scaled = v * static_cast<double>(1 << kPrecisionBits);
      c.k[static_cast<std::size_t>(xx * c.ksize + x)] = static_cast<std::int64_t>(
          static_cast<std::int32_t>(v < 0 ? -0.5 + scaled : 0.5 + scaled));
    }
    c.bounds[static_cast<std::size_t>(xx * 2)] = xmin;
    c.bounds[static_cast<std::size_t>(xx * 2 + 1)] = xmax;
  }
  return c;
}

std::uint8_t clip8(std::int64_t in) {
  if (in >= (std::int64_t{1} << kPrecisionBits << 8)) return 255;
  if (in <= 0) return 0;
  return static_cast<std::uint8_t>(in >> kPrecisionBits);
}

float rescale_to_float(std::uint8_t v, double factor) {
  return static_cast<float>(static_cast<double>(v) * factor);
}

Qwen2VisionInputs process_frames(const std::vector<torch::Tensor>& frames,
                                 const Qwen2ImageProcessorConfig& c, const char* what) {
  CS_CHECK_AS(ShapeError, !frames.empty(), what, " has no frames");
  const auto h0 = frames[0].size(0), w0 = frames[0].size(1);
  const auto factor = c.patch_size * c.merge_size;
  std::int64_t rh = h0, rw = w0;
  if (c.do_resize) std::tie(rh, rw) = smart_resize(h0, w0, factor, c.min_pixels, c.max_pixels);
  CS_CHECK_AS(ShapeError, rh % factor == 0 && rw % factor == 0, what, " of ", rh, " x ", rw,
              " pixels is not a multiple of ", factor, " (do_resize is off)");
  std::vector<torch::Tensor> chw;
  const auto mean = torch::tensor({c.image_mean[0], c.image_mean[1], c.image_mean[2]});
  const auto std = torch::tensor({c.image_std[0], c.image_std[1], c.image_std[2]});
  for (const auto& f : frames) {
    CS_CHECK_AS(ShapeError,
                f.dim() == 3 && f.size(2) == 3 && f.scalar_type() == torch::kUInt8 &&
                    f.size(0) == h0 && f.size(1) == w0,
                what, " frames must be uint8 [", h0, ", ", w0, ", 3] (RGB), got ", f.sizes());
    const auto resized = c.do_resize ? resize_bicubic_pil(f, rh, rw) : f.contiguous();
    auto x = (resized.to(torch::kFloat64) * c.rescale_factor).to(torch::kFloat32);
    x = (x - mean) / std;
    chw.push_back(x.permute({2, 0, 1}));
  }
  auto v = torch::stack(chw);  // [T, C, H, W]
  const auto tps = c.temporal_patch_size;
  if (v.size(0) % tps != 0) {
    const auto pad = tps - v.size(0) % tps;
    v = torch::cat({v, v.narrow(0, v.size(0) - 1, 1).expand({pad, -1, -1, -1})});
  }
  const auto ch = v.size(1), p = c.patch_size, m = c.merge_size;
  const auto gt = v.size(0) / tps, gh = rh / p, gw = rw / p;
  v = v.reshape({gt, tps, ch, gh / m, m, p, gw / m, m, p})
          .permute({0, 3, 6, 4, 7, 2, 1, 5, 8})
          .reshape({gt * gh * gw, ch * tps * p * p})
          .contiguous();
  return {v, torch::tensor({gt, gh, gw}, torch::kInt64).unsqueeze(0)};
}

Qwen2VisionInputs concat(std::vector<Qwen2VisionInputs> parts) {
  std::vector<torch::Tensor> pv, grids;
  for (auto& p : parts) {
    pv.push_back(p.pixel_values);
    grids.push_back(p.grid_thw);
  }
  return {torch::cat(pv), torch::cat(grids)};
}

}  // namespace

std::pair<std::int64_t, std::int64_t> smart_resize(std::int64_t height, std::int64_t width,
                                                   std::int64_t factor, std::int64_t min_pixels,
                                                   std::int64_t max_pixels) {
  CS_CHECK_AS(ConfigError, height >= 1 && width >= 1 && factor >= 1, "image of ", height, " x ",
              width, " pixels cannot be resized");
  const double h = static_cast<double>(height), w = static_cast<double>(width);
  const double f = static_cast<double>(factor);
  CS_CHECK_AS(ConfigError, std::max(h, w) / std::min(h, w) <= 200, "image of ", height, " x ",
              width, " pixels: the aspect ratio must be at most 200");
  // std::nearbyint rounds half to even, as Python's round().
  auto h_bar = static_cast<std::int64_t>(std::nearbyint(h / f)) * factor;
  auto w_bar = static_cast<std::int64_t>(std::nearbyint(w / f)) * factor;
  if (h_bar * w_bar > max_pixels) {
    const double beta = std::sqrt(h * w / static_cast<double>(max_pixels));
    h_bar = std::max(factor, static_cast<std::int64_t>(std::floor(h / beta / f)) * factor);
    w_bar = std::max(factor, static_cast<std::int64_t>(std::floor(w / beta / f)) * factor);
  } else if (h_bar * w_bar < min_pixels) {
    const double beta = std::sqrt(static_cast<double>(min_pixels) / (h * w));
    h_bar = static_cast<std::int64_t>(std::ceil(h * beta / f)) * factor;
    w_bar = static_cast<std::int64_t>(std::ceil(w * beta / f)) * factor;
  }
  return {h_bar, w_bar};
}

torch::Tensor resize_bicubic_pil(const torch::Tensor& image, std::int64_t height,
                                 std::int64_t width) {
  CS_CHECK_AS(ShapeError,
              image.dim() == 3 && image.size(2) == 3 && image.scalar_type() == torch::kUInt8,
              "resize_bicubic_pil: expected an RGB uint8 image [H, W, 3], got ", image.sizes());
  CS_CHECK_AS(ShapeError, height >= 1 && width >= 1, "resize_bicubic_pil: empty target size");
  const auto in = image.contiguous();
  const auto in_h = in.size(0), in_w = in.size(1);
  if (in_h == height && in_w == width) return in.clone();
  const auto horiz = coefficients(in_w, width);
  auto vert = coefficients(in_h, height);
  // Rows the vertical pass reads.
  const auto first = vert.bounds[0];
  const auto last = vert.bounds[static_cast<std::size_t>(height * 2 - 2)] +
                    vert.bounds[static_cast<std::size_t>(height * 2 - 1)];
  torch::Tensor current = in;
  std::int64_t row_offset = 0;
  if (in_w != width) {
    const auto rows = last - first;
    auto tmp = torch::empty({rows, width, 3}, torch::kUInt8);
    const auto* src = in.data_ptr<std::uint8_t>();
    auto* dst = tmp.data_ptr<std::uint8_t>();
    for (std::int64_t yy = 0; yy < rows; ++yy) {
      const auto* row = src + (yy + first) * in_w * 3;
      for (std::int64_t xx = 0; xx < width; ++xx) {
        const auto xmin = horiz.bounds[static_cast<std::size_t>(xx * 2)];
        const auto count = horiz.bounds[static_cast<std::size_t>(xx * 2 + 1)];
        const auto* k = &horiz.k[static_cast<std::size_t>(xx * horiz.ksize)];
        std::int64_t s[3] = {1 << (kPrecisionBits - 1), 1 << (kPrecisionBits - 1),
                             1 << (kPrecisionBits - 1)};
        for (std::int64_t x = 0; x < count; ++x) {
          for (int ch = 0; ch < 3; ++ch) s[ch] += row[(x + xmin) * 3 + ch] * k[x];
        }
        for (int ch = 0; ch < 3; ++ch) dst[(yy * width + xx) * 3 + ch] = clip8(s[ch]);
      }
    }
    current = tmp;
    row_offset = first;
  }
  if (in_h == height) return current;
  auto out = torch::empty({height, width, 3}, torch::kUInt8);
  const auto* src = current.data_ptr<std::uint8_t>();
  auto* dst = out.data_ptr<std::uint8_t>();
  for (std::int64_t yy = 0; yy < height; ++yy) {
    const auto ymin = vert.bounds[static_cast<std::size_t>(yy * 2)] - row_offset;
    const auto count = vert.bounds[static_cast<std::size_t>(yy * 2 + 1)];
    const auto* k = &vert.k[static_cast<std::size_t>(yy * vert.ksize)];
    for (std::int64_t xx = 0; xx < width; ++xx) {
      std::int64_t s[3] = {1 << (kPrecisionBits - 1), 1 << (kPrecisionBits - 1),
                           1 << (kPrecisionBits - 1)};
      for (std::int64_t y = 0; y < count; ++y) {
        for (int ch = 0; ch < 3; ++ch) s[ch] += src[((y + ymin) * width + xx) * 3 + ch] * k[y];
      }
      for (int ch = 0; ch < 3; ++ch) dst[(yy * width + xx) * 3 + ch] = clip8(s[ch]);
    }
  }
  return out;
}

Qwen2VisionInputs process_qwen2_images(const std::vector<torch::Tensor>& images,
                                       const Qwen2ImageProcessorConfig& config) {
  CS_CHECK_AS(ShapeError, !images.empty(), "no images to process");
  std::vector<Qwen2VisionInputs> parts;
  for (const auto& image : images) parts.push_back(process_frames({image}, config, "an image"));
  return concat(std::move(parts));
}

Qwen2VisionInputs process_qwen2_videos(const std::vector<torch::Tensor>& videos,
                                       const Qwen2ImageProcessorConfig& config) {
  CS_CHECK_AS(ShapeError, !videos.empty(), "no videos to process");
  std::vector<Qwen2VisionInputs> parts;
  for (const auto& video : videos) {
    CS_CHECK_AS(ShapeError, video.dim() == 4, "a video must be [T, H, W, 3] uint8");
    std::vector<torch::Tensor> frames;
    for (std::int64_t t = 0; t < video.size(0); ++t) frames.push_back(video[t]);
    parts.push_back(process_frames(frames, config, "a video"));
  }
  return concat(std::move(parts));
}

std::int64_t qwen2_vision_tokens(const torch::Tensor& grid, std::int64_t merge) {
  return grid.prod().item<std::int64_t>() / (merge * merge);
}

Qwen2ImageProcessorConfig load_qwen2_image_processor(const std::filesystem::path& path) {
  const auto j = read_json_file(path, "a Qwen2-VL preprocessor_config.json");
  Qwen2ImageProcessorConfig c;
  const auto integer = [&](const char* key, std::int64_t& out) {
    read_positive_integer(j, key, path, out);
  };
  if (j.contains("size") && j["size"].is_object()) {
    // Newer files give the pixel limits as size.shortest_edge / longest_edge.
    const auto& s = j["size"];
    if (s.contains("shortest_edge") && s["shortest_edge"].is_number_integer())
      c.min_pixels = s["shortest_edge"].get<std::int64_t>();
    if (s.contains("longest_edge") && s["longest_edge"].is_number_integer())
      c.max_pixels = s["longest_edge"].get<std::int64_t>();
  }
  integer("min_pixels", c.min_pixels);
  integer("max_pixels", c.max_pixels);
  integer("patch_size", c.patch_size);
  integer("temporal_patch_size", c.temporal_patch_size);
  integer("merge_size", c.merge_size);
  CS_CHECK_AS(ConfigError, c.min_pixels <= c.max_pixels, path.string(), ": min_pixels ",
              c.min_pixels, " exceeds max_pixels ", c.max_pixels);
  if (j.contains("do_resize") && j["do_resize"].is_boolean()) c.do_resize = j["do_resize"];
  if (j.contains("rescale_factor")) {
    CS_CHECK_AS(ConfigError,
                j["rescale_factor"].is_number() && j["rescale_factor"].get<double>() > 0,
                path.string(), ": rescale_factor must be a positive number");
    c.rescale_factor = j["rescale_factor"].get<double>();
  }
  for (const char* key : {"image_mean", "image_std"}) {
    if (!j.contains(key)) continue;
    CS_CHECK_AS(ConfigError, j[key].is_array() && j[key].size() == 3, path.string(), ": ", key,
                " must be 3 numbers");
    auto& out = std::string(key) == "image_mean" ? c.image_mean : c.image_std;
    for (int i = 0; i < 3; ++i) {
      CS_CHECK_AS(ConfigError, j[key][i].is_number(), path.string(), ": ", key,
                  " must be 3 numbers");
      out[static_cast<std::size_t>(i)] = j[key][i].get<float>();
    }
  }
  for (const float s : c.image_std) {
    CS_CHECK_AS(ConfigError, s > 0, path.string(), ": image_std must be positive");
  }
  const auto resample = j.value("resample", 3);
  CS_CHECK_AS(ConfigError, resample == 3, path.string(), ": resample ", resample,
              " is not supported (expected 3, bicubic)");
  return c;
}

}  // namespace clearsight::mm
