// Every cuBLAS and cuBLASLt call goes through ZT_CUBLAS_CHECK: on failure a LibraryError
// naming the call, the file and line, and cuBLAS's own status name and string (both libraries
// return cublasStatus_t).
#pragma once

#include <cublas_api.h>

namespace zerotune::cuda {

// Defined in cuda_error.cpp (C++20): "<library>: <call> failed at <file>:<line>: <name>: <text>".
[[noreturn]] void throw_cuda_library_error(const char* library, const char* error_name,
                                           const char* error_string, const char* call,
                                           const char* file, int line);

inline void cublas_check(cublasStatus_t status, const char* call, const char* file, int line) {
  if (status != CUBLAS_STATUS_SUCCESS) {
    throw_cuda_library_error("cuBLAS", cublasGetStatusName(status), cublasGetStatusString(status),
                             call, file, line);
  }
}

}  // namespace zerotune::cuda

#define ZT_CUBLAS_CHECK(call) ::zerotune::cuda::cublas_check((call), #call, __FILE__, __LINE__)
