#include "zerotune/ops/sgd.hpp"

#include <boost/test/unit_test.hpp>
#include <cmath>
#include <vector>

namespace tt = boost::test_tools;
using namespace zerotune::ops;

// Closed forms of torch.optim.SGD (dampening 0, nesterov off); the torch comparison lives in
// tests/python/test_optimizer_reference.py.
BOOST_AUTO_TEST_SUITE(sgd)

BOOST_AUTO_TEST_CASE(plain_sgd_steps_against_the_gradient) {
  const std::vector<float> g = {1.0f, -2.0f};
  std::vector<float> p = {0.5f, 0.5f};
  SgdHyper h;
  h.lr = 0.1;
  sgd_step(p.data(), g.data(), nullptr, 2, h);
  BOOST_TEST(p[0] == 0.4, tt::tolerance(1e-6));
  BOOST_TEST(p[1] == 0.7, tt::tolerance(1e-6));
}

// Constant g, momentum mu: buf_k = g (1 - mu^k) / (1 - mu), so after t steps
//   p_t = p0 - lr g sum_{k=1..t} (1 - mu^k) / (1 - mu).
BOOST_AUTO_TEST_CASE(momentum_accumulates_a_geometric_series) {
  const std::vector<float> g = {0.2f, -1.0f};
  std::vector<float> p = {1.0f, 1.0f}, buf(2, 0.0f);
  SgdHyper h;
  h.lr = 0.05;
  h.momentum = 0.9;
  const int steps = 4;
  for (int t = 0; t < steps; ++t) sgd_step(p.data(), g.data(), buf.data(), 2, h);
  double series = 0.0;
  for (int k = 1; k <= steps; ++k) series += (1 - std::pow(0.9, k)) / (1 - 0.9);
  BOOST_TEST(p[0] == 1.0 - 0.05 * 0.2 * series, tt::tolerance(1e-6));
  BOOST_TEST(p[1] == 1.0 + 0.05 * 1.0 * series, tt::tolerance(1e-6));
  BOOST_TEST(buf[1] == -1.0 * (1 - std::pow(0.9, steps)) / 0.1, tt::tolerance(1e-6));
}

// Coupled decay with g = 0 and no momentum: p_t = p0 (1 - lr wd)^t.
BOOST_AUTO_TEST_CASE(weight_decay_is_added_to_the_gradient) {
  const std::vector<float> g(1, 0.0f);
  std::vector<float> p = {3.0f};
  SgdHyper h;
  h.lr = 0.1;
  h.weight_decay = 0.2;
  for (int t = 0; t < 3; ++t) sgd_step(p.data(), g.data(), nullptr, 1, h);
  BOOST_TEST(p[0] == 3.0 * std::pow(0.98, 3), tt::tolerance(1e-6));

  // With momentum the decay term joins the buffer: step 1 buf = wd p0, step 2 buf = mu buf + wd p1.
  std::vector<float> q = {3.0f}, buf = {0.0f};
  h.momentum = 0.5;
  sgd_step(q.data(), g.data(), buf.data(), 1, h);
  sgd_step(q.data(), g.data(), buf.data(), 1, h);
  const double p1 = 3.0 - 0.1 * 0.2 * 3.0;
  const double buf2 = 0.5 * 0.2 * 3.0 + 0.2 * p1;
  BOOST_TEST(q[0] == p1 - 0.1 * buf2, tt::tolerance(1e-6));
}

BOOST_AUTO_TEST_SUITE_END()
