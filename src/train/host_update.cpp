#include "zerotune/train/host_update.hpp"

#include <algorithm>
#include <cstddef>

#include "zerotune/train/host_cast.hpp"

namespace zerotune::train {

void host_update_range(const OptimizerSettings& settings, float* master, const float* grad,
                       float* state0, float* state1, void* compute_copy, int64_t n,
                       const HostUpdateArgs& args) {
  // 2048 floats: 8 KiB per stream, the block's four or five streams stay in L1/L2.
  constexpr int64_t kBlock = 2048;
  auto* out = static_cast<std::byte*>(compute_copy);
  const int64_t out_bytes = static_cast<int64_t>(dtype_bytes(args.compute_dtype));
  for (int64_t b = 0; b < n; b += kBlock) {
    const int64_t m = std::min(kBlock, n - b);
    optimizer_update(settings, master + b, grad + b, state0 ? state0 + b : nullptr,
                     state1 ? state1 + b : nullptr, m, args.lr, args.grad_scale, args.decay,
                     args.step);
    host_cast_from_float(out + b * out_bytes, master + b, m, args.compute_dtype);
  }
}

}  // namespace zerotune::train
