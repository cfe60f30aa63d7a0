// The optimizer step with the state off the device (ZeRO-Offload / ZeRO-Infinity), overlapped
// with the GPU on both sides:
//
//   backward      unit L ... unit 1, unit 0 | norm |         forward unit 0, 1, ...
//   copy stream   D2H grad L ... D2H grad 0 |      | H2D 0, H2D 1, ...
//   host thread                             |      | update 0 | update 1 | ... | update L
//
// Each unit's reduced gradient shard leaves the device as soon as the backward has it final
// (gradient_reduced). The update cannot start before the backward ends: the clip coefficient
// needs the global norm and fp16's skip needs every gradient finite. optimizer_step then
// starts the host update of unit 0, 1, ... on a background thread (AdamW and the rounding to
// the compute dtype in one pass, host_update_range, split over the AdamW threads) and returns;
// the next forward waits at each unit only until that unit is updated, and every update that
// is done is queued for upload at the forward's next wait, without waiting for the compute
// stream (nothing queued there reads those values before the unit's own wait). So the host
// update runs under the next forward and the step costs backward + host update rather than
// forward + backward + copies + host update.
//
// The update is ops' AdamW/SGD elementwise over the same fp32 values in the same order, so it
// equals the device tier's CPU update bit for bit in fp32. Only the main thread queues device
// work; the background thread touches host memory, the state store and (offload_param: nvme)
// the parameter file, through a synchronous write.
#include <algorithm>
#include <chrono>

#include "zerotune/train/host_update.hpp"
#include "zerotune/train/zero_engine.hpp"

namespace zerotune::train {

void ZeroEngine::gradient_reduced(int unit) {
  if (!offloaded() || !last_micro_batch_ || gradient_copied_[unit] || unit < units_on_device_) {
    return;
  }
  finish_offloaded_step();  // the host update of the previous step is done with the buffer
  last_gradient_copy_ = device_.copy_async(host_gradients_[unit].data(), reduced_gradients(unit),
                                           optimizer_range(unit).owned() * sizeof(float));
  gradient_copied_[unit] = true;
}

// After optimizer_step settled the previous update.
void ZeroEngine::start_offloaded_step(const ops::UpdateRule& rule) {
  const int units = static_cast<int>(shards_.size());
  // A unit whose gradient no stage reported (stage 1 reduces them all at the end; a unit
  // with no gradient in this backward) is copied now.
  for (int u = 0; u < units; ++u) gradient_reduced(u);
  device_.wait_copy(last_gradient_copy_);  // downloads are in order: every one is done
  // Where each unit's new compute-dtype values go: the buffer the next forward copies up, or
  // with offloaded parameters the host shard itself (cpu) or the buffer to the file (nvme).
  std::vector<void*> compute_copies;
  for (int u = 0; u < units; ++u) {
    compute_copies.push_back(!parameters_offloaded_          ? host_parameters_[u].data()
                             : compute_parameters_on_host(u) ? compute_parameters(u)
                                                             : parameter_write_buffer_.data());
  }
  // A partial offload's first units were updated on the device: they count as settled.
  const int first = units_on_device_;
  uploads_issued_ = first;
  units_settled_ = first;
  const auto started = std::chrono::steady_clock::now();
  host_update_.start(units - first, [this, rule, compute_copies, started, units, first](int i) {
    const int u = first + i;
    update_unit_on_host(u, rule, compute_copies[u]);
    if (u + 1 == units) {
      update_seconds_ =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    }
  });
}

// On the background thread.
void ZeroEngine::update_unit_on_host(int unit, const ops::UpdateRule& rule, void* compute_copy) {
  if (unit == units_on_device_) store_->prefetch(unit);
  if (unit + 1 < static_cast<int>(shards_.size())) store_->prefetch(unit + 1);
  const UnitState state = store_->acquire(unit);
  const float* grad = host_gradients_[unit].data();
  auto* out = static_cast<std::byte*>(compute_copy);
  HostUpdateArgs args;
  args.lr = rule.lr;
  args.grad_scale = rule.grad_scale;
  args.step = rule.step;
  args.compute_dtype = compute_dtype();
  for (const ops::UpdateSegment& seg : update_segments(unit)) {
    HostUpdateArgs seg_args = args;
    seg_args.decay = seg.weight_decay;
    host_pool_->parallel_for(seg.count, [&](int64_t b, int64_t e) {
      const int64_t at = seg.begin + b;
      host_update_range(
          optimizer_, state.master + at, grad + at, state.state[0] ? state.state[0] + at : nullptr,
          state.state[1] ? state.state[1] + at : nullptr, out + compute_bytes(at), e - b, seg_args);
    });
  }
  store_->release(unit, true);
  // nvme parameters: the buffer goes to the file (an empty range writes nothing).
  if (parameters_offloaded_ && !compute_parameters_on_host(unit) && state.count > 0) {
    store_offloaded_shard(unit, compute_copy, compute_bytes(state.count));
  }
}

bool ZeroEngine::settle_updates(int unit, bool block) {
  const int units = static_cast<int>(shards_.size());
  if (units_settled_ >= units || !offloaded()) return true;
  unit = std::min(unit, units - 1);
  // Every finished update goes up now, in order, waiting only for those up to `unit`.
  const auto waiting = std::chrono::steady_clock::now();
  while (uploads_issued_ < units &&
         host_update_.done(uploads_issued_ - units_on_device_, block && uploads_issued_ <= unit)) {
    const int v = uploads_issued_++;
    if (!parameters_offloaded_) {
      parameter_upload_[v] =
          device_.copy_async(compute_parameters(v), host_parameters_[v].data(),
                             compute_bytes(optimizer_range(v).owned()), /*after_compute=*/false);
    }
  }
  offload_times_.wait_s +=
      std::chrono::duration<double>(std::chrono::steady_clock::now() - waiting).count();
  if (uploads_issued_ <= unit) return false;
  if (!block) {
    // The unit's values are on the device for the compute stream's next work. unit_updated
    // (stages 1-2's all-gather, stage 3's persistent copies) stays with the blocking form:
    // whether this form finds a unit done depends on timing, which differs between ranks.
    if (!parameters_offloaded_) device_.compute_waits_for_copy(parameter_upload_[unit]);
    return true;
  }
  // unit_updated may start collectives: only here, in unit order, as every rank does.
  while (units_settled_ <= unit) {
    const int v = units_settled_++;
    if (!parameters_offloaded_) device_.compute_waits_for_copy(parameter_upload_[v]);
    unit_updated(v);
  }
  if (units_settled_ == units) {
    host_update_.finish();
    offload_times_.update_s = update_seconds_;
  }
  return true;
}

void ZeroEngine::stop_host_update() noexcept {
  try {
    host_update_.finish();
  } catch (...) {
  }
}

}  // namespace zerotune::train
