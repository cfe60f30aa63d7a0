// Deterministic column sums (nvcc only), shared by bias_grad.cu and layernorm.cu.
//   out[c] += sum_{r < N} v(r, c)       for c < C, v computed per element by the caller
// Phase 1 (the caller's kernel): the N rows are cut into P fixed chunks of R = ceil(N/P)
// rows; block (tile, p) with 32 x 8 threads sums its chunk for 32 columns: thread (cx, ry)
// takes rows ry, ry+8, ... of the chunk, then the 8 row lanes are added in ascending order
// and scratch[p][c] is written. Phase 2 (finish_column_sums): out[c] += sum_p scratch[p][c]
// in ascending p. P and R depend on N only, so the sum order, and the result, are fixed
// for a given shape: no float atomics.
#pragma once

#include <cstdint>

namespace zerotune::cuda {

constexpr int kColumnTile = 32;     // columns per block: one warp row reads 32 consecutive
constexpr int kColumnRowLanes = 8;  // rows summed in parallel within a block
constexpr int kMaxColumnPartials = 256;
constexpr int64_t kMinRowsPerPartial = 32;

// P, the number of row chunks: enough blocks to fill the GPU for N = B*T rows, but chunks of
// at least 32 rows so that phase 2 stays small.
inline int64_t column_partials(int64_t N) {
  int64_t p = (N + kMinRowsPerPartial - 1) / kMinRowsPerPartial;
  if (p < 1) p = 1;
  return p < kMaxColumnPartials ? p : kMaxColumnPartials;
}
inline int64_t column_rows_per_partial(int64_t N) {
  const int64_t p = column_partials(N);
  return (N + p - 1) / p;
}

// Adds the 8 row-lane sums of one block in a fixed order; call with all 256 threads.
// shared must hold kColumnTile * kColumnRowLanes floats. Returns the column total in threads
// with threadIdx.y == 0.
__device__ __forceinline__ float block_column_total(float* shared, float v) {
  shared[threadIdx.y * kColumnTile + threadIdx.x] = v;
  __syncthreads();
  float total = 0.f;
  if (threadIdx.y == 0) {
    for (int k = 0; k < kColumnRowLanes; ++k) total += shared[k * kColumnTile + threadIdx.x];
  }
  __syncthreads();
  return total;
}

// Phase 2: out[c] += sum_{p < P} scratch[p * C + c]; one thread per column.
// static: each .cu that includes this header gets its own copy of the kernel.
static __global__ void finish_column_sums_kernel(float* out, const float* scratch, int64_t P,
                                                 int64_t C) {
  const int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (c >= C) return;
  float acc = 0.f;
  for (int64_t p = 0; p < P; ++p) acc += scratch[p * C + c];
  out[c] += acc;
}

}  // namespace zerotune::cuda
