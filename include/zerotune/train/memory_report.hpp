// The per-rank memory table logged at start: bytes of parameters, gradients and optimizer
// state each rank holds, beside what ZeRO's paper predicts for the stage with N ranks and
// Ψ parameters (bytes per parameter):
//   mixed precision (fp16/bf16 params and grads, fp32 master + Adam m, v: K = 12)
//     DP 2+2+12 = 16   Z1 2+2+12/N   Z2 2+(2+12)/N   Z3 (2+2+12)/N
//   fp32 everywhere (params, grads, m, v: 4 bytes each, no separate master)
//     DP 4+4+8 = 16    Z1 4+4+8/N    Z2 4+(4+8)/N    Z3 (4+4+8)/N
#pragma once

#include <cstdint>
#include <string>

#include "zerotune/comm/communicator.hpp"
#include "zerotune/train/zero_engine.hpp"

namespace zerotune::train {

// Bytes per parameter ZeRO predicts for `stage` over `world` ranks.
// Model-state bytes per parameter per rank of ZeRO `stage` over `world` ranks, with p bytes of
// parameters, g of gradients and k of optimizer state per parameter (ZeRO paper, table 1):
//   stage 0: p + g + k; 1: p + g + k/N; 2: p + (g + k)/N; 3: (p + g + k)/N
double zero_bytes_per_param(int64_t stage, int world, double p, double g, double k);

double theory_bytes_per_param(int stage, int world, bool mixed_precision);

// Gathers every rank's MemoryAccount and logs the table on rank 0 (collective).
void log_memory_table(const ZeroEngine& engine, comm::Communicator& comm,
                      const std::string& precision);

}  // namespace zerotune::train
