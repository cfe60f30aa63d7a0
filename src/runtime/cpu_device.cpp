// The host as a Device: 64-byte aligned allocations, counted into the monitor's
// tracked_allocated_bytes().
#include <cstdlib>
#include <cstring>
#include <new>

#include "zerotune/runtime/device.hpp"
#include "zerotune/runtime/memory_monitor.hpp"

namespace zerotune::runtime {

namespace {

class CpuDevice : public Device {
 public:
  const char* name() const override { return "cpu"; }
  bool is_host() const override { return true; }
  void* allocate(size_t bytes, const char* /*purpose*/ = "buffer") override {
    constexpr size_t kAlign = 64;
    void* p = std::aligned_alloc(kAlign, (bytes + kAlign - 1) / kAlign * kAlign);
    if (!p) throw std::bad_alloc();
    tracked_allocated_bytes() += static_cast<int64_t>(bytes);
    return p;
  }
  void deallocate(void* ptr, size_t bytes) override {
    std::free(ptr);
    tracked_allocated_bytes() -= static_cast<int64_t>(bytes);
  }
  void fill_zero(void* ptr, size_t bytes) override { std::memset(ptr, 0, bytes); }
  void copy(void* dst, const void* src, size_t bytes) override { std::memcpy(dst, src, bytes); }
};

}  // namespace

Device& cpu_device() {
  static CpuDevice device;
  return device;
}

}  // namespace zerotune::runtime
