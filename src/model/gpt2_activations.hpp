// The buffers one Gpt2<T> keeps between forward() and backward(), allocated once for
// micro-batches of up to max_batch x seq_len tokens. Per-layer tensors are stacked with a
// stride of the maximal size; a forward with fewer tokens packs rows at the start of each slot.
// Private to src/model.
#pragma once

#include <cstdint>
#include <vector>

#include "zerotune/model/gpt2_layout.hpp"

namespace zerotune::model::detail {

template <typename T>
struct Gpt2Activations {
  Gpt2Activations(const Gpt2Shape& shape, int64_t max_batch);

  int64_t max_rows = 0;         // max_batch * seq_len
  int64_t att_stride = 0;       // max_batch * n_head * seq_len * seq_len
  int64_t head_chunk_rows = 0;  // rows of the LM head backward per chunk (bounds dlogits)

  // Inputs of the last forward.
  std::vector<int32_t> ids;     // [B*T]
  std::vector<int32_t> labels;  // [B*T]

  // Forward, per layer l at offset l * max_rows * width:
  std::vector<T> encoded;                  // [BT, C]   wte[ids] + wpe
  std::vector<T> ln1, ln1_mean, ln1_rstd;  // [L, BT, C], [L, BT], [L, BT]
  std::vector<T> qkv;                      // [L, BT, 3C]
  std::vector<T> atty;                     // [L, BT, C]   attention output before c_proj
  std::vector<T> att;                      // [L, B, NH, T, T] probabilities
  std::vector<T> residual2;                // [L, BT, C]   x + attn
  std::vector<T> ln2, ln2_mean, ln2_rstd;  // [L, BT, C], [L, BT], [L, BT]
  std::vector<T> fch, fch_gelu;            // [L, BT, 4C]
  std::vector<T> residual3;                // [L, BT, C]   block output
  std::vector<T> lnf, lnf_mean, lnf_rstd;  // [BT, C], [BT], [BT]
  std::vector<T> logits;                   // [BT, V]
  std::vector<T> lse;                      // [BT]   log-sum-exp of each logits row

  // Backward scratch.
  std::vector<T> dresidual;  // [BT, C]   gradient of the residual stream
  std::vector<T> dln;        // [BT, C]   gradient of a LayerNorm output
  std::vector<T> datty;      // [BT, C]
  std::vector<T> dqkv;       // [BT, 3C]
  std::vector<T> dfch;       // [BT, 4C]  gradient of the MLP hidden layer (GELU in place)
  std::vector<T> datt;       // [T, T]    attention backward scratch
  std::vector<T> dlogits;    // [head_chunk_rows, V]
};

}  // namespace zerotune::model::detail
