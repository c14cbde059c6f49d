#include "clearsight/core/error.h"

namespace clearsight {

std::string_view error_kind_name(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kGeneric:
      return "error";
    case ErrorKind::kConfig:
      return "config error";
    case ErrorKind::kIo:
      return "io error";
    case ErrorKind::kFormat:
      return "format error";
    case ErrorKind::kShape:
      return "shape error";
    case ErrorKind::kUnknownName:
      return "unknown name";
    case ErrorKind::kNumeric:
      return "numeric error";
    case ErrorKind::kRuntime:
      return "runtime error";
  }
  return "error";
}

Error::Error(std::string message, ErrorKind kind)
    : std::runtime_error(std::move(message)), kind_(kind) {}

}  // namespace clearsight
