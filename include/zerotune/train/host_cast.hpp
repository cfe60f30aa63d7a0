// fp32 -> compute dtype on the host, for the offloaded step's parameter upload: bf16 and fp16
// round to nearest even, bit for bit what the GPU's __float2bfloat16 / __float2half give for
// every finite value and infinity (a NaN stays a NaN; its payload may differ). fp16 uses the
// CPU's F16C conversion where it has one (runtime check): the portable loop is branchy and
// does not vectorise, and the cast is on the offloaded step's critical path.
#pragma once

#include <cstdint>

#include "zerotune/base/dtype.hpp"

namespace zerotune::train {

// dst[n] (dtype) = src[n] rounded. fp64 widens exactly; fp32 copies.
void host_cast_from_float(void* dst, const float* src, int64_t n, DType dtype);

}  // namespace zerotune::train
