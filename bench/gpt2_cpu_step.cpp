// Times one forward + backward of Gpt2<float> on the CPU: the built-in demo config and
// GPT-2 small. Not built by CMake yet; from the repository root, after a build:
//   g++ -O3 -std=c++20 -Iinclude bench/gpt2_cpu_step.cpp build/libzerotune_core.a \
//       $(pkg-config --cflags --libs openblas) -o build/gpt2_cpu_step
//   OPENBLAS_NUM_THREADS=2 build/gpt2_cpu_step
#include <chrono>
#include <cstdio>
#include <random>
#include <vector>

#include "zerotune/model/gpt2.hpp"

using namespace zerotune::model;

namespace {

class Resident : public ParameterSource<float>, public GradientSink<float> {
 public:
  explicit Resident(const Gpt2Layout& layout) {
    for (size_t u = 0; u < layout.units.size(); ++u) {
      params_.emplace_back(layout.units[u].numel);
      grads_.emplace_back(layout.units[u].numel, 0.0f);
      Gpt2<float>::init_unit(layout, static_cast<int>(u), params_.back().data(), 1234);
    }
  }
  const float* acquire(int unit, int) override { return params_[unit].data(); }
  void release(int) override {}
  float* gradients(int unit) override { return grads_[unit].data(); }
  void gradients_ready(int) override {}

 private:
  std::vector<std::vector<float>> params_, grads_;
};

void time_step(const char* name, const Gpt2Shape& shape, int64_t B, int64_t T, int iters) {
  Gpt2<float> model(shape, B);
  Resident units(model.layout());
  std::mt19937_64 rng(1);
  std::uniform_int_distribution<int32_t> tok(0, static_cast<int32_t>(shape.vocab_size - 1));
  std::vector<int32_t> ids(B * T), labels(B * T);
  for (auto& id : ids) id = tok(rng);
  for (auto& l : labels) l = tok(rng);
  using clock = std::chrono::steady_clock;
  double fwd_ms = 0.0, bwd_ms = 0.0;
  for (int i = 0; i <= iters; ++i) {  // iteration 0 warms up
    const auto t0 = clock::now();
    model.forward(ids.data(), labels.data(), B, T, units);
    const auto t1 = clock::now();
    model.backward(1.0f, units, units);
    const auto t2 = clock::now();
    if (i == 0) continue;
    fwd_ms += std::chrono::duration<double, std::milli>(t1 - t0).count() / iters;
    bwd_ms += std::chrono::duration<double, std::milli>(t2 - t1).count() / iters;
  }
  std::printf("%-12s B=%lld T=%lld forward_ms=%.1f backward_ms=%.1f step_ms=%.1f\n", name,
              static_cast<long long>(B), static_cast<long long>(T), fwd_ms, bwd_ms,
              fwd_ms + bwd_ms);
}

}  // namespace

int main() {
  time_step("demo", Gpt2Shape{2, 4, 128, 64, 257}, 16, 64, 20);
  time_step("gpt2-small", Gpt2Shape{12, 12, 768, 1024, 50257}, 1, 128, 3);
  return 0;
}
