// Offscreen rendering of MuJoCo scenes without a display or GPU: EGL surfaceless through Mesa,
// with OSMesa as the fallback. One Renderer owns one GL context and may be used from any single
// thread at a time (it makes its context current before each frame).
#pragma once

#include <mujoco/mujoco.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace clearsight::envs {

/// A camera orbiting a target: distance (m), azimuth and elevation (degrees), MuJoCo convention
/// (azimuth 90 looks along +y from the -y side; negative elevation looks down).
struct CameraPose {
  double distance = 3.0;
  double azimuth = 90.0;
  double elevation = -45.0;
};

/// The expert camera pose of third-person imitation: (3, 90, -45).
inline constexpr CameraPose kExpertCamera{3.0, 90.0, -45.0};

/// Rendering settings; the defaults favour speed (64x64, no shadows/reflections/multisampling).
struct RenderOptions {
  int width = 64;
  int height = 64;
  bool shadows = false;
  bool reflections = false;
  bool multisample = false;
  bool skybox = true;
  /// "auto" (EGL, then OSMesa), "egl" or "osmesa".
  std::string backend = "auto";
};

/// An offscreen GL context.
class GlContext {
 public:
  virtual ~GlContext() = default;
  /// Makes the context current on the calling thread.
  virtual void make_current() = 0;
  /// "egl" or "osmesa".
  virtual const char* backend() const = 0;
  /// Creates a context of the requested backend; throws RuntimeError when none can be made.
  static std::unique_ptr<GlContext> create(const std::string& backend, int width, int height);
};

/// Renders RGB frames of a model's states from an orbiting camera.
class Renderer {
 public:
  /// Sets up a context, scene and MuJoCo render context for model (copied for its visual
  /// settings); throws RuntimeError when no offscreen backend works.
  Renderer(const mjModel* model, RenderOptions options = {});
  ~Renderer();
  Renderer(const Renderer&) = delete;
  Renderer& operator=(const Renderer&) = delete;

  /// Renders data from pose looking at body target_body's position; writes height x width x 3
  /// bytes, top row first.
  void render(const mjData* data, const CameraPose& pose, int target_body,
              std::span<std::uint8_t> rgb);
  /// Bytes of one frame.
  std::size_t frame_bytes() const;
  /// The options in use.
  const RenderOptions& options() const { return options_; }
  /// The backend in use ("egl" or "osmesa").
  const char* backend() const;

 private:
  struct State;
  RenderOptions options_;
  std::unique_ptr<State> state_;
};

}  // namespace clearsight::envs
