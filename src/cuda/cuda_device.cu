// runtime::Device over the CUDA runtime, on one compute stream and CUDA's stream-ordered
// allocator (no cudaMalloc/cudaFree: those synchronize the whole device). Every operation is
// queued on the compute stream, so a buffer allocated, zeroed, filled by a kernel and freed
// is correctly ordered without host waits; only copies to or from host memory synchronize,
// because the host reads or reuses that memory right after.
#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <string>

#include "cuda_check.cuh"
#include "zerotune/runtime/cuda_device.hpp"
#include "zerotune/runtime/nvml_memory.hpp"

namespace zerotune::runtime {

namespace {

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

cudaMemPool_t default_pool(int ordinal) {
  cudaMemPool_t pool = nullptr;
  ZT_CUDA_CHECK(cudaDeviceGetDefaultMemPool(&pool, ordinal));
  return pool;
}

uint64_t pool_attribute(cudaMemPool_t pool, cudaMemPoolAttr attr) {
  uint64_t value = 0;  // the four usage attributes are cuuint64_t
  ZT_CUDA_CHECK(cudaMemPoolGetAttribute(pool, attr, &value));
  return value;
}

std::string gib(double bytes) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.2f GiB", bytes / kGiB);
  return text;
}

class CudaDevice : public Device {
 public:
  explicit CudaDevice(int ordinal) : ordinal_(ordinal) {
    ZT_CUDA_CHECK(cudaSetDevice(ordinal_));
    cudaDeviceProp prop{};
    ZT_CUDA_CHECK(cudaGetDeviceProperties(&prop, ordinal_));
    name_ = std::string("cuda:") + std::to_string(ordinal_) + " " + prop.name;
    total_bytes_ = prop.totalGlobalMem;
    pool_ = default_pool(ordinal_);
    // Keep freed memory in the pool: the next step asks for the same sizes again, and
    // returning memory to the driver at every synchronization would make each step pay
    // for fresh mappings.
    uint64_t threshold = UINT64_MAX;
    ZT_CUDA_CHECK(cudaMemPoolSetAttribute(pool_, cudaMemPoolAttrReleaseThreshold, &threshold));
    ZT_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  }
  ~CudaDevice() override {
    // Destructors report nothing: queued frees finish before the stream goes.
    cudaStreamSynchronize(stream_);
    if (copy_stream_) {
      cudaStreamSynchronize(copy_stream_);
      for (cudaEvent_t e : copy_events_) cudaEventDestroy(e);
      cudaEventDestroy(compute_done_);
      cudaStreamDestroy(copy_stream_);
    }
    cudaStreamDestroy(stream_);
  }
  CudaDevice(const CudaDevice&) = delete;
  CudaDevice& operator=(const CudaDevice&) = delete;

  const char* name() const override { return name_.c_str(); }
  bool is_host() const override { return false; }

