// The card-level used memory of one GPU, from NVML (every process's allocations plus the CUDA
// contexts: what nvidia-smi shows). libnvidia-ml.so.1 ships with the driver, not the toolkit,
// so it is loaded at run time: a build or a node without it still runs, and the GPU memory
// probe falls back to cudaMemGetInfo. No CUDA headers here, so host code can hold one.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace zerotune::runtime {

class NvmlMemory {
 public:
  // `pci_bus_id` as cudaDeviceGetPCIBusId writes it ("0000:1B:00.0"): CUDA ordinals and NVML
  // indices differ under CUDA_VISIBLE_DEVICES, the PCI bus id names the same card in both.
  // Never throws: without NVML or that card, available() is false.
  explicit NvmlMemory(const std::string& pci_bus_id);
  ~NvmlMemory();
  NvmlMemory(const NvmlMemory&) = delete;
  NvmlMemory& operator=(const NvmlMemory&) = delete;

  bool available() const { return device_ != nullptr; }
  // nvmlDeviceGetMemoryInfo's `used` in bytes; nullopt when NVML is unavailable or fails.
  std::optional<int64_t> used_bytes() const;

 private:
  struct Api;
  void* library_ = nullptr;  // dlopen handle
  Api* api_ = nullptr;
  void* device_ = nullptr;  // nvmlDevice_t
};

}  // namespace zerotune::runtime
