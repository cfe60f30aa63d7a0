// Global gradient norm pieces and the overflow check, deterministic. Host-includable.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace zerotune::cuda {

constexpr int kNormPartials = 256;  // fixed grid => fixed summation order

// partials[0..kNormPartials) = per-block sums of x[i]^2 over a fixed grid-stride split of
// [0, n) (fp32 in and accumulated; the split depends on n only). OVERWRITTEN.
void sum_squares_partials(float* partials, const float* x, int64_t n, cudaStream_t stream);

// *out = sum of partials[0..count) in double, in a fixed order (one block).
void sum_partials(double* out, const float* partials, int64_t count, cudaStream_t stream);

// *out = number of i < n with x[i] not finite (inf or NaN). OVERWRITTEN. Deterministic.
void count_nonfinite(int32_t* out, const float* x, int64_t n, cudaStream_t stream);

}  // namespace zerotune::cuda
