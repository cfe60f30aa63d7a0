#include "zerotune/train/host_thread_pool.hpp"

#include <algorithm>
#include <cstdlib>
#include <exception>

namespace zerotune::train {

namespace {

int positive_env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::max(0, std::atoi(v)) : 0;
}

// Chunk `index` of `parts` over [0, n), boundaries rounded to 16 elements.
std::pair<int64_t, int64_t> chunk(int64_t n, int parts, int index) {
  auto edge = [&](int i) { return std::min(n, (n * i / parts + 15) / 16 * 16); };
  return {edge(index), index + 1 == parts ? n : edge(index + 1)};
}

}  // namespace

int cpu_threads_for_offload(int ranks_on_node) {
  for (const char* var : {"SLURM_CPUS_PER_TASK", "OMP_NUM_THREADS"}) {
    if (const int n = positive_env(var)) return n;
  }
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return std::max(1, cores / std::max(1, ranks_on_node));
}

HostThreadPool::HostThreadPool(int threads) {
  for (int i = 1; i < std::max(1, threads); ++i) {
    workers_.emplace_back([this, i] { worker_loop(i); });
  }
}

HostThreadPool::~HostThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  work_ready_.notify_all();
  for (auto& t : workers_) t.join();
}

void HostThreadPool::parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& body) {
  if (workers_.empty() || n < 4096) {  // small ranges: waking threads costs more than it saves
    if (n > 0) body(0, n);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    body_ = &body;
    n_ = n;
    pending_ = static_cast<int>(workers_.size());
    error_ = nullptr;
    ++generation_;
  }
  work_ready_.notify_all();
  std::exception_ptr mine;
  try {
    const auto [b, e] = chunk(n, threads(), 0);
    if (b < e) body(b, e);
  } catch (...) {
    mine = std::current_exception();
  }
  std::unique_lock<std::mutex> lock(mutex_);
  work_done_.wait(lock, [&] { return pending_ == 0; });
  body_ = nullptr;
  if (mine) std::rethrow_exception(mine);
  if (error_) std::rethrow_exception(error_);
}

void HostThreadPool::worker_loop(int index) {
  uint64_t seen = 0;
  for (;;) {
    const std::function<void(int64_t, int64_t)>* body = nullptr;
    int64_t n = 0;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      work_ready_.wait(lock, [&] { return stopping_ || generation_ != seen; });
      if (stopping_) return;
      seen = generation_;
      body = body_;
      n = n_;
    }
    std::exception_ptr error;
    try {
      const auto [b, e] = chunk(n, threads(), index);
      if (b < e) (*body)(b, e);
    } catch (...) {
      error = std::current_exception();
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (error && !error_) error_ = error;
      if (--pending_ == 0) work_done_.notify_all();
    }
  }
}

}  // namespace zerotune::train
