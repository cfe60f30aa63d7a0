// The gradient collectives of every ZeRO stage, in the dtype zero.reduce_dtype names.
//
// fp32 (the default) reduces the fp32 gradient buffers directly. The compute dtype (bf16 or
// fp16, GPU runs) moves half the bytes: the unit's fp32 gradient is rounded into a temporary
// compute-dtype buffer, the collective sums in that dtype (NCCL accumulates bf16 sums in bf16,
// so the sum of W ranks carries bf16 rounding, as DeepSpeed's communication_data_type does),
// and completing the request widens the result back into the fp32 destination. The temporary
// buffers come from the device's stream-ordered pool and are returned when the request
// completes, so at most the units in flight hold one.
//
// With overlap_comm false every request is waited for as it is issued: the collective no
// longer runs beside compute (for measuring what overlap saves).
#pragma once

#include <cstdint>

#include "zerotune/base/dtype.hpp"
#include "zerotune/comm/communicator.hpp"
#include "zerotune/ops/backend.hpp"

namespace zerotune::train {

class GradientCollectives {
 public:
  // reduce_dtype: kFloat32 or the backend's compute dtype.
  GradientCollectives(comm::Communicator& comm, ops::Backend& backend, DType reduce_dtype,
                      bool overlap_comm);

  // Sum over ranks of grad[0, n), in place (stage 0).
  comm::RequestPtr all_reduce(float* grad, int64_t n);
  // Sum over ranks of unit[0, shard_numel x world); this rank's block of shard_numel
  // elements (rank-major) lands in shard. unit is not modified.
  comm::RequestPtr reduce_scatter(const float* unit, float* shard, int64_t shard_numel);

  // Waits at once when overlap_comm is false; the request either way.
  comm::RequestPtr issued(comm::RequestPtr request) const;

  bool overlap_comm() const { return overlap_comm_; }

 private:
  comm::Communicator& comm_;
  ops::Backend& backend_;
  DType reduce_dtype_;
  bool overlap_comm_;
};

}  // namespace zerotune::train
