// Conversions between fp32 buffers and compute-dtype buffers, and fp32 accumulation.
// Host-includable: launchers only.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "zerotune/base/dtype.hpp"

namespace zerotune::cuda {

// dst[i] = src[i] rounded to nearest even in dt, for i < n. dst of dt (n elements).
void cast_from_float(DType dt, void* dst, const float* src, int64_t n, cudaStream_t stream);
// dst[i] = float(src[i]), src of dt.
void cast_to_float(DType dt, float* dst, const void* src, int64_t n, cudaStream_t stream);
// dst[i] += src[i], both fp32 (gradient accumulation across micro-batches).
void add_into_float(float* dst, const float* src, int64_t n, cudaStream_t stream);

}  // namespace zerotune::cuda
