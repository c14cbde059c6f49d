#include "clearsight/envs/render.h"

#include <EGL/egl.h>
#include <EGL/eglext.h>
#include <GL/osmesa.h>
#include <dlfcn.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <vector>

#include "clearsight/core/error.h"
#include "clearsight/core/log.h"

namespace clearsight::envs {
namespace {

// ---- EGL (surfaceless Mesa) -------------------------------------------------------------------

class EglContext : public GlContext {
 public:
  EglContext() {
    auto get_platform_display = reinterpret_cast<PFNEGLGETPLATFORMDISPLAYEXTPROC>(
        eglGetProcAddress("eglGetPlatformDisplayEXT"));
    CS_CHECK_AS(RuntimeError, get_platform_display != nullptr,
                "EGL has no eglGetPlatformDisplayEXT");
    display_ = get_platform_display(EGL_PLATFORM_SURFACELESS_MESA, EGL_DEFAULT_DISPLAY, nullptr);
    CS_CHECK_AS(RuntimeError, display_ != EGL_NO_DISPLAY, "no EGL surfaceless display");
    EGLint major = 0, minor = 0;
    CS_CHECK_AS(RuntimeError, eglInitialize(display_, &major, &minor), "eglInitialize failed");
    const EGLint attributes[] = {EGL_SURFACE_TYPE,
                                 EGL_PBUFFER_BIT,
                                 EGL_RENDERABLE_TYPE,
                                 EGL_OPENGL_BIT,
                                 EGL_RED_SIZE,
                                 8,
                                 EGL_GREEN_SIZE,
                                 8,
                                 EGL_BLUE_SIZE,
                                 8,
                                 EGL_DEPTH_SIZE,
                                 24,
                                 EGL_NONE};
    EGLConfig config = nullptr;
    EGLint count = 0;
    CS_CHECK_AS(RuntimeError,
                eglChooseConfig(display_, attributes, &config, 1, &count) && count > 0,
                "no EGL config for offscreen OpenGL");
    CS_CHECK_AS(RuntimeError, eglBindAPI(EGL_OPENGL_API), "eglBindAPI(OpenGL) failed");
    context_ = eglCreateContext(display_, config, EGL_NO_CONTEXT, nullptr);
    CS_CHECK_AS(RuntimeError, context_ != EGL_NO_CONTEXT, "eglCreateContext failed");
    make_current();
  }
  ~EglContext() override {
    if (context_ != EGL_NO_CONTEXT) {
      eglMakeCurrent(display_, EGL_NO_SURFACE, EGL_NO_SURFACE, EGL_NO_CONTEXT);
      eglDestroyContext(display_, context_);
    }
  }
  void make_current() override {
    if (eglGetCurrentContext() == context_) return;
    CS_CHECK_AS(RuntimeError,
                eglMakeCurrent(display_, EGL_NO_SURFACE, EGL_NO_SURFACE, context_) == EGL_TRUE,
                "eglMakeCurrent failed");
  }
  const char* backend() const override { return "egl"; }

 private:
  EGLDisplay display_ = EGL_NO_DISPLAY;
  EGLContext context_ = EGL_NO_CONTEXT;
};

// ---- OSMesa (software, loaded on demand) ------------------------------------------------------

class OsMesaContext : public GlContext {
 public:
  OsMesaContext(int width, int height) : buffer_(static_cast<std::size_t>(width) * height * 4) {
    // RTLD_GLOBAL: MuJoCo resolves GL entry points from libraries already in the process.
    void* lib = dlopen("libOSMesa.so.8", RTLD_NOW | RTLD_GLOBAL);
    if (lib == nullptr) lib = dlopen("libOSMesa.so", RTLD_NOW | RTLD_GLOBAL);
    CS_CHECK_AS(RuntimeError, lib != nullptr, "OSMesa not found (install libosmesa6)");
    create_ = reinterpret_cast<CreateFn>(dlsym(lib, "OSMesaCreateContextExt"));
    make_current_ = reinterpret_cast<MakeCurrentFn>(dlsym(lib, "OSMesaMakeCurrent"));
    destroy_ = reinterpret_cast<DestroyFn>(dlsym(lib, "OSMesaDestroyContext"));
    CS_CHECK_AS(RuntimeError, create_ && make_current_ && destroy_, "OSMesa lacks entry points");
    context_ = create_(OSMESA_RGBA, 24, 8, 0, nullptr);
    CS_CHECK_AS(RuntimeError, context_ != nullptr, "OSMesaCreateContextExt failed");
    width_ = width;
    height_ = height;
    make_current();
  }
  ~OsMesaContext() override {
    if (context_ != nullptr) destroy_(context_);
  }
  void make_current() override {
    CS_CHECK_AS(
        RuntimeError,
        make_current_(context_, buffer_.data(), GL_UNSIGNED_BYTE, width_, height_) == GL_TRUE,
        "OSMesaMakeCurrent failed");
  }
  const char* backend() const override { return "osmesa"; }

