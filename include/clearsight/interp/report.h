// The explain methods' reports: the report writer lives in core (clearsight/core/report.h) so
// that every module's reports share it; these names keep interp's callers unchanged.
#pragma once

#include "clearsight/core/report.h"

namespace clearsight::interp {

using clearsight::format_number;
using clearsight::Report;
using clearsight::tensor_to_json;
using clearsight::write_result;
using clearsight::write_tensors;

}  // namespace clearsight::interp
