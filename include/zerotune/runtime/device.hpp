// Where buffers live. The engine allocates every parameter, gradient and optimizer buffer
// through a Device, so the CUDA device (cudaMalloc, streams) slots in beside the CPU one and
// the memory monitor sees what zerotune holds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

namespace zerotune::runtime {

class Device {
 public:
  virtual ~Device() = default;
  virtual const char* name() const = 0;
  virtual bool is_host() const = 0;
  virtual void* allocate(size_t bytes) = 0;
  virtual void deallocate(void* ptr, size_t bytes) = 0;
  virtual void fill_zero(void* ptr, size_t bytes) = 0;
  virtual void copy(void* dst, const void* src, size_t bytes) = 0;
};

Device& cpu_device();

// An owning, typed, device-resident array. Moves, never copies.
template <typename T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  // `purpose` names the buffer in an out-of-memory error ("activations: qkv").
  DeviceBuffer(Device& device, int64_t count, const char* purpose = nullptr)
      : device_(&device), count_(count) {
    (void)purpose;
    data_ = count > 0 ? static_cast<T*>(device.allocate(bytes())) : nullptr;
    if (data_) device.fill_zero(data_, bytes());
  }
  ~DeviceBuffer() { reset(); }
  DeviceBuffer(DeviceBuffer&& o) noexcept { *this = std::move(o); }
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    if (this != &o) {
      reset();
      std::swap(device_, o.device_);
      std::swap(data_, o.data_);
      std::swap(count_, o.count_);
    }
    return *this;
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  T* data() { return data_; }
  const T* data() const { return data_; }
  int64_t size() const { return count_; }
  size_t bytes() const { return static_cast<size_t>(count_) * sizeof(T); }
  void zero() {
    if (data_) device_->fill_zero(data_, bytes());
  }
  void reset() {
    if (data_) device_->deallocate(data_, bytes());
    data_ = nullptr;
    count_ = 0;
  }

 private:
  Device* device_ = nullptr;
  T* data_ = nullptr;
  int64_t count_ = 0;
};

}  // namespace zerotune::runtime
