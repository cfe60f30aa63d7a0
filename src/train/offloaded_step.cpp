// The optimizer step with the state off the device (ZeRO-Offload / ZeRO-Infinity). Per unit,
// pipelined so the copies, the host update and the NVMe I/O of neighbouring units overlap:
//
//   copy stream   D2H grad u+1 | ...            | H2D params u-1 ...
//   host threads               | AdamW on unit u (masters, m, v), cast to the compute dtype
//   nvme          read u+1, write u-1 (the store's slots)
//
// The gradient shards were reduced (and their norm taken) on the device before the step; the
// update is ops' AdamW/SGD, elementwise, split into per-thread chunks, so the result equals
// the on-device CPU update bit for bit in fp32. An fp16 overflow step never gets here (the
// trainer skips it).
#include <algorithm>

#include "zerotune/train/host_cast.hpp"
#include "zerotune/train/zero_engine.hpp"

namespace zerotune::train {

void ZeroEngine::offloaded_step(const ops::UpdateRule& rule) {
  const int units = static_cast<int>(shards_.size());
  uint64_t gradient_copy[2] = {0, 0};
  uint64_t parameter_copy[2] = {0, 0};
  auto start_download = [&](int u) {
    const int64_t n = optimizer_range(u).owned();
    gradient_copy[u % 2] = device_.copy_async(gradient_staging_[u % 2].data(), reduced_gradients(u),
                                              n * sizeof(float));
    store_->prefetch(u);
  };
  if (units > 0) start_download(0);
  for (int u = 0; u < units; ++u) {
    // The slot of u+1 was last used by u-1, whose update is done.
    if (u + 1 < units) start_download(u + 1);
    const std::vector<ops::UpdateSegment> segments = update_segments(u);
    device_.wait_copy(gradient_copy[u % 2]);
    const UnitState state = store_->acquire(u);
    const float* grad = gradient_staging_[u % 2].data();
    for (const ops::UpdateSegment& seg : segments) {
      host_pool_->parallel_for(seg.count, [&](int64_t b, int64_t e) {
        const int64_t at = seg.begin + b;
        optimizer_update(optimizer_, state.master + at, grad + at,
                         state.state[0] ? state.state[0] + at : nullptr,
                         state.state[1] ? state.state[1] + at : nullptr, e - b, rule.lr,
                         rule.grad_scale, seg.weight_decay, rule.step);
      });
    }
    // The parameter slot's previous upload (unit u-2) must be done before it is rewritten.
    device_.wait_copy(parameter_copy[u % 2]);
    std::byte* staged = parameter_staging_[u % 2].data();
    host_pool_->parallel_for(state.count, [&](int64_t b, int64_t e) {
      host_cast_from_float(staged + compute_bytes(b), state.master + b, e - b, compute_dtype());
    });
    parameter_copy[u % 2] =
        device_.copy_async(compute_parameters(u), staged, compute_bytes(state.count));
    store_->release(u, true);
  }
  // The staging slots are free for the next step, and whatever the compute stream runs next
  // (the all-gather of stages 1 and 2, stage 3's gathers) sees the new parameters.
  device_.wait_copy(std::max(parameter_copy[0], parameter_copy[1]));
  device_.compute_waits_for_copies();
}

}  // namespace zerotune::train
