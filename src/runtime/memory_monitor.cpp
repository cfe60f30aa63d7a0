#include "zerotune/runtime/memory_monitor.hpp"

#include <unistd.h>

#include <cstdio>

#include "zerotune/base/error.hpp"

namespace zerotune::runtime {

std::atomic<int64_t>& tracked_allocated_bytes() {
  static std::atomic<int64_t> bytes{0};
  return bytes;
}

namespace {

class CpuMemoryProbe : public MemoryProbe {
 public:
  MemorySample sample() override {
    MemorySample s;
    // /proc/self/statm: size resident shared text lib data dt (in pages)
    long size_pages = 0, resident_pages = 0;
    if (FILE* f = std::fopen("/proc/self/statm", "r")) {
      if (std::fscanf(f, "%ld %ld", &size_pages, &resident_pages) != 2) resident_pages = 0;
      std::fclose(f);
    }
    s.device_used_bytes = static_cast<int64_t>(resident_pages) * ::sysconf(_SC_PAGESIZE);
    s.allocated_bytes = tracked_allocated_bytes().load(std::memory_order_relaxed);
    s.reserved_bytes = s.device_used_bytes;
    return s;
  }
  const char* device_name() const override { return "cpu"; }
};

}  // namespace

std::unique_ptr<MemoryProbe> make_cpu_memory_probe() { return std::make_unique<CpuMemoryProbe>(); }

MemoryMonitor::MemoryMonitor(std::unique_ptr<MemoryProbe> probe, std::filesystem::path csv_path,
                             int64_t interval_ms)
    : probe_(std::move(probe)),
      csv_(csv_path, std::ios::app),
      interval_(interval_ms),
      start_(std::chrono::steady_clock::now()) {
  if (!csv_) throw_library_error("posix", "open(" + csv_path.string() + ")", "cannot append");
  if (csv_.tellp() == 0)
    csv_ << "time_s,step,device_used_bytes,allocated_bytes,reserved_bytes,"
            "peak_allocated_bytes,peak_reserved_bytes\n";
  sample_now();
  thread_ = std::thread([this] { run(); });
}

MemoryMonitor::~MemoryMonitor() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  sample_now();
}

MemorySample MemoryMonitor::sample_now() {
  MemorySample s = probe_->sample();
  record(s);
  return s;
}

void MemoryMonitor::record(const MemorySample& s) {
  auto raise = [](std::atomic<int64_t>& peak, int64_t v) {
    int64_t cur = peak.load();
    while (v > cur && !peak.compare_exchange_weak(cur, v)) {
    }
  };
  raise(peak_used_, s.device_used_bytes);
  raise(peak_allocated_, s.allocated_bytes);
  const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  std::lock_guard<std::mutex> lock(mutex_);
  char line[224];
  std::snprintf(line, sizeof(line), "%.3f,%lld,%lld,%lld,%lld,%lld,%lld\n", t,
                static_cast<long long>(step_.load()), static_cast<long long>(s.device_used_bytes),
                static_cast<long long>(s.allocated_bytes), static_cast<long long>(s.reserved_bytes),
                static_cast<long long>(s.peak_allocated_bytes),
                static_cast<long long>(s.peak_reserved_bytes));
  csv_ << line;
  csv_.flush();
}

void MemoryMonitor::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    if (wake_.wait_for(lock, interval_, [this] { return stopping_; })) break;
    lock.unlock();
    record(probe_->sample());
    lock.lock();
  }
}

}  // namespace zerotune::runtime
