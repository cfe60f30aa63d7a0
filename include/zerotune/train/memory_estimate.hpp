// Memory per rank before a job starts: what the ZeRO engine and the model will allocate,
// computed from the shapes alone (nothing is allocated).
//
// Model states follow the engine's buffers exactly (src/train/zero_stage*.cpp,
// sharded_gradients, full_parameters, unit_buffer_pool): for a rank r of N, with each unit's
// shard_numel = round_up(ceil(numel / N), 128) and padded_numel = N * shard_numel
// (shard_layout.hpp), E the compute dtype's bytes, K the optimizer's state arrays (AdamW 2,
// SGD 1), owned(u) the elements rank r updates (all at stage 0, its shard otherwise):
//   optimizer  K * 4 * sum owned, plus fp32 masters 4 * sum owned when E < 4
//   stage 0    params E * sum numel,          grads 4 * sum numel
//   stage 1    params E * sum padded_numel,   grads 4 * sum (padded_numel + shard_numel)
//   stage 2    params E * sum padded_numel,   grads 4 * sum shard_numel,
//              scratch 4 * (P1 + 2 * P2) + 3 * 4 * max shard_numel   (3 gradient buffers:
//              one as large as the largest unit P1, two as the second largest P2, and their
//              reduce-scatter landing buffers)
//   stage 3    params E * sum shard_numel,    grads and scratch as stage 2, plus the 3
//              gather buffers E * (P1 + 2 * P2)
// Offload (zero.offload_optimizer cpu|nvme, stages 1-3; ZeroEngine::allocate_optimizer_state):
// no optimizer bytes on the device; in host memory the state store's (state_store_bytes: cpu
// 4 * (1 + K) * sum owned; nvme kNvmeStateSlots slots of the largest unit, its file
// sum nvme_unit_bytes) and the offloaded step's buffers, 4 * sum owned for the reduced
// gradients and E * sum owned for the updated compute copy (none with offload_param).
// zero.offload_param cpu (stage 3, host_shards.hpp): the shards E * sum shard_numel in host
// memory; the device keeps no shard and no persistent copy, 3 gather buffers over every unit
// (one rank too) and 3 staging buffers of E * max shard_numel.
// Activations follow src/model/gpt2_activations.cpp for micro-batches of B rows of T tokens
// (R = B*T rows, C = n_embd, V = vocab_size, L = n_layer, S = L, or 1 with activation
// checkpointing, A compute bytes, G accumulation bytes):
//   8R (ids, targets) + A*R*C*(6 + 4S + L) + A*R*4C*(2S + 1) + A*R*3C*(S + 1)
//   + G*R*(4S + 3) + A*R*ld (logits, ld = the backend's logits stride) + S*saved(B, T, H)
#pragma once

#include <cstdint>

#include "zerotune/base/dtype.hpp"
#include "zerotune/model/gpt2_layout.hpp"
#include "zerotune/train/optimizer.hpp"
#include "zerotune/train/zero_engine.hpp"

namespace zerotune::train {

// What ZeroEngine::memory_account() reports on `rank` of `world` for this stage, compute dtype
// and optimizer (the engine on any device; the CPU and GPU buffers are the same sizes), once
// set_micro_batches_per_step(micro_batches_per_step) was called, with these comm settings and
// this offload choice (offload.optimizer_tier, parameter_tier and optimizer_ratio; the rest is
// unused). Throws std::invalid_argument for a choice ZeroEngine::create refuses.
MemoryAccount estimate_model_states(const model::Gpt2Layout& layout, int stage, int world, int rank,
                                    DType compute_dtype, OptimizerKind optimizer,
                                    int64_t micro_batches_per_step = 1,
                                    const CommSettings& settings = {},
                                    const OffloadSettings& offload = {});

// How a backend sizes the activations (ops::Backend's compute_dtype, accum_dtype,
// logits_stride and attention_saved_bytes).
struct ActivationSizing {
  int64_t compute_bytes = 4;
  int64_t accum_bytes = 4;
  int64_t logits_alignment = 1;  // logits row stride = V rounded up to this
  // Bytes the attention keeps per layer for backward: B * H * T * T * attention_square_bytes
  // + B * H * T * attention_row_bytes.
  int64_t attention_square_bytes = 4;
  int64_t attention_row_bytes = 0;

  // The CPU backend in fp32: it keeps the attention probabilities [B, H, T, T].
  static ActivationSizing cpu_fp32();
  // The GPU in bf16/fp16 (compute_bytes 2) or fp32 with fused attention (cuDNN keeps the
  // log-sum-exp statistics [B, H, T] in fp32) and fp32 LayerNorm statistics.
  static ActivationSizing gpu(int64_t compute_bytes);
};

// Bytes of Gpt2Model's activation buffers for micro-batches of max_batch x max_tokens
// (Gpt2Model::activation_bytes() for the backend `sizing` describes).
int64_t estimate_activation_bytes(const model::Gpt2Shape& shape, int64_t max_batch,
                                  int64_t max_tokens, bool checkpointing,
                                  const ActivationSizing& sizing, bool separate_dlogits = false);

}  // namespace zerotune::train
