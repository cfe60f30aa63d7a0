// Where buffers live. The engine allocates every parameter, gradient and optimizer buffer
// through a Device, so the CUDA device (a stream-ordered pool and one compute stream) slots in
// beside the CPU one and the memory monitor sees what zerotune holds.
// Header is C++17 so CUDA translation units include it too.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

#include "zerotune/base/error.hpp"

namespace zerotune::runtime {

// The device could not hold a buffer. The message is one line: the bytes asked for, what is
// free on the device and in its pool, the buffer's purpose and the settings that lower memory.
class OutOfDeviceMemory : public LibraryError {
 public:
  using LibraryError::LibraryError;
};

class Device {
 public:
  virtual ~Device() = default;
  virtual const char* name() const = 0;
  virtual bool is_host() const = 0;
  // `bytes` of device memory; `purpose` names the buffer in the OutOfDeviceMemory message
  // ("unit 3 parameters", "activations"). Throws OutOfDeviceMemory (or std::bad_alloc on the
  // host) when the device cannot hold it.
  virtual void* allocate(size_t bytes, const char* purpose = "buffer") = 0;
  virtual void deallocate(void* ptr, size_t bytes) = 0;
  // On a GPU these are queued on the compute stream: fill_zero and device-to-device copies
  // return at once; a copy that touches host memory returns when the host may use it.
  virtual void fill_zero(void* ptr, size_t bytes) = 0;
  virtual void copy(void* dst, const void* src, size_t bytes) = 0;
  // The compute stream (a cudaStream_t) for kernels and the NCCL transport; nullptr on the host.
  virtual void* native_stream() { return nullptr; }
  // Returns when all work queued on the compute stream is done (the host: at once).
  virtual void synchronize() {}

  // Offload's host side (DESIGN.md "Offload tiers"). Host memory that this device copies
  // to and from: page-locked (cudaHostAlloc) on a GPU when `pinned`, so copies run
  // asynchronously at full bus speed; plain memory otherwise. Aligned to kHostAlignment
  // (O_DIRECT file I/O reads into it). Throws std::bad_alloc (or the CUDA error) on failure.
  static constexpr size_t kHostAlignment = 4096;
  virtual void* allocate_host(size_t bytes, bool /*pinned*/) {
    void* p = std::aligned_alloc(kHostAlignment,
                                 (bytes + kHostAlignment - 1) / kHostAlignment * kHostAlignment);
    if (!p) throw std::bad_alloc();
    return p;
  }
  virtual void deallocate_host(void* ptr, size_t /*bytes*/, bool /*pinned*/) { std::free(ptr); }
  // Copies `bytes` between host and device memory on the copy stream and returns at once on a
  // GPU with a ticket for wait_copy; the host device copies before returning (ticket 0).
  // `after_compute`: the copy waits for all work queued on the compute stream so far (a
  // gradient the backward produced); false when nothing queued there touches dst or src (the
  // offloaded step's parameter uploads), so the copy overlaps the compute.
  virtual uint64_t copy_async(void* dst, const void* src, size_t bytes, bool after_compute = true) {
    (void)after_compute;
    std::memcpy(dst, src, bytes);
    return 0;
  }
  // Returns when the copy with this ticket, and every copy issued before it, is done.
  virtual void wait_copy(uint64_t /*ticket*/) {}
  // Work queued on the compute stream from now on runs after every copy issued so far
  // (parameters copied up by the offloaded step, before they are gathered or used).
  virtual void compute_waits_for_copies() {}
  // The same for the copy with this ticket and those issued before it only.
  virtual void compute_waits_for_copy(uint64_t /*ticket*/) {}
};

// Page-locked (or plain) host memory from Device::allocate_host, freed with it. Moves only.
template <typename T>
class HostBuffer {
 public:
  HostBuffer() = default;
  HostBuffer(Device& device, int64_t count, bool pinned)
      : device_(&device), count_(count), pinned_(pinned) {
    data_ = count > 0 ? static_cast<T*>(device.allocate_host(bytes(), pinned)) : nullptr;
  }
  ~HostBuffer() { reset(); }
  HostBuffer(HostBuffer&& o) noexcept { *this = std::move(o); }
  HostBuffer& operator=(HostBuffer&& o) noexcept {
    if (this != &o) {
      reset();
      std::swap(device_, o.device_);
      std::swap(data_, o.data_);
      std::swap(count_, o.count_);
      std::swap(pinned_, o.pinned_);
    }
    return *this;
  }
  HostBuffer(const HostBuffer&) = delete;
  HostBuffer& operator=(const HostBuffer&) = delete;

  T* data() { return data_; }
  const T* data() const { return data_; }
  int64_t size() const { return count_; }
  size_t bytes() const { return static_cast<size_t>(count_) * sizeof(T); }
  void reset() {
    if (data_) device_->deallocate_host(data_, bytes(), pinned_);
    data_ = nullptr;
    count_ = 0;
  }

 private:
  Device* device_ = nullptr;
  T* data_ = nullptr;
  int64_t count_ = 0;
  bool pinned_ = false;
};

Device& cpu_device();

// An owning, typed, device-resident array. Moves, never copies.
template <typename T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  // `purpose` names the buffer if the device runs out of memory (nullptr: "buffer").
  DeviceBuffer(Device& device, int64_t count, const char* purpose = nullptr)
      : device_(&device), count_(count) {
    data_ = count > 0 ? static_cast<T*>(device.allocate(bytes(), purpose ? purpose : "buffer"))
                      : nullptr;
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
