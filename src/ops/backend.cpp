#include "zerotune/ops/backend.hpp"

#include <stdexcept>
#include <string>
#include <vector>

#include "zerotune/base/error.hpp"
#include "zerotune/ops/attention.hpp"

namespace zerotune::ops {

void Backend::attention_forward_cached(void* out, void* kv, const void* qkv, int64_t B,
                                       int64_t past, int64_t Tq, int64_t maxT, int64_t C,
                                       int64_t NH) {
  if (compute_dtype() != DType::kFloat32) {
    throw std::logic_error(std::string(name()) +
                           " backend: decoding with a KV cache needs fp32 compute here");
  }
  runtime::Device& dev = device();
  const auto f = sizeof(float);
  // Only what the CPU op reads comes over (the cached positions, the new qkv) and only what
  // it writes goes back (the new positions' k and v, the output).
  std::vector<float> kv_host(static_cast<size_t>(B * 2 * maxT * C));
  std::vector<float> qkv_host(static_cast<size_t>(B * Tq * 3 * C));
  std::vector<float> out_host(static_cast<size_t>(B * Tq * C));
  auto* kv_dev = static_cast<float*>(kv);
  dev.copy(qkv_host.data(), qkv, qkv_host.size() * f);
  for (int64_t slice = 0; slice < 2 * B && past > 0; ++slice) {  // [b][k or v]
    dev.copy(kv_host.data() + slice * maxT * C, kv_dev + slice * maxT * C, past * C * f);
  }
  ops::attention_forward_cached(out_host.data(), kv_host.data(), qkv_host.data(), B, past, Tq, maxT,
                                C, NH);
  for (int64_t slice = 0; slice < 2 * B; ++slice) {
    const int64_t at = slice * maxT * C + past * C;
    dev.copy(kv_dev + at, kv_host.data() + at, Tq * C * f);
  }
  dev.copy(out, out_host.data(), out_host.size() * f);
}

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
