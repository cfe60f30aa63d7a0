// Bias gradient: db[c] += sum_{r < N} dy[r, c], dy[N, OC] compute dtype, db[OC] fp32.
// Two launches (column_reduce.cuh): partial sums over fixed row chunks into scratch
// [P, OC], grid (ceil(OC/32), P) x 32x8 threads so that each warp reads 32 consecutive
// columns of one row; then one thread per column adds the P partials in order. Deterministic
// by construction; no atomics.
#include "bias_grad.cuh"
#include "column_reduce.cuh"
#include "cuda_check.cuh"
#include "dtype_dispatch.cuh"

namespace zerotune::cuda {

namespace {

template <typename T>
__global__ void bias_grad_partials_kernel(float* scratch, const T* dy, int64_t N, int64_t OC,
                                          int64_t rows_per_partial) {
  __shared__ float shared[kColumnTile * kColumnRowLanes];
  const int64_t c = static_cast<int64_t>(blockIdx.x) * kColumnTile + threadIdx.x;
  const int64_t p = blockIdx.y;
  const int64_t row_begin = p * rows_per_partial;
  const int64_t row_end = min(N, row_begin + rows_per_partial);
  float acc = 0.f;
  if (c < OC) {
    for (int64_t r = row_begin + threadIdx.y; r < row_end; r += kColumnRowLanes) {
      acc += to_float(dy[r * OC + c]);
    }
  }
  const float total = block_column_total(shared, acc);
  if (threadIdx.y == 0 && c < OC) scratch[p * OC + c] = total;
}

}  // namespace

size_t bias_grad_scratch_floats(int64_t N, int64_t OC) {
  return static_cast<size_t>(column_partials(N) * OC);
}

void bias_grad(DType dt, float* db, const void* dy, float* scratch, int64_t N, int64_t OC,
               cudaStream_t stream) {
  if (N <= 0 || OC <= 0) return;
  const int64_t P = column_partials(N);
  dispatch_dtype(dt, "bias_grad", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const dim3 grid(static_cast<unsigned>((OC + kColumnTile - 1) / kColumnTile),
                    static_cast<unsigned>(P));
    const dim3 block(kColumnTile, kColumnRowLanes);
    bias_grad_partials_kernel<T><<<grid, block, 0, stream>>>(scratch, static_cast<const T*>(dy), N,
                                                             OC, column_rows_per_partial(N));
    ZT_CUDA_CHECK(cudaGetLastError());
  });
  finish_column_sums_kernel<<<static_cast<unsigned>((OC + 255) / 256), 256, 0, stream>>>(
      db, scratch, P, OC);
  ZT_CUDA_CHECK(cudaGetLastError());
}

}  // namespace zerotune::cuda
