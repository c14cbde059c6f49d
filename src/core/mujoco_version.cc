#include <mujoco/mujoco.h>

#include "clearsight/core/runtime.h"

namespace clearsight {

std::string mujoco_version() { return mj_versionString(); }

}  // namespace clearsight
