#include "clearsight/rl/fast_mlp.h"

#include <cmath>

#include "clearsight/core/error.h"

namespace clearsight::rl::fast {

namespace {

using WeightMap = Eigen::Map<Matrix>;
using BiasMap = Eigen::Map<Eigen::RowVectorXf>;

float* float_data(const torch::Tensor& t, const char* what) {
  CS_CHECK_AS(
      ShapeError,
      t.defined() && t.device().is_cpu() && t.scalar_type() == torch::kFloat32 && t.is_contiguous(),
      "fast path: ", what, " must be a contiguous float32 CPU tensor");
  return t.data_ptr<float>();
}

}  // namespace

Activation parse_activation(const std::string& name) {
  if (name == "relu") return Activation::kRelu;
  if (name == "tanh") return Activation::kTanh;
  if (name == "elu") return Activation::kElu;
  CS_THROW(UnknownNameError, "unknown activation '", name, "' (valid: elu, relu, tanh)");
}

void activate_inplace(Matrix& x, Activation activation) {
  auto a = x.array();
  switch (activation) {
    case Activation::kRelu:
      a = a.max(0.0f);
      break;
    case Activation::kTanh:
      a = a.tanh();
      break;
    case Activation::kElu:
      a = (a > 0.0f).select(a, a.exp() - 1.0f);
      break;
  }
}

Mlp::Mlp(std::vector<DenseView> layers, Activation activation)
    : layers_(std::move(layers)), activation_(activation) {
  CS_CHECK_AS(ConfigError, !layers_.empty(), "fast path: an MLP needs at least one layer");
  for (std::size_t i = 0; i + 1 < layers_.size(); ++i) {
    CS_CHECK_AS(ShapeError, layers_[i].out == layers_[i + 1].in,
                "fast path: layer sizes do not chain");
  }
  h_.resize(layers_.size() + 1);
  for (const auto& l : layers_) {
    gw_.emplace_back(l.in_by_out ? Matrix::Zero(l.in, l.out) : Matrix::Zero(l.out, l.in));
    gb_.emplace_back(Eigen::RowVectorXf::Zero(l.out));
  }
}

Mlp Mlp::of(MlpImpl& mlp) {
  std::vector<DenseView> views;
  for (const auto& linear : mlp.layers()) {
    views.push_back({float_data(linear->weight, "a linear weight"),
                     float_data(linear->bias, "a linear bias"), linear->weight.size(1),
                     linear->weight.size(0), false});
  }
  return Mlp(std::move(views), parse_activation(mlp.options().activation));
}

Mlp Mlp::member_of(EnsembleMlpImpl& ensemble, std::int64_t member) {
  CS_CHECK_AS(ShapeError, member >= 0 && member < ensemble.members(), "fast path: member ", member,
              " of an ensemble of ", ensemble.members());
  std::vector<DenseView> views;
  for (std::size_t i = 0; i < ensemble.weights().size(); ++i) {
    const auto& w = ensemble.weights()[i];
    const auto& b = ensemble.biases()[i];
    const std::int64_t in = w.size(1), out = w.size(2);
    views.push_back({float_data(w, "an ensemble weight") + member * in * out,
                     float_data(b, "an ensemble bias") + member * out, in, out, true});
  }
  return Mlp(std::move(views), parse_activation(ensemble.options().activation));
}

const Matrix& Mlp::forward(const Eigen::Ref<const Matrix>& x) {
  CS_CHECK_AS(ShapeError, x.cols() == in(), "fast path: input has ", x.cols(),
              " columns, expected ", in());
  h_[0] = x;
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    const auto& l = layers_[i];
    auto& y = h_[i + 1];
    y.resize(x.rows(), l.out);
    if (l.in_by_out) {
      y.noalias() = h_[i] * WeightMap(l.weight, l.in, l.out);
    } else {
      y.noalias() = h_[i] * WeightMap(l.weight, l.out, l.in).transpose();
    }
    y.rowwise() += BiasMap(l.bias, l.out);
    if (i + 1 < layers_.size()) activate_inplace(y, activation_);
  }
  return h_.back();
}

