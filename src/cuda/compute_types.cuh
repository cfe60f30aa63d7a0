// Device-side helpers shared by the matmul and attention kernels: the CUDA element type of
// each compute dtype, and conversions through fp32 (where all arithmetic happens).
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <library_types.h>

#include "cublas_check.cuh"
#include "zerotune/base/dtype.hpp"

namespace zerotune::cuda {

// CUDA_R_32F / CUDA_R_16BF / CUDA_R_16F for the compute dtypes the GPU backend supports;
// throws LibraryError for any other dtype (fp64 has no GPU path).
inline cudaDataType_t cuda_data_type(DType dt) {
  switch (dt) {
    case DType::kFloat32:
      return CUDA_R_32F;
    case DType::kBFloat16:
      return CUDA_R_16BF;
    case DType::kFloat16:
      return CUDA_R_16F;
    default:
      throw_cuda_library_error("zerotune", "unsupported compute dtype", dtype_name(dt),
                               "cuda_data_type", __FILE__, __LINE__);
  }
}

__device__ __forceinline__ float to_float(float v) { return v; }
__device__ __forceinline__ float to_float(__nv_bfloat16 v) { return __bfloat162float(v); }
__device__ __forceinline__ float to_float(__half v) { return __half2float(v); }

template <typename T>
__device__ __forceinline__ T from_float(float v);
template <>
__device__ __forceinline__ float from_float<float>(float v) {
  return v;
}
template <>
__device__ __forceinline__ __nv_bfloat16 from_float<__nv_bfloat16>(float v) {
  return __float2bfloat16_rn(v);
}
template <>
__device__ __forceinline__ __half from_float<__half>(float v) {
  return __float2half_rn(v);
}

// Calls f(T{}) with T the element type of dt (float, __nv_bfloat16 or __half), so a launcher
// instantiates its kernel once per compute dtype.
template <typename F>
void dispatch_compute_type(DType dt, F&& f) {
  switch (dt) {
    case DType::kBFloat16:
      f(__nv_bfloat16{});
      return;
    case DType::kFloat16:
      f(__half{});
      return;
    default:
      cuda_data_type(dt);  // throws for anything but fp32
      f(float{});
  }
}

}  // namespace zerotune::cuda
