// The NCCL transport's watchdog (DESIGN.md "Failure"): a thread that notices a dead or hung
// peer, which would otherwise leave every other rank waiting inside NCCL for ever.
#pragma once

#include <cuda_runtime.h>
#include <nccl.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace zerotune::comm {

// An owned cudaEvent_t without timing (the cheap kind), shared by a collective's Request and
// the watchdog: whichever lets go last destroys it.
class CudaEvent {
 public:
  CudaEvent();
  ~CudaEvent();
  CudaEvent(const CudaEvent&) = delete;
  CudaEvent& operator=(const CudaEvent&) = delete;
  cudaEvent_t get() const { return event_; }

 private:
  cudaEvent_t event_ = nullptr;
};

class NcclWatchdog {
 public:
  // Polls `comm` every interval (a tenth of the timeout, at most 100 ms) from its own thread,
  // with GPU `ordinal` current there.
  NcclWatchdog(ncclComm_t comm, int ordinal, int rank, std::chrono::seconds timeout);
  ~NcclWatchdog();  // stops the thread; outstanding collectives are no longer watched
  NcclWatchdog(const NcclWatchdog&) = delete;
  NcclWatchdog& operator=(const NcclWatchdog&) = delete;

  // Watches a collective whose completion event `done` has been recorded. `operation` names
  // it in the failure line ("all_reduce of 1048576 bf16").
  void track(std::string operation, std::shared_ptr<CudaEvent> done);

 private:
  struct Outstanding {
    std::string operation;
    std::shared_ptr<CudaEvent> done;
    std::chrono::steady_clock::time_point issued;
  };

  void run();
  void check();  // returns only while all is well
  // Aborts the communicator, reports `what` on one line and ends the process with exit 4.
  [[noreturn]] void fail(const std::string& what);

  ncclComm_t comm_;
  int ordinal_;
  int rank_;
  std::chrono::seconds timeout_;
  std::chrono::milliseconds interval_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::deque<Outstanding> outstanding_;  // in issue order: the front is the oldest
  std::thread thread_;
};

}  // namespace zerotune::comm