  void* allocate(size_t bytes, const char* purpose = "buffer") override {
    void* p = nullptr;
    const cudaError_t status = cudaMallocAsync(&p, bytes, pool_, stream_);
    if (status != cudaSuccess) {
      // Out of memory is not sticky, but it stays as the thread's last error: clear it so
      // the next check (a kernel launch's cudaGetLastError) does not report it again.
      cudaGetLastError();
      // A request beyond the card's size may come back as an invalid value rather than as
      // out of memory; both mean the same to the user.
      if (status == cudaErrorMemoryAllocation || bytes > total_bytes_) {
        throw_out_of_memory(bytes, purpose);
      }
      ZT_CUDA_CHECK(status);
    }
    tracked_allocated_bytes() += static_cast<int64_t>(bytes);
    return p;
  }
  void deallocate(void* ptr, size_t bytes) override {
    // Called from destructors: a failure here is reported by the next checked call.
    cudaFreeAsync(ptr, stream_);
    tracked_allocated_bytes() -= static_cast<int64_t>(bytes);
  }
  void fill_zero(void* ptr, size_t bytes) override {
    ZT_CUDA_CHECK(cudaMemsetAsync(ptr, 0, bytes, stream_));
  }
  void copy(void* dst, const void* src, size_t bytes) override {
    ZT_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDefault, stream_));
    if (is_device_memory(dst) && is_device_memory(src)) return;
    ZT_CUDA_CHECK(cudaStreamSynchronize(stream_));
  }
  void* native_stream() override { return stream_; }
  void synchronize() override { ZT_CUDA_CHECK(cudaStreamSynchronize(stream_)); }

  void* allocate_host(size_t bytes, bool pinned) override {
    if (!pinned) return Device::allocate_host(bytes, false);
    void* p = nullptr;
    // cudaHostAlloc returns page-aligned memory (O_DIRECT needs 4096-byte alignment).
    ZT_CUDA_CHECK(cudaHostAlloc(&p, bytes, cudaHostAllocDefault));
    return p;
  }
  void deallocate_host(void* ptr, size_t bytes, bool pinned) override {
    if (!pinned) return Device::deallocate_host(ptr, bytes, false);
    cudaFreeHost(ptr);  // called from destructors: a failure shows at the next checked call
  }
  // The copy stream waits for the compute stream's work so far, copies, and records the
  // ticket's event. Events live in a ring; a slot is reused only after its copy finished
  // (in-order stream), so an old ticket is always complete.
  uint64_t copy_async(void* dst, const void* src, size_t bytes, bool after_compute) override {
    ensure_copy_stream();
    if (after_compute) {
      ZT_CUDA_CHECK(cudaEventRecord(compute_done_, stream_));
      ZT_CUDA_CHECK(cudaStreamWaitEvent(copy_stream_, compute_done_, 0));
    }
    ZT_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDefault, copy_stream_));
    const uint64_t ticket = ++copies_issued_;
    cudaEvent_t& event = copy_events_[ticket % copy_events_.size()];
    if (ticket > copy_events_.size()) ZT_CUDA_CHECK(cudaEventSynchronize(event));
    ZT_CUDA_CHECK(cudaEventRecord(event, copy_stream_));
    return ticket;
  }
  void wait_copy(uint64_t ticket) override {
    if (ticket == 0 || ticket > copies_issued_ || copies_issued_ - ticket >= copy_events_.size()) {
      return;  // none issued, or its ring slot was reused after it completed
    }
    ZT_CUDA_CHECK(cudaEventSynchronize(copy_events_[ticket % copy_events_.size()]));
  }
  void compute_waits_for_copies() override { compute_waits_for_copy(copies_issued_); }
  void compute_waits_for_copy(uint64_t ticket) override {
    if (ticket == 0 || ticket > copies_issued_ || copies_issued_ - ticket >= copy_events_.size()) {
      return;  // none issued, or its ring slot was reused after it completed
    }
    ZT_CUDA_CHECK(cudaStreamWaitEvent(stream_, copy_events_[ticket % copy_events_.size()], 0));
  }

 private:
  static bool is_device_memory(const void* ptr) {
    cudaPointerAttributes attr{};
    ZT_CUDA_CHECK(cudaPointerGetAttributes(&attr, ptr));
    return attr.type == cudaMemoryTypeDevice;
  }

  [[noreturn]] void throw_out_of_memory(size_t bytes, const char* purpose) {
    size_t free_bytes = 0, total_bytes = 0;
    ZT_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
    const uint64_t reserved = pool_attribute(pool_, cudaMemPoolAttrReservedMemCurrent);
    const uint64_t used = pool_attribute(pool_, cudaMemPoolAttrUsedMemCurrent);
    throw OutOfDeviceMemory("CUDA: out of memory on " + name_ + ": cudaMallocAsync of " +
                            gib(double(bytes)) + " for " + (purpose ? purpose : "buffer") +
                            " failed; free on the card " + gib(double(free_bytes)) + " of " +
                            gib(double(total_bytes)) + ", pool holds " + gib(double(reserved)) +
                            " of which " + gib(double(reserved - used)) +
                            " unused; try a higher zero.stage, a smaller train.micro_batch_size or "
                            "train.activation_checkpointing: true");
  }

  // The copy stream and its events exist from the first offloaded copy on.
  void ensure_copy_stream() {
    if (copy_stream_) return;
    ZT_CUDA_CHECK(cudaStreamCreateWithFlags(&copy_stream_, cudaStreamNonBlocking));
    ZT_CUDA_CHECK(cudaEventCreateWithFlags(&compute_done_, cudaEventDisableTiming));
    for (cudaEvent_t& e : copy_events_) {
      ZT_CUDA_CHECK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
    }
  }

  int ordinal_;
  std::string name_;
  size_t total_bytes_ = 0;
  cudaMemPool_t pool_ = nullptr;
  cudaStream_t stream_ = nullptr;
  cudaStream_t copy_stream_ = nullptr;  // host <-> device copies of the offloaded step
  cudaEvent_t compute_done_ = nullptr;
  std::array<cudaEvent_t, 64> copy_events_{};
  uint64_t copies_issued_ = 0;
};

