// NVML through dlopen/dlsym. The few declarations we need are restated from nvml.h (stable
// ABI since the _v2 entry points): nvmlReturn_t is an int, NVML_SUCCESS is 0, nvmlDevice_t an
// opaque pointer, nvmlMemory_t { total, free, used } in bytes.
#include "zerotune/runtime/nvml_memory.hpp"

#include <dlfcn.h>

#include <type_traits>

namespace zerotune::runtime {

namespace {
using nvmlReturn_t = int;
constexpr nvmlReturn_t kNvmlSuccess = 0;
using nvmlDevice_t = void*;
struct nvmlMemory_t {
  unsigned long long total;
  unsigned long long free;
  unsigned long long used;
};
}  // namespace

struct NvmlMemory::Api {
  nvmlReturn_t (*init)() = nullptr;
  nvmlReturn_t (*shutdown)() = nullptr;
  nvmlReturn_t (*handle_by_pci_bus_id)(const char*, nvmlDevice_t*) = nullptr;
  nvmlReturn_t (*memory_info)(nvmlDevice_t, nvmlMemory_t*) = nullptr;
  bool initialised = false;
};

NvmlMemory::NvmlMemory(const std::string& pci_bus_id) {
  library_ = ::dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!library_) return;
  api_ = new Api;
  auto load = [this](auto& fn, const char* symbol) {
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(::dlsym(library_, symbol));
    return fn != nullptr;
  };
  if (!load(api_->init, "nvmlInit_v2") || !load(api_->shutdown, "nvmlShutdown") ||
      !load(api_->handle_by_pci_bus_id, "nvmlDeviceGetHandleByPciBusId_v2") ||
      !load(api_->memory_info, "nvmlDeviceGetMemoryInfo")) {
    return;
  }
  if (api_->init() != kNvmlSuccess) return;
  api_->initialised = true;
  nvmlDevice_t device = nullptr;
  if (api_->handle_by_pci_bus_id(pci_bus_id.c_str(), &device) == kNvmlSuccess) device_ = device;
}

NvmlMemory::~NvmlMemory() {
  if (api_ && api_->initialised) api_->shutdown();  // NVML counts init/shutdown pairs
  delete api_;
  if (library_) ::dlclose(library_);
}

std::optional<int64_t> NvmlMemory::used_bytes() const {
  if (!device_) return std::nullopt;
  nvmlMemory_t info{};
  if (api_->memory_info(device_, &info) != kNvmlSuccess) return std::nullopt;
  return static_cast<int64_t>(info.used);
}

}  // namespace zerotune::runtime
