// Every CUDA runtime call goes through ZT_CUDA_CHECK: on failure a LibraryError naming the
// call, the file and line, and CUDA's own error string. (.cu files are C++17, so the error is
// raised by cuda_error.cpp rather than through base/error.hpp's C++20 helpers.)
#pragma once

#include <cuda_runtime.h>

namespace zerotune::cuda {

[[noreturn]] void throw_cuda_error(const char* error_name, const char* error_string,
                                   const char* call, const char* file, int line);

inline void cuda_check(cudaError_t status, const char* call, const char* file, int line) {
  if (status != cudaSuccess) {
    throw_cuda_error(cudaGetErrorName(status), cudaGetErrorString(status), call, file, line);
  }
}

}  // namespace zerotune::cuda

#define ZT_CUDA_CHECK(call) ::zerotune::cuda::cuda_check((call), #call, __FILE__, __LINE__)
