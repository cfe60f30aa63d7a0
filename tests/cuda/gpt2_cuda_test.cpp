// The whole GPT-2 forward and backward on the GPU against the CPU reference (Gpt2<double>,
// the same float-rounded weights): fp32 loss and every gradient within 1e-4 of the tensor's
// scale, bf16 and fp16 within the rounding of 16-bit activations. Also: activation
// checkpointing gives bit-identical gradients, and two runs are bit-identical. Odd sizes
// (V = 1001, T = 37) exercise the padded logits and unaligned rows. Skipped without a GPU.
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstring>
#include <vector>

#include "../model/gpt2_fixtures.hpp"
#include "gradcheck.hpp"
#include "zerotune/model/gpt2.hpp"
#include "zerotune/model/gpt2_model.hpp"
#include "zerotune/model/text_generation.hpp"
#include "zerotune/ops/backend.hpp"
#include "zerotune/runtime/cuda_device.hpp"

using namespace zerotune;
using namespace zerotune::model;
using zerotune::testing::max_relative_error;
using zerotune::testing::random_parameters;
using zerotune::testing::UnitBuffers;

namespace {

struct HasGpu {
  boost::test_tools::assertion_result operator()(boost::unit_test::test_unit_id) const {
    boost::test_tools::assertion_result r(runtime::cuda_device_count() > 0);
    r.message() << "no CUDA device visible";
    return r;
  }
};

const Gpt2Shape kShape{2, 4, 128, 48, 1001};

// Parameters resident on the GPU in the backend's compute dtype, rounded from fp32.
class GpuParameters : public ParameterSource<void> {
 public:
  GpuParameters(ops::Backend& backend, const UnitBuffers<float>& host) {
    runtime::Device& dev = backend.device();
    const size_t A = dtype_bytes(backend.compute_dtype());
    for (const auto& unit : host) {
      runtime::DeviceBuffer<float> staged(dev, static_cast<int64_t>(unit.size()));
      dev.copy(staged.data(), unit.data(), staged.bytes());
      units_.emplace_back(dev, static_cast<int64_t>(unit.size() * A));
      backend.cast_from_float(units_.back().data(), staged.data(), staged.size());
    }
  }
  const void* acquire(int unit, int) override { return units_[unit].data(); }
  void release(int) override {}

 private:
  std::vector<runtime::DeviceBuffer<std::byte>> units_;
};

class GpuGradients : public GradientSink<void> {
 public:
  GpuGradients(runtime::Device& dev, const Gpt2Layout& layout) : dev_(dev) {
    for (const auto& u : layout.units) units_.emplace_back(dev, u.numel);
  }
  void* gradients(int unit) override { return units_[unit].data(); }
  void gradients_ready(int) override {}
  std::vector<double> host(int unit) {
    std::vector<float> out(units_[unit].size());
    dev_.copy(out.data(), units_[unit].data(), units_[unit].bytes());
    return {out.begin(), out.end()};
  }

 private:
  runtime::Device& dev_;
  std::vector<runtime::DeviceBuffer<float>> units_;
};

struct Batch {
  int64_t B, T;
  std::vector<int32_t> ids, labels;
};

Batch make_batch(int64_t B, int64_t T, int64_t V, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int32_t> tok(0, static_cast<int32_t>(V - 1));
  Batch b{B, T, std::vector<int32_t>(B * T), std::vector<int32_t>(B * T)};
  for (auto& id : b.ids) id = tok(rng);
  for (int64_t i = 0; i < B * T; ++i) {
    b.labels[i] = (i % 7 == 3 || i % T == T - 1) ? kIgnoreIndex : b.ids[(i + 1) % (B * T)];
  }
  return b;
}

struct Result {
  LossSum loss;
  std::vector<std::vector<double>> grads;  // per unit
};

Result cpu_reference(const UnitBuffers<float>& params, const Batch& b, double loss_scale) {
  Gpt2<double> model(kShape, b.B);
  UnitBuffers<double> p;
  for (const auto& u : params) p.emplace_back(u.begin(), u.end());
  zerotune::testing::ResidentParameters<double> source(p);
  zerotune::testing::ResidentGradients<double> sink(model.layout());
  Result r;
  r.loss = model.forward(b.ids.data(), b.labels.data(), b.B, b.T, source);
  model.backward(loss_scale, source, sink);
  r.grads = sink.buffers;
  return r;
}

Result gpu_run(DType dtype, const UnitBuffers<float>& params, const Batch& b, double loss_scale,
               bool checkpointing = false) {
  auto device = runtime::make_cuda_device(0);
  auto backend = ops::make_cuda_backend(*device, dtype);
  Gpt2Options options;
  options.activation_checkpointing = checkpointing;
  Gpt2Model model(kShape, b.B, *backend, options);
  GpuParameters source(*backend, params);
  GpuGradients sink(*device, model.layout());
  Result r;
  r.loss = model.forward(b.ids.data(), b.labels.data(), b.B, b.T, source);
  model.backward(loss_scale, source, sink);
  for (size_t u = 0; u < model.layout().units.size(); ++u) {
    r.grads.push_back(sink.host(static_cast<int>(u)));
  }
  return r;
}

// ||a - b|| / ||b|| over a whole tensor: the measure for 16-bit runs, where single elements
// near zero carry the rounding of every activation before them.
double norm_relative_error(const std::vector<double>& a, const std::vector<double>& b) {
  double diff = 0, ref = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!std::isfinite(a[i])) return INFINITY;
    diff += (a[i] - b[i]) * (a[i] - b[i]);
    ref += b[i] * b[i];
  }
  return std::sqrt(diff / std::max(ref, 1e-300));
}

