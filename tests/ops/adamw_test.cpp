#include "zerotune/ops/adamw.hpp"

#include <boost/test/unit_test.hpp>
#include <cmath>
#include <vector>

namespace tt = boost::test_tools;
using namespace zerotune::ops;

// Closed forms of AdamW (torch.optim.AdamW); the step-by-step torch comparison lives in
// tests/python/test_optimizer_reference.py.
BOOST_AUTO_TEST_SUITE(adamw)

// Step 1 from zero moments: m_hat = g, v_hat = g^2, so p1 = p0 - lr * g / (|g| + eps).
BOOST_AUTO_TEST_CASE(first_step_moves_each_parameter_by_lr_times_sign) {
  const std::vector<float> g = {0.5f, -2.0f, 1e-3f, -3e-9f};
  std::vector<float> p = {1.0f, -1.0f, 0.25f, 2.0f}, m(4, 0.0f), v(4, 0.0f);
  const std::vector<float> p0 = p;
  AdamWHyper h;
  h.lr = 0.01;
  adamw_step(p.data(), g.data(), m.data(), v.data(), 4, h, 1);
  for (int i = 0; i < 4; ++i) {
    const double expected = p0[i] - h.lr * g[i] / (std::abs(double(g[i])) + h.eps);
    BOOST_TEST(p[i] == expected, tt::tolerance(1e-6));
    BOOST_TEST(m[i] == 0.1 * g[i], tt::tolerance(1e-6));
    BOOST_TEST(v[i] == 0.001 * double(g[i]) * g[i], tt::tolerance(1e-6));
  }
}

// A constant gradient keeps m_hat = g and v_hat = g^2 at every t, so without weight decay each
// step moves p by lr * g / (|g| + eps): the bias correction is what makes this exact.
BOOST_AUTO_TEST_CASE(constant_gradient_moves_linearly_through_bias_correction) {
  const std::vector<float> g = {0.3f, -1.5f};
  std::vector<float> p = {0.0f, 1.0f}, m(2, 0.0f), v(2, 0.0f);
  AdamWHyper h;
  h.lr = 1e-3;
  h.beta1 = 0.8;
  h.beta2 = 0.95;
  for (int t = 1; t <= 5; ++t) adamw_step(p.data(), g.data(), m.data(), v.data(), 2, h, t);
  BOOST_TEST(p[0] == 0.0 - 5 * 1e-3 * 0.3 / (0.3 + 1e-8), tt::tolerance(1e-5));
  BOOST_TEST(p[1] == 1.0 + 5 * 1e-3 * 1.5 / (1.5 + 1e-8), tt::tolerance(1e-6));
  BOOST_TEST(m[0] == (1 - std::pow(0.8, 5)) * 0.3, tt::tolerance(1e-5));
  BOOST_TEST(v[1] == (1 - std::pow(0.95, 5)) * 1.5 * 1.5, tt::tolerance(1e-5));
}

// With g = 0 the moments stay 0 and only the decoupled decay acts: p_t = p0 (1 - lr wd)^t.
BOOST_AUTO_TEST_CASE(weight_decay_is_decoupled_from_the_gradient) {
  const std::vector<float> g(3, 0.0f);
  std::vector<float> p = {2.0f, -4.0f, 0.5f}, m(3, 0.0f), v(3, 0.0f);
  AdamWHyper h;
  h.lr = 0.1;
  h.weight_decay = 0.5;
  for (int t = 1; t <= 3; ++t) adamw_step(p.data(), g.data(), m.data(), v.data(), 3, h, t);
  BOOST_TEST(p[0] == 2.0 * std::pow(0.95, 3), tt::tolerance(1e-6));
  BOOST_TEST(p[1] == -4.0 * std::pow(0.95, 3), tt::tolerance(1e-6));
  BOOST_TEST(m[2] == 0.0f);
}

BOOST_AUTO_TEST_CASE(grad_scale_equals_prescaled_gradients) {
  const std::vector<float> g = {0.7f, -0.2f, 5.0f},
                           g_scaled = {0.7f * 0.25f, -0.2f * 0.25f, 5.0f * 0.25f};
  std::vector<float> p1 = {1, 2, 3}, m1(3, 0), v1(3, 0), p2 = p1, m2(3, 0), v2(3, 0);
  AdamWHyper h;
  h.weight_decay = 0.1;
  for (int t = 1; t <= 3; ++t) {
    AdamWHyper scaled = h;
    scaled.grad_scale = 0.25;
    adamw_step(p1.data(), g.data(), m1.data(), v1.data(), 3, scaled, t);
    adamw_step(p2.data(), g_scaled.data(), m2.data(), v2.data(), 3, h, t);
  }
  BOOST_TEST(p1 == p2, tt::per_element());
  BOOST_TEST(v1 == v2, tt::per_element());
}

BOOST_AUTO_TEST_SUITE_END()
