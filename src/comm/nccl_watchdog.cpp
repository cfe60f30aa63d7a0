// See nccl_watchdog.hpp. A collective is done when its completion event is; it has failed
// when NCCL reports an asynchronous error (a peer's connection broke, a remote abort) or
// when it is still not done after the timeout (a peer died without a word or hangs).
#if defined(ZEROTUNE_WITH_CUDA) && defined(ZEROTUNE_WITH_NCCL)

#include "nccl_watchdog.hpp"

#include <cstdio>
#include <cstdlib>

#include "../cuda/cuda_check.cuh"
#include "zerotune/base/error.hpp"
#include "zerotune/runtime/logging.hpp"

namespace zerotune::comm {

CudaEvent::CudaEvent() { ZT_CUDA_CHECK(cudaEventCreateWithFlags(&event_, cudaEventDisableTiming)); }

CudaEvent::~CudaEvent() {
  // Destroying an event that a stream still waits on is allowed: CUDA releases it later.
  cudaEventDestroy(event_);
}

NcclWatchdog::NcclWatchdog(ncclComm_t comm, int ordinal, int rank, std::chrono::seconds timeout)
    : comm_(comm),
      ordinal_(ordinal),
      rank_(rank),
      timeout_(timeout),
      interval_(std::min<std::chrono::milliseconds>(
          std::chrono::milliseconds(100),
          std::max<std::chrono::milliseconds>(std::chrono::milliseconds(1), timeout / 10))) {
  thread_ = std::thread([this] { run(); });
}

NcclWatchdog::~NcclWatchdog() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void NcclWatchdog::track(std::string operation, std::shared_ptr<CudaEvent> done) {
  std::lock_guard<std::mutex> lock(mutex_);
  outstanding_.push_back({std::move(operation), std::move(done), std::chrono::steady_clock::now()});
}

void NcclWatchdog::run() {
  // Events and the communicator belong to this GPU; a failure here cannot be thrown anywhere.
  if (cudaSetDevice(ordinal_) != cudaSuccess) {
    fail("the watchdog cannot select GPU " + std::to_string(ordinal_));
  }
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    if (wake_.wait_for(lock, interval_, [this] { return stopping_; })) break;
    lock.unlock();
    check();
    lock.lock();
  }
}

void NcclWatchdog::check() {
  ncclResult_t async_error = ncclSuccess;
  const ncclResult_t queried = ncclCommGetAsyncError(comm_, &async_error);
  std::unique_lock<std::mutex> lock(mutex_);
  const std::string oldest =
      outstanding_.empty() ? std::string("no collective") : outstanding_.front().operation;
  if (queried != ncclSuccess) {
    lock.unlock();
    fail(std::string("ncclCommGetAsyncError failed (") + ncclGetErrorString(queried) + ") while " +
         oldest + " was outstanding");
  }
  if (async_error != ncclSuccess && async_error != ncclInProgress) {
    lock.unlock();
    fail(std::string("NCCL reported ") + ncclGetErrorString(async_error) + " (" +
         ncclGetLastError(comm_) + ") while " + oldest + " was outstanding");
  }
  const auto now = std::chrono::steady_clock::now();
  while (!outstanding_.empty()) {
    Outstanding& front = outstanding_.front();
    const cudaError_t state = cudaEventQuery(front.done->get());
    if (state == cudaSuccess) {
      outstanding_.pop_front();
      continue;
    }
    if (state != cudaErrorNotReady) {
      const std::string operation = front.operation;
      lock.unlock();
      fail(operation + " failed on the GPU: " + cudaGetErrorName(state) + ": " +
           cudaGetErrorString(state));
    }
    // Collectives finish in issue order on the communication stream, so only the oldest
    // unfinished one can be the first to run out of time.
    if (now - front.issued > timeout_) {
      const std::string operation = front.operation;
      lock.unlock();
      fail(operation + " did not complete within " + std::to_string(timeout_.count()) +
           " s: a peer rank died or stopped answering");
    }
    break;
  }
}

void NcclWatchdog::fail(const std::string& what) {
  const std::string line = "NCCL watchdog on rank " + std::to_string(rank_) + ": " + what +
                           "; exiting with code " + std::to_string(kExitPeerFailure);
  // Report first: ncclCommAbort may take a while to tear down the connections.
  runtime::log().error("{}", line);
  runtime::log().flush();
  std::fprintf(stderr, "%s\n", line.c_str());
  std::fflush(stderr);
  // The main thread may be blocked in a CUDA call that never returns: no unwinding can reach
  // it, so the process ends here without running destructors. Ending the process tears the
  // communicator down (the driver destroys the context and its kernels, the OS closes the
  // connections); ncclCommAbort from this thread could free the communicator while the main
  // thread is inside an NCCL call on it (it polls ncclCommGetAsyncError as collectives
  // settle), and crash with SIGABRT instead of the exit code that names the failure.
  std::_Exit(kExitPeerFailure);
}

}  // namespace zerotune::comm

#endif  // ZEROTUNE_WITH_CUDA && ZEROTUNE_WITH_NCCL