UnitBuffers<float> weights() {
  const Gpt2Layout layout = make_gpt2_layout(kShape);
  auto p = random_parameters(layout, 21, 0.1);
  UnitBuffers<float> f;
  for (const auto& u : p) f.emplace_back(u.begin(), u.end());
  return f;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(gpt2_cuda, *boost::unit_test::precondition(HasGpu{}))

BOOST_AUTO_TEST_CASE(fp32_loss_and_every_gradient_match_the_cpu_model) {
  const auto params = weights();
  const Batch b = make_batch(3, 37, kShape.vocab_size, 5);
  const Result ref = cpu_reference(params, b, 1.0 / 100);
  const Result got = gpu_run(DType::kFloat32, params, b, 1.0 / 100);
  BOOST_TEST(got.loss.tokens == ref.loss.tokens);
  BOOST_TEST(std::abs(got.loss.sum - ref.loss.sum) <= 1e-4 * std::abs(ref.loss.sum));
  const Gpt2Layout layout = make_gpt2_layout(kShape);
  for (size_t u = 0; u < layout.units.size(); ++u) {
    for (const auto& t : layout.units[u].tensors) {
      const auto at = [&](const std::vector<double>& g) {
        return std::vector<double>(g.begin() + t.offset, g.begin() + t.offset + t.numel);
      };
      BOOST_TEST(max_relative_error(at(got.grads[u]), at(ref.grads[u])) < 1e-4, t.name);
    }
  }
}

BOOST_AUTO_TEST_CASE(bf16_and_fp16_follow_the_cpu_model_within_16_bit_rounding) {
  const auto params = weights();
  const Batch b = make_batch(2, 48, kShape.vocab_size, 6);
  const Result ref = cpu_reference(params, b, 1.0 / 64);
  for (DType dt : {DType::kBFloat16, DType::kFloat16}) {
    const Result got = gpu_run(dt, params, b, 1.0 / 64);
    BOOST_TEST_INFO(dtype_name(dt));
    BOOST_TEST(std::abs(got.loss.sum - ref.loss.sum) <= 1e-2 * std::abs(ref.loss.sum));
    for (size_t u = 0; u < ref.grads.size(); ++u) {
      BOOST_TEST(norm_relative_error(got.grads[u], ref.grads[u]) < 5e-2, dtype_name(dt)
                                                                             << " unit " << u);
    }
  }
}

BOOST_AUTO_TEST_CASE(runs_are_bit_identical_and_checkpointing_changes_nothing) {
  const auto params = weights();
  const Batch b = make_batch(2, 40, kShape.vocab_size, 7);
  const Result first = gpu_run(DType::kBFloat16, params, b, 0.01);
  const Result second = gpu_run(DType::kBFloat16, params, b, 0.01);
  const Result recomputed = gpu_run(DType::kBFloat16, params, b, 0.01, /*checkpointing=*/true);
  BOOST_TEST(first.loss.sum == second.loss.sum);
  BOOST_TEST(first.loss.sum == recomputed.loss.sum);
  for (size_t u = 0; u < first.grads.size(); ++u) {
    BOOST_TEST(first.grads[u] == second.grads[u], "unit " << u);
    BOOST_TEST(first.grads[u] == recomputed.grads[u], "unit " << u);
  }
}

// Decoding with the KV cache on the GPU (the backend's cached attention, fp32): greedy tokens
// equal the full-forward path's, and the work is the prompt once plus one position a token.
BOOST_AUTO_TEST_CASE(kv_cache_decoding_gives_the_full_forward_tokens) {
  auto device = runtime::make_cuda_device(0);
  auto backend = ops::make_cuda_backend(*device, DType::kFloat32);
  auto params = weights();
  for (auto& unit : params) {
    for (float& v : unit) v *= 4.0f;  // sharp logits: no near-ties for argmax
  }
  GpuParameters source(*backend, params);
  const std::vector<int32_t> prompt = {5, 17, 300, 2, 999};
  const int64_t n = 20;
  std::vector<std::vector<int32_t>> ids;
  std::vector<int64_t> positions;
  for (bool cached : {false, true}) {
    Gpt2Options options;
    options.kv_cache = cached;
    Gpt2Model model(kShape, 1, *backend, options);
    TokenSampler greedy(SamplingSettings{});
    ids.push_back(generate_tokens(model, source, prompt, n, -1, greedy).new_ids);
    positions.push_back(model.positions_processed());
  }
  BOOST_TEST(ids[0].size() == static_cast<size_t>(n));
  BOOST_TEST(ids[1] == ids[0], boost::test_tools::per_element());
  BOOST_TEST(positions[1] == static_cast<int64_t>(prompt.size()) + n - 1);
}

BOOST_AUTO_TEST_SUITE_END()
