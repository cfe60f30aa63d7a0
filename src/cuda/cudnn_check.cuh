// Every cuDNN call goes through ZT_CUDNN_CHECK and every cudnn-frontend call through
// ZT_CUDNN_FE_CHECK: on failure a LibraryError naming the call, the file and line, and the
// library's own error string. Only translation units built with cudnn-frontend include this.
#pragma once

#include <cudnn.h>
#include <cudnn_frontend.h>

#include <string>

#include "cublas_check.cuh"  // throw_cuda_library_error

namespace zerotune::cuda {

inline void cudnn_check(cudnnStatus_t status, const char* call, const char* file, int line) {
  if (status != CUDNN_STATUS_SUCCESS) {
    // cudnnGetErrorString gives the status's name (e.g. CUDNN_STATUS_BAD_PARAM).
    const std::string code = "cudnnStatus_t " + std::to_string(int(status));
    throw_cuda_library_error("cuDNN", cudnnGetErrorString(status), code.c_str(), call, file, line);
  }
}

inline void cudnn_frontend_check(cudnn_frontend::error_t status, const char* call, const char* file,
                                 int line) {
  if (status.is_bad()) {
    const std::string code = "error_code_t " + std::to_string(int(status.get_code()));
    throw_cuda_library_error("cudnn-frontend", code.c_str(), status.get_message().c_str(), call,
                             file, line);
  }
}

}  // namespace zerotune::cuda

#define ZT_CUDNN_CHECK(call) ::zerotune::cuda::cudnn_check((call), #call, __FILE__, __LINE__)
#define ZT_CUDNN_FE_CHECK(call) \
  ::zerotune::cuda::cudnn_frontend_check((call), #call, __FILE__, __LINE__)
