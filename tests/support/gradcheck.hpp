// Finite-difference helpers for the gradient tests: the references the backward passes are
// checked against. Header-only; the model tests include it too.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <random>
#include <vector>

namespace zerotune::testing {

inline std::vector<double> random_vector(size_t n, std::mt19937_64& rng, double lo = -1.0,
                                         double hi = 1.0) {
  std::uniform_real_distribution<double> dist(lo, hi);
  std::vector<double> v(n);
  for (double& x : v) x = dist(rng);
  return v;
}

inline std::vector<double> nan_vector(size_t n) {
  return std::vector<double>(n, std::numeric_limits<double>::quiet_NaN());
}

// sum_i w[i] * y[i]: a scalar objective whose gradient with respect to y is w.
inline double weighted_sum(const std::vector<double>& w, const double* y) {
  double s = 0.0;
  for (size_t i = 0; i < w.size(); ++i) s += w[i] * y[i];
  return s;
}

// Central differences (f(x + h e_i) - f(x - h e_i)) / 2h for every element of x, which is
// perturbed in place and restored.
inline std::vector<double> numerical_gradient(std::vector<double>& x,
                                              const std::function<double()>& f, double h = 1e-5) {
  std::vector<double> g(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const double saved = x[i];
    x[i] = saved + h;
    const double plus = f();
    x[i] = saved - h;
    const double minus = f();
    x[i] = saved;
    g[i] = (plus - minus) / (2.0 * h);
  }
  return g;
}

// max_i |a[i] - b[i]| / max_i |b[i]|: the worst element's error relative to the tensor's scale.
// NaN anywhere (an output that was not written) gives +inf.
inline double max_relative_error(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return std::numeric_limits<double>::infinity();
  double diff = 0.0, scale = 0.0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(a[i]) || std::isnan(b[i])) return std::numeric_limits<double>::infinity();
    diff = std::max(diff, std::abs(a[i] - b[i]));
    scale = std::max(scale, std::abs(b[i]));
  }
  return diff / std::max(scale, 1e-300);
}

inline std::vector<double> difference(const std::vector<double>& after,
                                      const std::vector<double>& before) {
  std::vector<double> d(after.size());
  for (size_t i = 0; i < d.size(); ++i) d[i] = after[i] - before[i];
  return d;
}

}  // namespace zerotune::testing
