// Compute-dtype plumbing shared by the kernels (nvcc only): the device-side conversions
// to_float / from_float for float, __nv_bfloat16 and __half, a launcher-side dispatch from
// zerotune::DType to a template instantiation, and 128-bit packed loads and stores.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>
#include <stdexcept>
#include <string>

#include "zerotune/base/dtype.hpp"

namespace zerotune::cuda {

__device__ __forceinline__ float to_float(float x) { return x; }
__device__ __forceinline__ float to_float(__nv_bfloat16 x) { return __bfloat162float(x); }
__device__ __forceinline__ float to_float(__half x) { return __half2float(x); }

// Round to nearest even, as torch's .to(dtype).
template <typename T>
__device__ __forceinline__ T from_float(float x);
template <>
__device__ __forceinline__ float from_float<float>(float x) {
  return x;
}
template <>
__device__ __forceinline__ __nv_bfloat16 from_float<__nv_bfloat16>(float x) {
  return __float2bfloat16_rn(x);
}
template <>
__device__ __forceinline__ __half from_float<__half>(float x) {
  return __float2half_rn(x);
}

template <typename T>
struct TypeTag {
  using type = T;
};

// Calls f(TypeTag<T>{}) with T the element type of `dt`; `what` names the launcher in the
// error for a dtype the GPU does not compute in (fp64).
template <typename F>
decltype(auto) dispatch_dtype(DType dt, const char* what, F&& f) {
  switch (dt) {
    case DType::kFloat32:
      return f(TypeTag<float>{});
    case DType::kBFloat16:
      return f(TypeTag<__nv_bfloat16>{});
    case DType::kFloat16:
      return f(TypeTag<__half>{});
    case DType::kFloat64:
      break;
  }
  throw std::invalid_argument(std::string(what) + ": dtype " + dtype_name(dt) +
                              " is not supported on the GPU (fp32, bf16 or fp16)");
}

// N elements of T moved as one access: N = 16 / sizeof(T) makes a 128-bit load or store.
template <typename T, int N>
struct alignas(sizeof(T) * N) Pack {
  T v[N];
};

template <typename T>
constexpr int kPack128 = 16 / static_cast<int>(sizeof(T));

template <int N, typename T>
__device__ __forceinline__ void load_pack(float (&out)[N], const T* p) {
  const Pack<T, N> pk = *reinterpret_cast<const Pack<T, N>*>(p);
#pragma unroll
  for (int k = 0; k < N; ++k) out[k] = to_float(pk.v[k]);
}

template <int N, typename T>
__device__ __forceinline__ void store_pack(T* p, const float (&in)[N]) {
  Pack<T, N> pk;
#pragma unroll
  for (int k = 0; k < N; ++k) pk.v[k] = from_float<T>(in[k]);
  *reinterpret_cast<Pack<T, N>*>(p) = pk;
}

// True when p may be read as packs of `bytes` bytes.
inline bool is_aligned(const void* p, size_t bytes) {
  return reinterpret_cast<uintptr_t>(p) % bytes == 0;
}

// Blocks for a grid-stride loop over `work` items at `threads` per block, capped so that the
// grid stays a few waves on an H200 (132 SMs) rather than one block per item.
inline unsigned grid_for(int64_t work, int threads, int64_t max_blocks = 132 * 32) {
  int64_t blocks = (work + threads - 1) / threads;
  if (blocks < 1) blocks = 1;
  return static_cast<unsigned>(blocks < max_blocks ? blocks : max_blocks);
}

}  // namespace zerotune::cuda
