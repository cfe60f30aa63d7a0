#include "zerotune/ops/attention.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "gemm.hpp"

namespace zerotune::ops {

template <typename T>
void attention_forward(T* out, T* att, const T* qkv, int64_t B, int64_t Tlen, int64_t C,
                       int64_t NH) {
  const int64_t hd = C / NH;
  const int64_t C3 = 3 * C;
  const T scale = T(1) / std::sqrt(static_cast<T>(hd));
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t h = 0; h < NH; ++h) {
      const T* q = qkv + b * Tlen * C3 + h * hd;
      const T* k = q + C;
      const T* v = q + 2 * C;
      T* a = att + (b * NH + h) * Tlen * Tlen;
      // S = scale * q @ k^T over the full square; the upper triangle is masked below.
      detail::gemm(false, true, Tlen, Tlen, hd, scale, q, C3, k, C3, T(0), a, Tlen);
      for (int64_t t = 0; t < Tlen; ++t) {
        T* row = a + t * Tlen;
        T maxv = row[0];
        for (int64_t s = 1; s <= t; ++s) maxv = row[s] > maxv ? row[s] : maxv;
        T sum = T(0);
        for (int64_t s = 0; s <= t; ++s) {
          row[s] = std::exp(row[s] - maxv);
          sum += row[s];
        }
        const T inv = T(1) / sum;
        for (int64_t s = 0; s <= t; ++s) row[s] *= inv;
        for (int64_t s = t + 1; s < Tlen; ++s) row[s] = T(0);
      }
      T* o = out + b * Tlen * C + h * hd;
      detail::gemm(false, false, Tlen, hd, Tlen, T(1), a, Tlen, v, C3, T(0), o, C);
    }
  }
}

template <typename T>
void attention_forward_cached(T* out, T* kv, const T* qkv, int64_t B, int64_t past, int64_t Tq,
                              int64_t maxT, int64_t C, int64_t NH) {
  const int64_t hd = C / NH;
  const int64_t C3 = 3 * C;
  const T scale = T(1) / std::sqrt(static_cast<T>(hd));
  std::vector<T> scores(static_cast<size_t>(past + Tq));
  for (int64_t b = 0; b < B; ++b) {
    T* keys = kv + b * 2 * maxT * C;
    T* values = keys + maxT * C;
    for (int64_t i = 0; i < Tq; ++i) {
      const T* row = qkv + (b * Tq + i) * C3;
      std::copy(row + C, row + 2 * C, keys + (past + i) * C);
      std::copy(row + 2 * C, row + 3 * C, values + (past + i) * C);
    }
    for (int64_t i = 0; i < Tq; ++i) {
      const int64_t n = past + i + 1;  // positions this query sees
      for (int64_t h = 0; h < NH; ++h) {
        const T* q = qkv + (b * Tq + i) * C3 + h * hd;
        T maxv = -std::numeric_limits<T>::infinity();
        for (int64_t s = 0; s < n; ++s) {
          const T* k = keys + s * C + h * hd;
          T dot = T(0);
          for (int64_t c = 0; c < hd; ++c) dot += q[c] * k[c];
          scores[s] = dot * scale;
          maxv = scores[s] > maxv ? scores[s] : maxv;
        }
        T sum = T(0);
        for (int64_t s = 0; s < n; ++s) sum += scores[s] = std::exp(scores[s] - maxv);
        T* o = out + (b * Tq + i) * C + h * hd;
        std::fill(o, o + hd, T(0));
        for (int64_t s = 0; s < n; ++s) {
          const T p = scores[s] / sum;
          const T* v = values + s * C + h * hd;
          for (int64_t c = 0; c < hd; ++c) o[c] += p * v[c];
        }
      }
    }
  }
}

template <typename T>
void attention_backward(T* dqkv, T* scratch, const T* dout, const T* qkv, const T* att, int64_t B,
                        int64_t Tlen, int64_t C, int64_t NH) {
  const int64_t hd = C / NH;
  const int64_t C3 = 3 * C;
  const T scale = T(1) / std::sqrt(static_cast<T>(hd));
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t h = 0; h < NH; ++h) {
      const T* q = qkv + b * Tlen * C3 + h * hd;
      const T* k = q + C;
      const T* v = q + 2 * C;
      T* dq = dqkv + b * Tlen * C3 + h * hd;
      T* dk = dq + C;
      T* dv = dq + 2 * C;
      const T* a = att + (b * NH + h) * Tlen * Tlen;
      const T* dout_bh = dout + b * Tlen * C + h * hd;
      T* ds = scratch;
      // datt = dout @ v^T, dv = att^T @ dout
      detail::gemm(false, true, Tlen, Tlen, hd, T(1), dout_bh, C, v, C3, T(0), ds, Tlen);
      detail::gemm(true, false, Tlen, hd, Tlen, T(1), a, Tlen, dout_bh, C, T(0), dv, C3);
      // softmax backward, in place: dS = att * (datt - rowsum(att * datt))
      for (int64_t t = 0; t < Tlen; ++t) {
        const T* arow = a + t * Tlen;
        T* drow = ds + t * Tlen;
        T dot = T(0);
        for (int64_t s = 0; s <= t; ++s) dot += arow[s] * drow[s];
        for (int64_t s = 0; s <= t; ++s) drow[s] = arow[s] * (drow[s] - dot);
        for (int64_t s = t + 1; s < Tlen; ++s) drow[s] = T(0);
      }
      // dq = scale * dS @ k, dk = scale * dS^T @ q
      detail::gemm(false, false, Tlen, hd, Tlen, scale, ds, Tlen, k, C3, T(0), dq, C3);
      detail::gemm(true, false, Tlen, hd, Tlen, scale, ds, Tlen, q, C3, T(0), dk, C3);
    }
  }
}

template void attention_forward<float>(float*, float*, const float*, int64_t, int64_t, int64_t,
                                       int64_t);
template void attention_forward<double>(double*, double*, const double*, int64_t, int64_t, int64_t,
                                        int64_t);
template void attention_forward_cached<float>(float*, float*, const float*, int64_t, int64_t,
                                              int64_t, int64_t, int64_t, int64_t);
template void attention_forward_cached<double>(double*, double*, const double*, int64_t, int64_t,
                                               int64_t, int64_t, int64_t, int64_t);
template void attention_backward<float>(float*, float*, const float*, const float*, const float*,
                                        int64_t, int64_t, int64_t, int64_t);
template void attention_backward<double>(double*, double*, const double*, const double*,
                                         const double*, int64_t, int64_t, int64_t, int64_t);

}  // namespace zerotune::ops