void Mlp::backward(const Eigen::Ref<const Matrix>& dy, bool weight_grads, Matrix* dx) {
  CS_CHECK_AS(ShapeError, dy.rows() == h_[0].rows() && dy.cols() == out(),
              "fast path: output gradient has shape [", dy.rows(), ", ", dy.cols(), "], expected [",
              h_[0].rows(), ", ", out(), "]");
  dz_ = dy;
  for (std::size_t k = layers_.size(); k-- > 0;) {
    const auto& l = layers_[k];
    if (weight_grads) {
      if (l.in_by_out) {
        gw_[k].noalias() = h_[k].transpose() * dz_;
      } else {
        gw_[k].noalias() = dz_.transpose() * h_[k];
      }
      gb_[k].noalias() = Eigen::RowVectorXf::Ones(dz_.rows()) * dz_;
    }
    if (k == 0 && dx == nullptr) break;
    Matrix& target = k == 0 ? *dx : dh_;
    target.resize(dz_.rows(), l.in);
    if (l.in_by_out) {
      target.noalias() = dz_ * WeightMap(l.weight, l.in, l.out).transpose();
    } else {
      target.noalias() = dz_ * WeightMap(l.weight, l.out, l.in);
    }
    if (k == 0) break;
    // Through the activation of layer k - 1, whose output is h_[k].
    const auto h = h_[k].array();
    switch (activation_) {
      case Activation::kRelu:
        // A mask product, not a select: branch-free, so it vectorises (a relu's signs are
        // close to random, and a branch per element mispredicts half the time).
        dz_ = dh_.array() * (h > 0.0f).cast<float>();
        break;
      case Activation::kTanh:
        dz_ = dh_.array() * (1.0f - h.square());
        break;
      case Activation::kElu:
        dz_ = (h > 0.0f).select(dh_.array(), dh_.array() * (h + 1.0f));
        break;
    }
  }
}

std::vector<ParamSlot> Mlp::slots() {
  std::vector<ParamSlot> out;
  for (std::size_t k = 0; k < layers_.size(); ++k) {
    out.push_back({layers_[k].weight, gw_[k].data(), layers_[k].in * layers_[k].out});
    out.push_back({layers_[k].bias, gb_[k].data(), layers_[k].out});
  }
  return out;
}

std::int64_t Mlp::macs_per_row() const {
  std::int64_t macs = 0;
  for (const auto& l : layers_) macs += l.in * l.out;
  return macs;
}

Adam::Adam(std::vector<ParamSlot> slots, double lr) : slots_(std::move(slots)), lr_(lr) {
  for (const auto& s : slots_) {
    exp_avg_.push_back(torch::zeros({s.size}));
    exp_avg_sq_.push_back(torch::zeros({s.size}));
  }
}

void Adam::step() {
  ++step_;
  const double bias1 = 1.0 - std::pow(beta1_, static_cast<double>(step_));
  const double bias2 = 1.0 - std::pow(beta2_, static_cast<double>(step_));
  const float step_size = static_cast<float>(lr_ / bias1);
  const float inv_sqrt_bias2 = static_cast<float>(1.0 / std::sqrt(bias2));
  const float b1 = static_cast<float>(beta1_), b2 = static_cast<float>(beta2_);
  const float eps = static_cast<float>(eps_);
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    const auto n = slots_[i].size;
    Eigen::Map<Eigen::ArrayXf> p(slots_[i].value, n);
    Eigen::Map<const Eigen::ArrayXf> g(slots_[i].grad, n);
    Eigen::Map<Eigen::ArrayXf> m(exp_avg_[i].data_ptr<float>(), n);
    Eigen::Map<Eigen::ArrayXf> v(exp_avg_sq_[i].data_ptr<float>(), n);
    m = b1 * m + (1.0f - b1) * g;
    v = b2 * v + (1.0f - b2) * g.square();
    p -= step_size * m / (v.sqrt() * inv_sqrt_bias2 + eps);
  }
}

void Adam::save_to(std::vector<std::pair<std::string, torch::Tensor>>& out,
                   const std::string& prefix) const {
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    out.emplace_back(prefix + "exp_avg." + std::to_string(i), exp_avg_[i]);
    out.emplace_back(prefix + "exp_avg_sq." + std::to_string(i), exp_avg_sq_[i]);
  }
  out.emplace_back(prefix + "step", torch::full({1}, static_cast<double>(step_), torch::kFloat64));
}

void Adam::load_from(const std::function<torch::Tensor(const std::string&)>& get,
                     const std::string& prefix) {
  auto fetch = [&](const std::string& name, std::int64_t size) {
    auto t = get(prefix + name);
    CS_CHECK_AS(FormatError, t.defined() && t.numel() == size, "optimizer state '", prefix, name,
                "' is missing or has ", t.defined() ? t.numel() : 0, " values, expected ", size);
    return t.to(torch::kFloat32).contiguous().view({size});
  };
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    exp_avg_[i].copy_(fetch("exp_avg." + std::to_string(i), slots_[i].size));
    exp_avg_sq_[i].copy_(fetch("exp_avg_sq." + std::to_string(i), slots_[i].size));
  }
  auto s = get(prefix + "step");
  CS_CHECK_AS(FormatError, s.defined() && s.numel() == 1, "optimizer state '", prefix,
              "step' is missing");
  step_ = static_cast<std::int64_t>(s.to(torch::kFloat64).item<double>());
}

}  // namespace clearsight::rl::fast
