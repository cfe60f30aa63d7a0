// runtime::Device over the CUDA runtime. Copies and fills are synchronous on the default
// stream for now: the engine's host-side loops read what they write. Streams come with the
// GPU kernels and the NCCL transport.
#include "cuda_check.cuh"
#include "zerotune/runtime/cuda_device.hpp"

namespace zerotune::runtime {

namespace {

class CudaDevice : public Device {
 public:
  explicit CudaDevice(int ordinal) : ordinal_(ordinal) {
    ZT_CUDA_CHECK(cudaSetDevice(ordinal_));
    cudaDeviceProp prop{};
    ZT_CUDA_CHECK(cudaGetDeviceProperties(&prop, ordinal_));
    name_ = std::string("cuda:") + std::to_string(ordinal_) + " " + prop.name;
  }
  const char* name() const override { return name_.c_str(); }
  bool is_host() const override { return false; }
  void* allocate(size_t bytes) override {
    void* p = nullptr;
    ZT_CUDA_CHECK(cudaMalloc(&p, bytes));
    tracked_allocated_bytes() += static_cast<int64_t>(bytes);
    return p;
  }
  void deallocate(void* ptr, size_t bytes) override {
    // Called from destructors: a failure here is reported by the next checked call.
    cudaFree(ptr);
    tracked_allocated_bytes() -= static_cast<int64_t>(bytes);
  }
  void fill_zero(void* ptr, size_t bytes) override {
    ZT_CUDA_CHECK(cudaMemset(ptr, 0, bytes));
  }
  void copy(void* dst, const void* src, size_t bytes) override {
    ZT_CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyDefault));
  }

 private:
  int ordinal_;
  std::string name_;
};

class CudaMemoryProbe : public MemoryProbe {
 public:
  explicit CudaMemoryProbe(int ordinal) : ordinal_(ordinal) {}
  MemorySample sample() override {
    // The monitor samples from its own thread: select the GPU there too.
    ZT_CUDA_CHECK(cudaSetDevice(ordinal_));
    size_t free_bytes = 0, total_bytes = 0;
    ZT_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
    MemorySample s;
    s.device_used_bytes = static_cast<int64_t>(total_bytes - free_bytes);
    s.device_total_bytes = static_cast<int64_t>(total_bytes);
    s.allocated_bytes = tracked_allocated_bytes().load(std::memory_order_relaxed);
    s.reserved_bytes = s.allocated_bytes;
    return s;
  }
  const char* device_name() const override { return "cuda"; }

 private:
  int ordinal_;
};

}  // namespace

int cuda_device_count() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no driver" error for later calls
    return 0;
  }
  return count;
}

std::unique_ptr<Device> make_cuda_device(int ordinal) {
  return std::make_unique<CudaDevice>(ordinal);
}

std::unique_ptr<MemoryProbe> make_cuda_memory_probe(int ordinal) {
  return std::make_unique<CudaMemoryProbe>(ordinal);
}

}  // namespace zerotune::runtime
