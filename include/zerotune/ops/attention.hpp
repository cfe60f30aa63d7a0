// Causal multi-head self-attention on the output of c_attn, as Hugging Face's GPT-2 splits it.
#pragma once

#include <cstdint>

namespace zerotune::ops {

// qkv[B, T, 3C] holds q | k | v along the last dimension, each [B, T, C] viewed as NH heads
// of hd = C/NH channels (head h owns channels h*hd .. h*hd+hd-1). Per batch b and head h:
//   S[t, s]   = (q_t . k_s) / sqrt(hd)                 for s <= t (causal)
//   att[t, s] = exp(S[t, s]) / sum_{s' <= t} exp(S[t, s'])   (0 for s > t)
//   out[t]    = sum_s att[t, s] v_s
// out[B, T, C] and att[B, NH, T, T] (the probabilities, kept for the backward) are OVERWRITTEN.
// Backward, with dout[B, T, C] the upstream gradient:
//   datt = dout @ v^T, dv = att^T @ dout
//   dS[t, s] = att[t, s] * (datt[t, s] - sum_s' att[t, s'] datt[t, s'])
//   dq = dS @ k / sqrt(hd), dk = dS^T @ q / sqrt(hd)
// dqkv[B, T, 3C] is OVERWRITTEN. scratch holds T*T elements. The matmuls run on BLAS per (b, h).
template <typename T>
void attention_forward(T* out, T* att, const T* qkv, int64_t B, int64_t Tlen, int64_t C,
                       int64_t NH);

// Decoding with a KV cache: the forward above for Tq new positions of each row, whose first
// `past` positions went through earlier calls. kv[B, 2, maxT, C] holds per row the keys
// (kv[b][0]) and values (kv[b][1]) of positions 0 .. past-1; the new positions' k and v (from
// qkv[B, Tq, 3C], positions past .. past+Tq-1) are written there first, then per head
//   S[i, s] = (q_i . k_s) / sqrt(hd)    for s <= past + i
//   out[i]  = sum_s softmax_s(S[i, s]) v_s
// out[B, Tq, C] is OVERWRITTEN. past + Tq <= maxT. Work is O(Tq * (past + Tq) * C): one new
// position costs one row of scores over the cache, not the whole sequence again.
template <typename T>
void attention_forward_cached(T* out, T* kv, const T* qkv, int64_t B, int64_t past, int64_t Tq,
                              int64_t maxT, int64_t C, int64_t NH);

template <typename T>
void attention_backward(T* dqkv, T* scratch, const T* dout, const T* qkv, const T* att, int64_t B,
                        int64_t Tlen, int64_t C, int64_t NH);

}  // namespace zerotune::ops
