// Device-side helpers shared by the matmul and attention kernels: the CUDA element type of
// each compute dtype (conversions through fp32 come from dtype_dispatch.cuh).
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <library_types.h>

#include "cublas_check.cuh"
#include "dtype_dispatch.cuh"  // to_float / from_float
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
