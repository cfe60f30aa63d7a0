// fp32 -> compute dtype on the host, for the offloaded step's parameter upload: bf16 and fp16
// round to nearest even, bit for bit what the GPU's __float2bfloat16 / __float2half give.
#pragma once

#include <cstdint>
#include <cstring>

#include "zerotune/base/dtype.hpp"
#include "zerotune/model/half_float.hpp"

namespace zerotune::train {

// dst[n] (dtype) = src[n] rounded. fp64 widens exactly.
inline void host_cast_from_float(void* dst, const float* src, int64_t n, DType dtype) {
  switch (dtype) {
    case DType::kBFloat16: {
      auto* d = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) d[i] = model::float_to_bf16(src[i]);
      return;
    }
    case DType::kFloat16: {
      auto* d = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) d[i] = model::float_to_half(src[i]);
      return;
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
