#include "clearsight/nn/ablation.h"

#include <algorithm>

#include "clearsight/core/error.h"
#include "clearsight/core/strings.h"

namespace clearsight::nn {

namespace {

std::int64_t wrap_dim(std::int64_t dim, std::int64_t rank) { return dim < 0 ? dim + rank : dim; }

}  // namespace

const std::vector<std::string>& ablation_value_names() {
  static const std::vector<std::string> names = {"zero", "mean", "min", "resample"};
  return names;
}

torch::Tensor ablate_activation(const torch::Tensor& x, const AblationTarget& target,
                                const AblationOptions& options, at::Generator* generator) {
  const auto rank = x.dim();
  const auto unit_dim = wrap_dim(target.unit_dim, rank);
  const auto position_dim = wrap_dim(target.position_dim, rank);
  CS_CHECK_AS(ShapeError,
              rank >= 2 && unit_dim > 0 && unit_dim < rank && position_dim > 0 &&
                  position_dim < rank && unit_dim != position_dim,
              "ablating ", target.hook, ": activation ", x.sizes(), " has no unit dim ",
              target.unit_dim, " and position dim ", target.position_dim);
  CS_CHECK_AS(ShapeError, target.units.dim() == 1 && target.units.size(0) == x.size(unit_dim),
              "ablating ", target.hook, ": ", target.units.sizes(), " units for an activation ",
              x.sizes(), " with ", x.size(unit_dim), " along dim ", unit_dim);
  auto units = target.units.to(torch::kBool);
  if (options.complementary) units = units.logical_not();
  // The mask broadcast to x: units along unit_dim, and the positions when they apply.
  std::vector<std::int64_t> shape(rank, 1);
  shape[unit_dim] = x.size(unit_dim);
  auto mask = units.to(x.device()).view(shape);
  if (options.positions && options.positions->defined()) {
    const auto& p = *options.positions;
    if (p.dim() != 2 || p.size(0) != x.size(0) || p.size(1) != x.size(position_dim)) {
      return x;  // a generation step or another input: not a position of the chosen set
    }
    std::vector<std::int64_t> pshape(rank, 1);
    pshape[0] = p.size(0);
    pshape[position_dim] = p.size(1);
    mask = mask.logical_and(p.to(x.device(), torch::kBool).view(pshape));
  }
  torch::Tensor value;
  // The reference's shape: x without its batch and position dims.
  std::vector<std::int64_t> row_shape;
  for (std::int64_t d = 0; d < rank; ++d) {
    if (d != 0 && d != position_dim) row_shape.push_back(x.size(d));
  }
  std::vector<std::int64_t> expand_shape(rank, 1);
  for (std::int64_t d = 0, r = 0; d < rank; ++d) {
    if (d != 0 && d != position_dim) expand_shape[d] = row_shape[r++];
  }
  if (options.value == "zero") {
    value = torch::zeros({}, x.options());
  } else if (options.value == "min") {
    value = x.min();
  } else if (options.value == "mean") {
    CS_CHECK_AS(ShapeError,
                target.reference.defined() && target.reference.sizes().vec() == row_shape,
                "mean ablation of ", target.hook, " needs per-unit means of shape ",
                c10::IntArrayRef(row_shape), ", got ",
                target.reference.defined() ? target.reference.sizes() : c10::IntArrayRef{});
    value = target.reference.to(x.options()).view(expand_shape);
  } else {
    CS_CHECK_AS(ShapeError,
                target.reference.defined() &&
                    target.reference.dim() == 1 + static_cast<std::int64_t>(row_shape.size()) &&
                    target.reference.size(0) >= 1 &&
                    target.reference.sizes().slice(1).vec() == row_shape,
                "resample ablation of ", target.hook, " needs a pool [S, ",
                c10::IntArrayRef(row_shape), "] of activations from other inputs");
    // One pool row per (batch row, position), moved to x's layout.
    const auto b = x.size(0), l = x.size(position_dim);
    const auto draws = torch::randint(target.reference.size(0), {b * l}, *generator,
                                      torch::TensorOptions().dtype(torch::kInt64));
    auto rows = target.reference.index_select(0, draws).to(x.options());  // [b*l, ...]
    std::vector<std::int64_t> grid = {b, l};
    grid.insert(grid.end(), row_shape.begin(), row_shape.end());
    rows = rows.view(grid);  // [b, l, rest...]
    if (position_dim != 1) rows = rows.movedim(1, position_dim);
    value = rows;
  }
  return torch::where(mask, value, x);
}

std::vector<HookHandle> ablate(HookedModule& model, const std::vector<AblationTarget>& targets,
                               const AblationOptions& options) {
  const auto& names = ablation_value_names();
  if (std::find(names.begin(), names.end(), options.value) == names.end()) {
    CS_THROW(UnknownNameError, "unknown ablation value '", options.value,
             "' (values: ", join(names, ", "), ")", did_you_mean(options.value, names));
  }
  std::vector<HookHandle> handles;
  auto generator =
      std::make_shared<at::Generator>(at::make_generator<at::CPUGeneratorImpl>(options.seed));
  for (const auto& target : targets) {
    CS_CHECK_AS(ShapeError, target.units.defined() && target.units.dim() == 1, "ablation of ",
                target.hook, " needs a 1-D unit mask");
    const bool any = target.units.to(torch::kBool).any().item<bool>();
    const bool all = target.units.to(torch::kBool).all().item<bool>();
    if (options.complementary ? all : !any) continue;  // nothing to ablate: the identity
    handles.push_back(model.add_hook(
        target.hook,
        [target, options, generator](const torch::Tensor& x,
                                     const std::string&) -> std::optional<torch::Tensor> {
          return ablate_activation(x, target, options, generator.get());
        }));
  }
  return handles;
}

}  // namespace clearsight::nn
