#include "zerotune/ops/backend.hpp"

#include <string>

#include "zerotune/base/error.hpp"

namespace zerotune::ops {

std::unique_ptr<Backend> make_backend(runtime::Device& device, DType dtype) {
  if (device.is_host()) {
    if (dtype != DType::kFloat32) {
      throw InputError(
          std::string("train.precision: ") + dtype_name(dtype) +
          " needs a CUDA device; CPU runs compute in fp32 (set train.precision: fp32)");
    }
    return make_cpu_backend(dtype);
  }
#if defined(ZEROTUNE_WITH_CUDA)
  return make_cuda_backend(device, dtype);
#else
  throw InputError("run.device: this build of zerotune has no CUDA support");
#endif
}

}  // namespace zerotune::ops
