// Every NCCL call goes through ZT_NCCL_CHECK: on failure a LibraryError naming the call, the
// file and line, and NCCL's own error string. ncclInProgress is not a failure: a communicator
// in non-blocking mode returns it while NCCL finishes the call in the background, and the
// caller waits for it with ncclCommGetAsyncError.
#pragma once

#include <nccl.h>

#include <filesystem>
#include <string>

#include "zerotune/base/error.hpp"

namespace zerotune::comm {

inline ncclResult_t nccl_check(ncclResult_t result, const char* call, const char* file, int line) {
  if (result != ncclSuccess && result != ncclInProgress) {
    throw LibraryError(std::string("NCCL: ") + call + " failed at " +
                       std::filesystem::path(file).filename().string() + ":" +
                       std::to_string(line) + ": " + ncclGetErrorString(result));
  }
  return result;
}

}  // namespace zerotune::comm

#define ZT_NCCL_CHECK(call) ::zerotune::comm::nccl_check((call), #call, __FILE__, __LINE__)
