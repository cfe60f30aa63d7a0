// The buffers one GPT-2 model keeps between forward() and backward(), allocated once on the
// backend's device for micro-batches of up to max_batch x max_tokens rows. Per-layer tensors
// are stacked with a stride of the maximal size; a forward with fewer tokens packs rows at
// the start of each slot. With activation checkpointing only the block outputs (residual3)
// are kept per layer: the other per-layer tensors have one slot, which the backward refills
// by recomputing each block's forward. Private to src/model.
//
// Element types: "A" tensors are the backend's compute dtype, "G" its accumulation dtype
// (LayerNorm statistics, log-sum-exp), token ids and targets int32.
#pragma once

#include <cstddef>
#include <cstdint>

#include "zerotune/model/gpt2_layout.hpp"
#include "zerotune/ops/backend.hpp"
#include "zerotune/runtime/device.hpp"

namespace zerotune::model::detail {

// A [slots, stride] stack of one activation tensor in device memory.
class ActivationStack {
 public:
  ActivationStack() = default;
  ActivationStack(runtime::Device& device, int64_t slots, int64_t stride_bytes, const char* what)
      : stride_(stride_bytes), buffer_(device, slots * stride_bytes, what) {}
  void* at(int64_t slot) { return buffer_.data() + slot * stride_; }
  int64_t bytes() const { return static_cast<int64_t>(buffer_.bytes()); }

 private:
  int64_t stride_ = 0;
  runtime::DeviceBuffer<std::byte> buffer_;
};

struct Gpt2Activations {
  Gpt2Activations(const Gpt2Shape& shape, int64_t max_batch, int64_t max_tokens, bool checkpointing,
                  bool separate_dlogits, bool kv_cache, ops::Backend& backend);

  int64_t max_rows = 0;     // max_batch * max_tokens
  int64_t block_slots = 0;  // n_layer, or 1 with activation checkpointing
  int64_t logits_ld = 0;    // row stride of the logits
  int64_t total_bytes = 0;  // everything below

  ActivationStack tokens;                   // [2R] int32: a forward's ids, then its targets
  ActivationStack encoded;                  // [R, C] A   wte[ids] + wpe
  ActivationStack ln1, ln1_mean, ln1_rstd;  // [S][R, C] A, [S][R] G
  ActivationStack qkv;                      // [S][R, 3C] A
  ActivationStack atty;                     // [S][R, C] A   attention output before c_proj
  ActivationStack att_saved;                // [S][attention_saved_bytes]
  ActivationStack residual2;                // [S][R, C] A   x + attn
  ActivationStack ln2, ln2_mean, ln2_rstd;  // [S][R, C] A, [S][R] G
  ActivationStack fch, fch_gelu;            // [S][R, 4C] A  pre-activation, GELU output
  ActivationStack residual3;                // [L][R, C] A   block outputs (the checkpoints)
  ActivationStack branch;                   // [R, C] A   a projection's output before its add
  ActivationStack lnf, lnf_mean, lnf_rstd;  // [R, C] A, [R] G
  ActivationStack logits;                   // [R, logits_ld] A (dlogits in place in backward)
  ActivationStack lse;                      // [R] G

  // Backward scratch.
  ActivationStack dresidual;  // [R, C] A   gradient of the residual stream
  ActivationStack dln;        // [R, C] A   gradient of a LayerNorm output
  ActivationStack datty;      // [R, C] A
  ActivationStack dqkv;       // [R, 3C] A
  ActivationStack dfch;       // [R, 4C] A  gradient of the MLP hidden layer (GELU in place)
  ActivationStack dlogits;    // [R, logits_ld] A, only with separate_dlogits (else in place)

  // Decoding (kv_cache only): per block, per row, the keys then the values of every position
  // so far.
  ActivationStack kv;  // [L][max_batch, 2, max_tokens, C] A
};

}  // namespace zerotune::model::detail
