// Gpt2Model options on the CPU backend, against the plain model: activations sized for shorter
// rows (max_tokens) and activation checkpointing compute the same loss and gradients, bit for
// bit, while holding fewer activation bytes.
#include "zerotune/model/gpt2_model.hpp"

#include <boost/test/unit_test.hpp>
#include <random>

#include "gpt2_fixtures.hpp"
#include "zerotune/ops/backend.hpp"

using namespace zerotune;
using namespace zerotune::model;
using zerotune::testing::UnitBuffers;

namespace {

const Gpt2Shape kShape{3, 2, 32, 64, 97};

template <typename T>
class Untyped : public ParameterSource<void>, public GradientSink<void> {
 public:
  Untyped(UnitBuffers<T>& params, UnitBuffers<T>& grads) : params_(params), grads_(grads) {}
  const void* acquire(int unit, int) override { return params_[unit].data(); }
  void release(int) override {}
  void* gradients(int unit) override { return grads_[unit].data(); }
  void gradients_ready(int) override {}

 private:
  UnitBuffers<T>& params_;
  UnitBuffers<T>& grads_;
};

struct Run {
  LossSum loss;
  UnitBuffers<float> grads;
  int64_t activation_bytes = 0;
};

Run run(const Gpt2Options& options, int64_t B, int64_t T) {
  auto backend = ops::make_cpu_backend(DType::kFloat32);
  Gpt2Model model(kShape, B, *backend, options);
  auto params = zerotune::testing::cast_buffers<float>(
      zerotune::testing::random_parameters(model.layout(), 3, 0.3));
  auto grads = zerotune::testing::zero_buffers<float>(model.layout());
  Untyped<float> units(params, grads);
  std::mt19937 rng(4);
  std::uniform_int_distribution<int32_t> tok(0, static_cast<int32_t>(kShape.vocab_size - 1));
  std::vector<int32_t> ids(B * T), labels(B * T);
  for (auto& v : ids) v = tok(rng);
  for (auto& v : labels) v = tok(rng);
  Run r;
  r.loss = model.forward(ids.data(), labels.data(), B, T, units);
  model.backward(0.01, units, units);
  r.grads = grads;
  r.activation_bytes = model.activation_bytes();
  return r;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(gpt2_model)

BOOST_AUTO_TEST_CASE(activations_sized_for_the_rows_give_the_same_results_in_less_memory) {
  const Run full = run({}, 2, 16);
  Gpt2Options short_rows;
  short_rows.max_tokens = 16;
  const Run sized = run(short_rows, 2, 16);
  BOOST_TEST(sized.loss.sum == full.loss.sum);
  BOOST_TEST(sized.grads == full.grads);
  BOOST_TEST(sized.activation_bytes * 3 < full.activation_bytes);
}

BOOST_AUTO_TEST_CASE(activation_checkpointing_recomputes_the_same_gradients) {
  const Run full = run({}, 2, 40);
  Gpt2Options ckpt;
  ckpt.activation_checkpointing = true;
  const Run recomputed = run(ckpt, 2, 40);
  BOOST_TEST(recomputed.loss.sum == full.loss.sum);
  BOOST_TEST(recomputed.grads == full.grads);
  BOOST_TEST(recomputed.activation_bytes < full.activation_bytes);
}

BOOST_AUTO_TEST_CASE(an_in_place_backward_runs_once_per_forward) {
  auto backend = ops::make_cpu_backend(DType::kFloat32);
  Gpt2Model model(kShape, 1, *backend);
  auto params = zerotune::testing::cast_buffers<float>(
      zerotune::testing::random_parameters(model.layout(), 5, 0.3));
  auto grads = zerotune::testing::zero_buffers<float>(model.layout());
  Untyped<float> units(params, grads);
  std::vector<int32_t> ids(8, 1), labels(8, 2);
  model.forward(ids.data(), labels.data(), 1, 8, units);
  model.backward(1.0, units, units);
  BOOST_CHECK_THROW(model.backward(1.0, units, units), std::logic_error);
}

BOOST_AUTO_TEST_SUITE_END()
