// Background memory monitor: a thread samples a MemoryProbe every interval_ms and appends
// "time_s,step,device_used_bytes,allocated_bytes,reserved_bytes,peak_allocated_bytes,
// peak_reserved_bytes" rows to memory/rank-N.csv. The CPU probe reads the resident set size;
// the GPU probe (NVML used memory, the stream-ordered pool's counters) implements the same
// interface.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <thread>

namespace zerotune::runtime {

struct MemorySample {
  int64_t device_used_bytes = 0;     // what the device reports in use (CPU: resident set size)
  int64_t allocated_bytes = 0;       // bytes in live zerotune buffers
  int64_t reserved_bytes = 0;        // bytes held by the allocator (CPU: RSS, as nothing is cached)
  int64_t peak_allocated_bytes = 0;  // allocator high-water mark of allocated_bytes (CPU: 0)
  int64_t peak_reserved_bytes = 0;   // allocator high-water mark of reserved_bytes (CPU: 0)
  int64_t device_total_bytes = 0;    // the device's memory (GPU: cudaMemGetInfo total; CPU: 0)
};

class MemoryProbe {
 public:
  virtual ~MemoryProbe() = default;
  virtual MemorySample sample() = 0;
  virtual const char* device_name() const = 0;
  // Restarts the allocator's high-water marks at the current values (no-op where none).
  virtual void reset_peak() {}
};

// Live bytes of zerotune's own buffers (train::DeviceBuffer counts into it).
std::atomic<int64_t>& tracked_allocated_bytes();

std::unique_ptr<MemoryProbe> make_cpu_memory_probe();

class MemoryMonitor {
 public:
  MemoryMonitor(std::unique_ptr<MemoryProbe> probe, std::filesystem::path csv_path,
                int64_t interval_ms);
  ~MemoryMonitor();  // stops the thread, takes a last sample
  MemoryMonitor(const MemoryMonitor&) = delete;
  MemoryMonitor& operator=(const MemoryMonitor&) = delete;

  void set_step(int64_t step) { step_.store(step, std::memory_order_relaxed); }
  MemorySample sample_now();  // also updates the peaks
  int64_t peak_device_used_bytes() const { return peak_used_.load(); }
  int64_t peak_allocated_bytes() const { return peak_allocated_.load(); }

 private:
  void run();
  void record(const MemorySample& s);

  std::unique_ptr<MemoryProbe> probe_;
  std::ofstream csv_;
  std::chrono::milliseconds interval_;
  std::chrono::steady_clock::time_point start_;
  std::atomic<int64_t> step_{0};
  std::atomic<int64_t> peak_used_{0};
  std::atomic<int64_t> peak_allocated_{0};
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace zerotune::runtime