 private:
  using CreateFn = ::OSMesaContext (*)(GLenum, GLint, GLint, GLint, ::OSMesaContext);
  using MakeCurrentFn = GLboolean (*)(::OSMesaContext, void*, GLenum, GLsizei, GLsizei);
  using DestroyFn = void (*)(::OSMesaContext);
  CreateFn create_ = nullptr;
  MakeCurrentFn make_current_ = nullptr;
  DestroyFn destroy_ = nullptr;
  ::OSMesaContext context_ = nullptr;
  std::vector<unsigned char> buffer_;
  int width_ = 0;
  int height_ = 0;
};

}  // namespace

std::unique_ptr<GlContext> GlContext::create(const std::string& backend, int width, int height) {
  CS_CHECK_AS(ConfigError, backend == "auto" || backend == "egl" || backend == "osmesa",
              "render backend '", backend, "' is not one of auto, egl, osmesa");
  std::string egl_error;
  if (backend == "auto" || backend == "egl") {
    try {
      return std::make_unique<EglContext>();
    } catch (const Error& e) {
      if (backend == "egl") throw;
      egl_error = e.what();
      log::debug("EGL unavailable ({}); trying OSMesa", egl_error);
    }
  }
  try {
    return std::make_unique<OsMesaContext>(width, height);
  } catch (const Error& e) {
    CS_THROW(RuntimeError,
             "no offscreen OpenGL: ", egl_error.empty() ? "" : "EGL: " + egl_error + "; ",
             "OSMesa: ", e.what());
  }
}

struct Renderer::State {
  std::unique_ptr<GlContext> gl;
  mjModel* model = nullptr;
  mjvScene scene;
  mjvOption option;
  mjrContext context;
  mjvCamera camera;
};

Renderer::Renderer(const mjModel* model, RenderOptions options)
    : options_(std::move(options)), state_(std::make_unique<State>()) {
  CS_CHECK_AS(ConfigError,
              options_.width > 0 && options_.height > 0 && options_.width <= 4096 &&
                  options_.height <= 4096,
              "render size ", options_.width, "x", options_.height, " is out of range (1..4096)");
  auto& s = *state_;
  s.gl = GlContext::create(options_.backend, options_.width, options_.height);
  s.model = mj_copyModel(nullptr, model);
  CS_CHECK_AS(RuntimeError, s.model != nullptr, "mj_copyModel failed");
  s.model->vis.global.offwidth = std::max(options_.width, 8);
  s.model->vis.global.offheight = std::max(options_.height, 8);
  s.model->vis.quality.offsamples = options_.multisample ? 4 : 0;
  if (!options_.shadows) s.model->vis.quality.shadowsize = 0;
  mjv_defaultOption(&s.option);
  mjv_defaultScene(&s.scene);
  mjv_makeScene(s.model, &s.scene, 2000);
  s.scene.flags[mjRND_SHADOW] = options_.shadows ? 1 : 0;
  s.scene.flags[mjRND_REFLECTION] = options_.reflections ? 1 : 0;
  s.scene.flags[mjRND_SKYBOX] = options_.skybox ? 1 : 0;
  mjr_defaultContext(&s.context);
  mjr_makeContext(s.model, &s.context, mjFONTSCALE_100);
  CS_CHECK_AS(RuntimeError, s.context.offFBO != 0 || std::string(s.gl->backend()) == "osmesa",
              "MuJoCo could not create an offscreen framebuffer");
  mjr_setBuffer(mjFB_OFFSCREEN, &s.context);
  mjv_defaultCamera(&s.camera);
  s.camera.type = mjCAMERA_FREE;
}

Renderer::~Renderer() {
  if (!state_) return;
  auto& s = *state_;
  if (s.gl) s.gl->make_current();
  mjr_freeContext(&s.context);
  mjv_freeScene(&s.scene);
  if (s.model != nullptr) mj_deleteModel(s.model);
}

std::size_t Renderer::frame_bytes() const {
  return static_cast<std::size_t>(options_.width) * options_.height * 3;
}

const char* Renderer::backend() const { return state_->gl->backend(); }

void Renderer::render(const mjData* data, const CameraPose& pose, int target_body,
                      std::span<std::uint8_t> rgb) {
  CS_CHECK_AS(ShapeError, rgb.size() == frame_bytes(), "render buffer has ", rgb.size(),
              " bytes, expected ", frame_bytes());
  auto& s = *state_;
  s.gl->make_current();
  s.camera.distance = pose.distance;
  s.camera.azimuth = pose.azimuth;
  s.camera.elevation = pose.elevation;
  for (int i = 0; i < 3; ++i) s.camera.lookat[i] = data->xpos[3 * target_body + i];
  mjv_updateScene(s.model, const_cast<mjData*>(data), &s.option, nullptr, &s.camera, mjCAT_ALL,
                  &s.scene);
  const mjrRect viewport{0, 0, options_.width, options_.height};
  mjr_setBuffer(mjFB_OFFSCREEN, &s.context);
  mjr_render(viewport, &s.scene, &s.context);
  mjr_readPixels(rgb.data(), nullptr, viewport, &s.context);
  // OpenGL rows start at the bottom; flip to top-first.
  const std::size_t row = static_cast<std::size_t>(options_.width) * 3;
  for (int y = 0; y < options_.height / 2; ++y) {
    std::uint8_t* a = rgb.data() + y * row;
    std::swap_ranges(a, a + row, rgb.data() + (options_.height - 1 - y) * row);
  }
}

}  // namespace clearsight::envs
