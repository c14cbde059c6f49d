// Probes for an offscreen OpenGL context (EGL surfaceless through Mesa, then OSMesa) without
// linking either library: both are opened with dlopen so the library runs where neither exists.
#include <EGL/egl.h>
#include <EGL/eglext.h>
#include <GL/osmesa.h>
#include <dlfcn.h>

#include <cstdlib>
#include <vector>

#include "clearsight/core/runtime.h"

namespace clearsight {
namespace {

bool probe_egl() {
  void* lib = dlopen("libEGL.so.1", RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) return false;
  auto get_proc = reinterpret_cast<PFNEGLGETPROCADDRESSPROC>(dlsym(lib, "eglGetProcAddress"));
  auto initialize = reinterpret_cast<PFNEGLINITIALIZEPROC>(dlsym(lib, "eglInitialize"));
  auto choose = reinterpret_cast<PFNEGLCHOOSECONFIGPROC>(dlsym(lib, "eglChooseConfig"));
  auto bind_api = reinterpret_cast<PFNEGLBINDAPIPROC>(dlsym(lib, "eglBindAPI"));
  auto create = reinterpret_cast<PFNEGLCREATECONTEXTPROC>(dlsym(lib, "eglCreateContext"));
  auto make_current = reinterpret_cast<PFNEGLMAKECURRENTPROC>(dlsym(lib, "eglMakeCurrent"));
  auto destroy = reinterpret_cast<PFNEGLDESTROYCONTEXTPROC>(dlsym(lib, "eglDestroyContext"));
  auto terminate = reinterpret_cast<PFNEGLTERMINATEPROC>(dlsym(lib, "eglTerminate"));
  if (!get_proc || !initialize || !choose || !bind_api || !create || !make_current || !destroy ||
      !terminate) {
    return false;
  }
  auto get_platform_display =
      reinterpret_cast<PFNEGLGETPLATFORMDISPLAYEXTPROC>(get_proc("eglGetPlatformDisplayEXT"));
  if (get_platform_display == nullptr) return false;
  EGLDisplay display =
      get_platform_display(EGL_PLATFORM_SURFACELESS_MESA, EGL_DEFAULT_DISPLAY, nullptr);
  if (display == EGL_NO_DISPLAY) return false;
  EGLint major = 0, minor = 0;
  if (!initialize(display, &major, &minor)) return false;
  const EGLint attributes[] = {EGL_SURFACE_TYPE, EGL_PBUFFER_BIT, EGL_RENDERABLE_TYPE,
                               EGL_OPENGL_BIT, EGL_NONE};
  EGLConfig config = nullptr;
  EGLint count = 0;
  bool ok = false;
  if (choose(display, attributes, &config, 1, &count) && count > 0 && bind_api(EGL_OPENGL_API)) {
    EGLContext context = create(display, config, EGL_NO_CONTEXT, nullptr);
    if (context != EGL_NO_CONTEXT) {
      ok = make_current(display, EGL_NO_SURFACE, EGL_NO_SURFACE, context) == EGL_TRUE;
      make_current(display, EGL_NO_SURFACE, EGL_NO_SURFACE, EGL_NO_CONTEXT);
      destroy(display, context);
    }
  }
  terminate(display);
  return ok;
}

bool probe_osmesa() {
  void* lib = dlopen("libOSMesa.so.8", RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) lib = dlopen("libOSMesa.so", RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) return false;
  using CreateFn = OSMesaContext (*)(GLenum, GLint, GLint, GLint, OSMesaContext);
  using MakeCurrentFn = GLboolean (*)(OSMesaContext, void*, GLenum, GLsizei, GLsizei);
  using DestroyFn = void (*)(OSMesaContext);
  auto create = reinterpret_cast<CreateFn>(dlsym(lib, "OSMesaCreateContextExt"));
  auto make_current = reinterpret_cast<MakeCurrentFn>(dlsym(lib, "OSMesaMakeCurrent"));
  auto destroy = reinterpret_cast<DestroyFn>(dlsym(lib, "OSMesaDestroyContext"));
  if (!create || !make_current || !destroy) return false;
  OSMesaContext context = create(OSMESA_RGBA, 24, 8, 0, nullptr);
  if (context == nullptr) return false;
  std::vector<unsigned char> buffer(16 * 16 * 4);
  const bool ok = make_current(context, buffer.data(), GL_UNSIGNED_BYTE, 16, 16) == GL_TRUE;
  destroy(context);
  return ok;
}

}  // namespace

std::string offscreen_gl_backend() {
  if (probe_egl()) return "egl";
  if (probe_osmesa()) return "osmesa";
  return "";
}

}  // namespace clearsight
