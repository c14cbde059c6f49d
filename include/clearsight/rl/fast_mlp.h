// The small-network fast path: forward and backward of the RL algorithms' MLPs on pre-allocated
// Eigen buffers, their matrix products sent to the selected BLAS (EIGEN_USE_BLAS), and an Adam
// step equal to torch::optim::Adam's. The weights are not copied: a fast network is a view of a
// LibTorch module's parameter storage, so checkpoints, policies and the LibTorch reference path
// all see the same numbers.
#pragma once

// Eigen's matrix products call the BLAS (sgemm/sgemv) in every file that includes this one.
#ifndef EIGEN_USE_BLAS
#define EIGEN_USE_BLAS
#endif
#include <torch/torch.h>
#include <Eigen/Core>

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "clearsight/rl/networks.h"

namespace clearsight::rl::fast {

/// Row-major float matrix (rows = batch), the layout of LibTorch's [B, features] tensors.
using Matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
/// A read-only view of rows x cols floats with a row stride (a column block of a wider matrix).
using ConstMatrixView = Eigen::Map<const Matrix, 0, Eigen::OuterStride<>>;

/// Activation between layers.
enum class Activation { kRelu, kTanh, kElu };

/// The activation named by name ("relu", "tanh", "elu"); throws UnknownNameError.
Activation parse_activation(const std::string& name);

/// One dense layer whose parameters live in tensors owned elsewhere.
struct DenseView {
  /// Weight: [out, in] (torch::nn::Linear's layout) or, when in_by_out, [in, out] (ensemble).
  float* weight = nullptr;
  /// Bias [out].
  float* bias = nullptr;
  std::int64_t in = 0;
  std::int64_t out = 0;
  bool in_by_out = false;
};

/// A parameter and its gradient buffer, for the optimiser.
struct ParamSlot {
  float* value = nullptr;
  float* grad = nullptr;
  std::int64_t size = 0;
};

/// An MLP evaluated without autograd: forward keeps the activations that backward needs.
class Mlp {
 public:
  /// Layers in order, activation between them (none after the last).
  Mlp(std::vector<DenseView> layers, Activation activation);
  /// A view of a LibTorch MLP's parameters (torch::nn::Linear layout).
  static Mlp of(MlpImpl& mlp);
  /// Member member of an ensemble ([E, in, out] weights).
  static Mlp member_of(EnsembleMlpImpl& ensemble, std::int64_t member);

  /// x [B, in] -> [B, out]; the result stays valid until the next forward.
  const Matrix& forward(const Eigen::Ref<const Matrix>& x);
  /// Backpropagates dy [B, out] through the last forward: writes the weight gradients when
  /// weight_grads, and dL/dx into dx when it is not null.
  void backward(const Eigen::Ref<const Matrix>& dy, bool weight_grads, Matrix* dx);
  /// Parameters with their gradient buffers (weights then bias, layer by layer).
  std::vector<ParamSlot> slots();
  /// Input and output sizes.
  std::int64_t in() const { return layers_.front().in; }
  std::int64_t out() const { return layers_.back().out; }
  /// Multiply-adds of one forward per row (the FLOP count is twice this).
  std::int64_t macs_per_row() const;

 private:
  std::vector<DenseView> layers_;
  Activation activation_;
  std::vector<Matrix> h_;   // h_[0] = input, h_[i + 1] = output of layer i (after activation).
  std::vector<Matrix> gw_;  // Weight gradients in the weights' layout.
  std::vector<Eigen::RowVectorXf> gb_;
  Matrix dz_, dh_;
};

/// torch::optim::Adam's update (no weight decay, no amsgrad) over parameter slots, its moments
/// kept as tensors so that checkpoints hold them.
class Adam {
 public:
  /// Adam with learning rate lr and betas (0.9, 0.999), eps 1e-8, as AdamOptions' defaults.
  Adam(std::vector<ParamSlot> slots, double lr);
  /// One step from the slots' gradient buffers.
  void step();
  /// Steps done.
  std::int64_t steps() const { return step_; }
  /// The state as named tensors (prefix + "exp_avg.i", "exp_avg_sq.i", "step").
  void save_to(std::vector<std::pair<std::string, torch::Tensor>>& out,
               const std::string& prefix) const;
  /// Restores what save_to wrote; throws FormatError on a missing or misshaped entry.
  void load_from(const std::function<torch::Tensor(const std::string&)>& get,
                 const std::string& prefix);

 private:
  std::vector<ParamSlot> slots_;
  std::vector<torch::Tensor> exp_avg_, exp_avg_sq_;
  double lr_, beta1_ = 0.9, beta2_ = 0.999, eps_ = 1e-8;
  std::int64_t step_ = 0;
};

/// Applies the activation in place.
void activate_inplace(Matrix& x, Activation activation);

}  // namespace clearsight::rl::fast
