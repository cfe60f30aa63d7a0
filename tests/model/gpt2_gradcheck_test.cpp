// Every parameter gradient of a tiny GPT-2 against central finite differences of the loss.
#include <boost/test/unit_test.hpp>

#include "gpt2_fixtures.hpp"
#include "gradcheck.hpp"
#include "zerotune/model/gpt2.hpp"

using namespace zerotune::model;
using namespace zerotune::testing;

BOOST_AUTO_TEST_SUITE(gpt2_gradcheck)

namespace {

const Gpt2Shape kTiny{2, 2, 8, 6, 11};  // n_layer, n_head, n_embd, seq_len, vocab

// For each tensor: the backward's gradient of loss_scale * loss_sum against finite
// differences of the same function, every element.
void check_all_gradients(int64_t B, int64_t Tlen, const std::vector<int32_t>& ids,
                         const std::vector<int32_t>& labels, uint64_t seed) {
  Gpt2<double> model(kTiny, 2);
  const Gpt2Layout& layout = model.layout();
  auto params = random_parameters(layout, seed, 0.5);
  ResidentParameters<double> source(params);
  const double loss_scale = 0.7;

  const LossSum loss = model.forward(ids.data(), labels.data(), B, Tlen, source);
  int64_t counted = 0;
  for (int32_t l : labels) counted += l != kIgnoreIndex;
  BOOST_TEST(loss.tokens == counted);
  ResidentGradients<double> grads(layout);
  model.backward(loss_scale, source, grads);

  for (size_t u = 0; u < layout.units.size(); ++u) {
    for (const auto& t : layout.units[u].tensors) {
      std::vector<double> analytic(grads.buffers[u].begin() + t.offset,
                                   grads.buffers[u].begin() + t.offset + t.numel);
      std::vector<double> values(params[u].begin() + t.offset,
                                 params[u].begin() + t.offset + t.numel);
      auto loss_of = [&] {
        std::copy(values.begin(), values.end(), params[u].begin() + t.offset);
        return loss_scale * model.forward(ids.data(), labels.data(), B, Tlen, source).sum;
      };
      const auto numeric = numerical_gradient(values, loss_of);
      std::copy(values.begin(), values.end(), params[u].begin() + t.offset);
      BOOST_TEST(max_relative_error(analytic, numeric) < 1e-7, t.name);
    }
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_parameter_gradient_matches_finite_differences) {
  const std::vector<int32_t> ids = {3, 7, 0, 10, 7, 2, 5, 5, 1, 9, 4, 3};
  const std::vector<int32_t> labels = {7, 0, -100, 7, 2, 5, -100, 1, 9, 4, 3, -100};
  check_all_gradients(2, 6, ids, labels, 100);
}

// Fewer sequences and positions than allocated: rows are packed, wpe rows beyond Tlen get none.
BOOST_AUTO_TEST_CASE(gradients_match_finite_differences_for_a_shorter_batch) {
  const std::vector<int32_t> ids = {6, 2, 2, 8};
  const std::vector<int32_t> labels = {2, -100, 8, 1};
  check_all_gradients(1, 4, ids, labels, 101);
}

BOOST_AUTO_TEST_SUITE_END()
