// Gradient of a bias added to every row. Host-includable: launchers only.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "zerotune/base/dtype.hpp"

namespace zerotune::cuda {

// Floats of scratch bias_grad needs for N rows of OC columns.
size_t bias_grad_scratch_floats(int64_t N, int64_t OC);
// db[OC] += sum_{r < N} dy[r, OC]    (dy of dt, db fp32 ACCUMULATED), deterministic: the sum
// order depends on N and OC only. scratch: bias_grad_scratch_floats(N, OC) floats.
void bias_grad(DType dt, float* db, const void* dy, float* scratch, int64_t N, int64_t OC,
               cudaStream_t stream);

}  // namespace zerotune::cuda
