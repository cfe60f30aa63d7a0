// A fixed set of worker threads for the offloaded optimizer step: the host AdamW splits a
// unit's range into one contiguous chunk per thread. Sized from the cores the scheduler gave
// this task (cpu_threads_for_offload), so ranks sharing a node do not oversubscribe it.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace zerotune::train {

// SLURM_CPUS_PER_TASK when set, else OMP_NUM_THREADS, else hardware cores / ranks on this
// node; at least 1.
int cpu_threads_for_offload(int ranks_on_node);

class HostThreadPool {
 public:
  explicit HostThreadPool(int threads);
  ~HostThreadPool();
  HostThreadPool(const HostThreadPool&) = delete;
  HostThreadPool& operator=(const HostThreadPool&) = delete;

  int threads() const { return static_cast<int>(workers_.size()) + 1; }
  // Calls body(begin, end) over [0, n) split into threads() contiguous chunks (the caller
  // runs one) and returns when all are done. Chunks start at multiples of 16 elements, so
  // each stays on its own cache lines. The first exception a chunk throws is rethrown here.
  void parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& body);

 private:
  void worker_loop(int index);

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable work_ready_;
  std::condition_variable work_done_;
  const std::function<void(int64_t, int64_t)>* body_ = nullptr;
  int64_t n_ = 0;
  uint64_t generation_ = 0;
  int pending_ = 0;
  bool stopping_ = false;
  std::exception_ptr error_;
};

}  // namespace zerotune::train
