// Elementwise conversions, over n elements:
//   cast_from_float: dst[i] = round_nearest_even_dt(src[i])
//   cast_to_float:   dst[i] = float(src[i])          (exact)
//   add_into_float:  dst[i] = dst[i] + src[i]        (fp32)
// Grid: 256 threads, each handles packs of 4 consecutive elements in a grid-stride loop
// (4 x fp32 is one 128-bit access; the 2-byte side is 64-bit); the grid is capped at a few
// waves. Packs are used only when every pointer is aligned for them; the tail after the
// last full pack goes element by element.
#include "cast.cuh"
#include "cuda_check.cuh"
#include "dtype_dispatch.cuh"

namespace zerotune::cuda {

namespace {

constexpr int kThreads = 256;
constexpr int kElems = 4;

template <typename D, typename S, bool kAdd>
__global__ void convert_kernel(D* dst, const S* src, int64_t n, bool packed) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x * kElems;
  for (int64_t i = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) * kElems; i < n;
       i += stride) {
    if (packed && i + kElems <= n) {
      float v[kElems];
      load_pack<kElems>(v, src + i);
      if (kAdd) {
        float d[kElems];
        load_pack<kElems>(d, dst + i);
#pragma unroll
        for (int k = 0; k < kElems; ++k) v[k] = d[k] + v[k];
      }
      store_pack<kElems>(dst + i, v);
    } else {
      for (int64_t j = i; j < n && j < i + kElems; ++j) {
        const float s = to_float(src[j]);
        dst[j] = from_float<D>(kAdd ? to_float(dst[j]) + s : s);
      }
    }
  }
}

template <typename D, typename S, bool kAdd>
void launch_convert(D* dst, const S* src, int64_t n, cudaStream_t stream) {
  if (n <= 0) return;
  const bool packed = is_aligned(dst, sizeof(D) * kElems) && is_aligned(src, sizeof(S) * kElems);
  convert_kernel<D, S, kAdd>
      <<<grid_for((n + kElems - 1) / kElems, kThreads), kThreads, 0, stream>>>(dst, src, n, packed);
  ZT_CUDA_CHECK(cudaGetLastError());
}

}  // namespace

void cast_from_float(DType dt, void* dst, const float* src, int64_t n, cudaStream_t stream) {
  dispatch_dtype(dt, "cast_from_float", [&](auto tag) {
    using T = typename decltype(tag)::type;
    launch_convert<T, float, false>(static_cast<T*>(dst), src, n, stream);
  });
}

void cast_to_float(DType dt, float* dst, const void* src, int64_t n, cudaStream_t stream) {
  dispatch_dtype(dt, "cast_to_float", [&](auto tag) {
    using T = typename decltype(tag)::type;
    launch_convert<float, T, false>(dst, static_cast<const T*>(src), n, stream);
  });
}

void add_into_float(float* dst, const float* src, int64_t n, cudaStream_t stream) {
  launch_convert<float, float, true>(dst, src, n, stream);
}

}  // namespace zerotune::cuda
