#include "zerotune/ops/embedding.hpp"

namespace zerotune::ops {

template <typename T>
void embedding_forward(T* out, const int32_t* ids, const T* wte, const T* wpe, int64_t B,
                       int64_t Tlen, int64_t C) {
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t t = 0; t < Tlen; ++t) {
      const T* tok = wte + static_cast<int64_t>(ids[b * Tlen + t]) * C;
      const T* pos = wpe + t * C;
      T* o = out + (b * Tlen + t) * C;
      for (int64_t c = 0; c < C; ++c) o[c] = tok[c] + pos[c];
    }
  }
}

template <typename T>
void embedding_backward(T* dwte, T* dwpe, const T* dout, const int32_t* ids, int64_t B,
                        int64_t Tlen, int64_t C) {
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t t = 0; t < Tlen; ++t) {
      const T* d = dout + (b * Tlen + t) * C;
      T* dtok = dwte + static_cast<int64_t>(ids[b * Tlen + t]) * C;
      T* dpos = dwpe + t * C;
      for (int64_t c = 0; c < C; ++c) {
        dtok[c] += d[c];
        dpos[c] += d[c];
      }
    }
  }
}

template void embedding_forward<float>(float*, const int32_t*, const float*, const float*, int64_t,
                                       int64_t, int64_t);
template void embedding_forward<double>(double*, const int32_t*, const double*, const double*,
                                        int64_t, int64_t, int64_t);
template void embedding_backward<float>(float*, float*, const float*, const int32_t*, int64_t,
                                        int64_t, int64_t);
template void embedding_backward<double>(double*, double*, const double*, const int32_t*, int64_t,
                                         int64_t, int64_t);

}  // namespace zerotune::ops
