// The host side of an offloaded optimizer step on one run of a unit's range with equal weight
// decay: the update of the fp32 masters and optimizer states (optimizer_update: AdamW or SGD,
// bit for bit the update of the device tier's CPU backend), then the new masters rounded to
// the compute dtype into the upload buffer. Done block by block so the rounding reads masters
// still in cache: one pass over memory instead of two, and the step is bound by memory
// bandwidth (AdamW reads 16 and writes 12 + 2 bytes per parameter in bf16/fp16).
#pragma once

#include <cstdint>

#include "zerotune/base/dtype.hpp"
#include "zerotune/train/optimizer.hpp"

namespace zerotune::train {

struct HostUpdateArgs {
  double lr = 0;
  double grad_scale = 1;  // the clip coefficient (and loss-scale inverse)
  bool decay = false;     // this run's tensors take weight decay
  int64_t step = 1;       // 1-based (AdamW bias correction)
  DType compute_dtype = DType::kFloat32;
};

// n elements: master[n], grad[n] (fp32), state0[n] (and state1[n] for AdamW), and
// compute_copy: n values of args.compute_dtype, written.
void host_update_range(const OptimizerSettings& settings, float* master, const float* grad,
                       float* state0, float* state1, void* compute_copy, int64_t n,
                       const HostUpdateArgs& args);

}  // namespace zerotune::train