std::string pci_bus_id(int ordinal) {
  char id[32] = {};
  ZT_CUDA_CHECK(cudaDeviceGetPCIBusId(id, sizeof(id), ordinal));
  return id;
}

class CudaMemoryProbe : public MemoryProbe {
 public:
  explicit CudaMemoryProbe(int ordinal)
      : ordinal_(ordinal), pool_(default_pool(ordinal)), nvml_(pci_bus_id(ordinal)) {}
  MemorySample sample() override {
    MemorySample s;
    // The monitor samples from its own thread: select the GPU there too.
    ZT_CUDA_CHECK(cudaSetDevice(ordinal_));
    size_t free_bytes = 0, total_bytes = 0;
    ZT_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
    s.device_total_bytes = static_cast<int64_t>(total_bytes);
    if (auto used = nvml_.used_bytes()) {
      s.device_used_bytes = *used;
    } else {
      s.device_used_bytes = static_cast<int64_t>(total_bytes - free_bytes);
    }
    s.allocated_bytes = static_cast<int64_t>(pool_attribute(pool_, cudaMemPoolAttrUsedMemCurrent));
    s.reserved_bytes =
        static_cast<int64_t>(pool_attribute(pool_, cudaMemPoolAttrReservedMemCurrent));
    // After reset_peak() CUDA reports 0 until the next allocation: the peak is at least now.
    s.peak_allocated_bytes = std::max(
        s.allocated_bytes, static_cast<int64_t>(pool_attribute(pool_, cudaMemPoolAttrUsedMemHigh)));
    s.peak_reserved_bytes =
        std::max(s.reserved_bytes,
                 static_cast<int64_t>(pool_attribute(pool_, cudaMemPoolAttrReservedMemHigh)));
    return s;
  }
  const char* device_name() const override { return "cuda"; }
  void reset_peak() override {
    uint64_t zero = 0;  // the only value CUDA accepts
    ZT_CUDA_CHECK(cudaMemPoolSetAttribute(pool_, cudaMemPoolAttrUsedMemHigh, &zero));
    ZT_CUDA_CHECK(cudaMemPoolSetAttribute(pool_, cudaMemPoolAttrReservedMemHigh, &zero));
  }

 private:
  int ordinal_;
  cudaMemPool_t pool_;
  NvmlMemory nvml_;
};

// 13000 -> "13.0" (CUDA encodes versions as 1000 * major + 10 * minor).
std::string cuda_version_string(int version) {
  return std::to_string(version / 1000) + "." + std::to_string((version % 1000) / 10);
}

}  // namespace

int cuda_device_count() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no driver" error for later calls
    return 0;
  }
  return count;
}

int select_cuda_device(int local_rank) {
  const int count = cuda_device_count();
  if (count == 0) {
    throw LibraryError(
        "CUDA: no GPU visible to this process (check CUDA_VISIBLE_DEVICES and the job's "
        "--gpus request)");
  }
  return local_rank % count;
}

std::string describe_cuda_device(int ordinal) {
  cudaDeviceProp prop{};
  ZT_CUDA_CHECK(cudaGetDeviceProperties(&prop, ordinal));
  int driver = 0, runtime = 0;
  ZT_CUDA_CHECK(cudaDriverGetVersion(&driver));
  ZT_CUDA_CHECK(cudaRuntimeGetVersion(&runtime));
  std::string pci = pci_bus_id(ordinal);
  for (char& c : pci) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  char memory[32];
  std::snprintf(memory, sizeof(memory), "%.1fGiB", double(prop.totalGlobalMem) / kGiB);
  return std::string(prop.name) + " sm_" + std::to_string(prop.major) + std::to_string(prop.minor) +
         " memory=" + memory + " driver=" + cuda_version_string(driver) +
         " runtime=" + cuda_version_string(runtime) + " pci=" + pci;
}

std::unique_ptr<Device> make_cuda_device(int ordinal) {
  return std::make_unique<CudaDevice>(ordinal);
}

std::unique_ptr<MemoryProbe> make_cuda_memory_probe(int ordinal) {
  return std::make_unique<CudaMemoryProbe>(ordinal);
}

}  // namespace zerotune::runtime
