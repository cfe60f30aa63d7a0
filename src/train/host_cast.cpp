#include "zerotune/train/host_cast.hpp"

#include <cstring>

#include "zerotune/model/half_float.hpp"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace zerotune::train {

namespace {

void to_half_portable(uint16_t* d, const float* s, int64_t n) {
  for (int64_t i = 0; i < n; ++i) d[i] = model::float_to_half(s[i]);
}

#if defined(__x86_64__)
// VCVTPS2PH with round-to-nearest-even: IEEE binary16 rounding, subnormals and overflow to
// infinity included, 8 values per instruction.
__attribute__((target("avx,f16c"))) void to_half_f16c(uint16_t* d, const float* s, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(s + i), _MM_FROUND_TO_NEAREST_INT);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(d + i), h);
  }
  to_half_portable(d + i, s + i, n - i);
}

bool has_f16c() {
  static const bool yes = __builtin_cpu_supports("avx") && __builtin_cpu_supports("f16c");
  return yes;
}
#endif

}  // namespace

void host_cast_from_float(void* dst, const float* src, int64_t n, DType dtype) {
  switch (dtype) {
    case DType::kBFloat16: {
      auto* d = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) d[i] = model::float_to_bf16(src[i]);
      return;
    }
    case DType::kFloat16: {
      auto* d = static_cast<uint16_t*>(dst);
#if defined(__x86_64__)
      if (has_f16c()) return to_half_f16c(d, src, n);
#endif
      return to_half_portable(d, src, n);
    }
    case DType::kFloat64: {
      auto* d = static_cast<double*>(dst);
      for (int64_t i = 0; i < n; ++i) d[i] = src[i];
      return;
    }
    case DType::kFloat32:
      break;
  }
  std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
}

}  // namespace zerotune::train
