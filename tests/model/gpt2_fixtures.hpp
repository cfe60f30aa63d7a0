// Parameter sources and gradient sinks for the GPT-2 tests: resident buffers (what ZeRO
// stages 0-2 hand out), and a recording pair that behaves like stage 3 (a unit's parameters
// exist only between acquire and release, gradients are taken away at gradients_ready).
#pragma once

#include <limits>
#include <random>
#include <string>
#include <vector>

#include "zerotune/model/gpt2.hpp"

namespace zerotune::testing {

template <typename T>
using UnitBuffers = std::vector<std::vector<T>>;

template <typename T>
UnitBuffers<T> zero_buffers(const model::Gpt2Layout& layout) {
  UnitBuffers<T> b;
  for (const auto& u : layout.units) b.emplace_back(static_cast<size_t>(u.numel), T(0));
  return b;
}

// Random parameters far from GPT-2's small init so every path carries signal: matrices and
// embeddings U(-scale, scale), biases U(-0.2, 0.2), LayerNorm weights U(0.5, 1.5).
inline UnitBuffers<double> random_parameters(const model::Gpt2Layout& layout, uint64_t seed,
                                             double scale) {
  std::mt19937_64 rng(seed);
  auto params = zero_buffers<double>(layout);
  for (size_t u = 0; u < layout.units.size(); ++u) {
    for (const auto& t : layout.units[u].tensors) {
      const bool ln_weight =
          t.name.find("ln_") != std::string::npos && t.name.find(".weight") != std::string::npos;
      const bool bias = t.name.find(".bias") != std::string::npos;
      std::uniform_real_distribution<double> dist(ln_weight ? 0.5 : (bias ? -0.2 : -scale),
                                                  ln_weight ? 1.5 : (bias ? 0.2 : scale));
      for (int64_t i = 0; i < t.numel; ++i) params[u][t.offset + i] = dist(rng);
    }
  }
  return params;
}

template <typename To, typename From>
UnitBuffers<To> cast_buffers(const UnitBuffers<From>& in) {
  UnitBuffers<To> out;
  for (const auto& b : in) out.emplace_back(b.begin(), b.end());
  return out;
}

template <typename T>
class ResidentParameters : public model::ParameterSource<T> {
 public:
  explicit ResidentParameters(UnitBuffers<T>& buffers) : buffers_(buffers) {}
  const T* acquire(int unit, int) override { return buffers_[unit].data(); }
  void release(int) override {}

 private:
  UnitBuffers<T>& buffers_;
};

template <typename T>
class ResidentGradients : public model::GradientSink<T> {
 public:
  explicit ResidentGradients(const model::Gpt2Layout& layout) : buffers(zero_buffers<T>(layout)) {}
  T* gradients(int unit) override { return buffers[unit].data(); }
  void gradients_ready(int) override {}
  UnitBuffers<T> buffers;
};

// Records every call as text. acquire() hands out a copy that release() poisons with NaN, so a
// read after release shows up in the results; gradients_ready() moves the unit's gradients to
// `ready` and poisons the working buffer, so a write after it is lost and shows up too.
template <typename T>
class RecordingUnits : public model::ParameterSource<T>, public model::GradientSink<T> {
 public:
  RecordingUnits(const UnitBuffers<T>& params, const model::Gpt2Layout& layout)
      : params_(params),
        staged_(zero_buffers<T>(layout)),
        working_(zero_buffers<T>(layout)),
        ready(zero_buffers<T>(layout)) {}

  const T* acquire(int unit, int next_unit) override {
    events.push_back("acquire " + std::to_string(unit) + " next " + std::to_string(next_unit));
    staged_[unit] = params_[unit];
    return staged_[unit].data();
  }
  void release(int unit) override {
    events.push_back("release " + std::to_string(unit));
    std::fill(staged_[unit].begin(), staged_[unit].end(), std::numeric_limits<T>::quiet_NaN());
  }
  T* gradients(int unit) override {
    events.push_back("gradients " + std::to_string(unit));
    return working_[unit].data();
  }
  void gradients_ready(int unit) override {
    events.push_back("ready " + std::to_string(unit));
    for (size_t i = 0; i < ready[unit].size(); ++i) ready[unit][i] += working_[unit][i];
    std::fill(working_[unit].begin(), working_[unit].end(), std::numeric_limits<T>::quiet_NaN());
  }
  // Before the next backward: fresh zero working buffers.
  void start_backward() {
    for (auto& w : working_) std::fill(w.begin(), w.end(), T(0));
  }

  std::vector<std::string> events;
  UnitBuffers<T> ready;

 private:
  const UnitBuffers<T>& params_;
  UnitBuffers<T> staged_;
  UnitBuffers<T> working_;
};

}  // namespace zerotune::testing
