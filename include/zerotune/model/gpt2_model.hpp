// GPT-2 forward and backward written once against ops::Backend, so the same sequence runs on
// the CPU (the reference, in float or double) and on the GPU (bf16, fp16 or fp32).
//
//   x0 = wte[ids] + wpe[pos]
//   per block: x = x + attn(ln_1(x)); x = x + mlp(ln_2(x))    (pre-LayerNorm, causal, GELU-tanh)
//   logits = ln_f(x) @ wte^T                                   (tied head)
//   loss = sum over positions with label != -100 of -log softmax(logits)[label]
//
// Each residual add is fused into the LayerNorm that reads its result (the next block's ln_1,
// or ln_f), so a block's output is written by the unit after it. Parameters arrive in the
// backend's compute dtype through ParameterSource<void>; gradients go out in its accumulation
// dtype through GradientSink<void> (see unit_access.hpp for the protocol and the order).
// The loss is returned as a SUM with the count of counted tokens, so the caller divides by
// the token count of the whole global batch (same math at any world size and accumulation).
#pragma once

#include <cstdint>
#include <memory>

#include "zerotune/model/gpt2_layout.hpp"
#include "zerotune/model/unit_access.hpp"
#include "zerotune/ops/backend.hpp"

namespace zerotune::model {

inline constexpr int32_t kIgnoreIndex = -100;

struct LossSum {
  double sum = 0.0;    // sum of token cross-entropies
  int64_t tokens = 0;  // number of labels != kIgnoreIndex
};

struct Gpt2Options {
  // Rows of at most this many tokens (<= shape.seq_len; 0: shape.seq_len). Activations are
  // sized by it, so a model with a 1024-position table fine-tuned on 128-token rows holds
  // activations for 128.
  int64_t max_tokens = 0;
  // Keep only each block's output in forward; recompute the block's activations in backward.
  bool activation_checkpointing = false;
  // The backward turns the logits into their gradient in place (no second [rows, V] buffer),
  // so it runs once per forward. keep_logits gives it a buffer of its own instead: the logits
  // stay readable and backward() may run again on the same forward.
  bool keep_logits = false;
  // Keep every block's K and V of up to max_batch x max_tokens positions, for decoding with
  // forward_cached() (text generation): 2 x n_layer x max_batch x max_tokens x n_embd more
  // elements.
  bool kv_cache = false;
};

class Gpt2Model {
 public:
  // Activations for micro-batches of up to max_batch rows; throws InputError for a shape that
  // is not a GPT-2 (naming the model.* field).
  Gpt2Model(const Gpt2Shape& shape, int64_t max_batch, ops::Backend& backend,
            Gpt2Options options = {});
  ~Gpt2Model();
  Gpt2Model(const Gpt2Model&) = delete;
  Gpt2Model& operator=(const Gpt2Model&) = delete;

  const Gpt2Layout& layout() const;
  ops::Backend& backend();
  int64_t activation_bytes() const;

  // ids, labels: [B, Tlen] row-major in host memory, Tlen <= max_tokens. labels may be null
  // (no loss: generation). Throws InputError for a token id outside [0, vocab_size) or a
  // label that is neither such an id nor -100. Units are acquired 0 (embeddings), 1..L
  // (blocks), L+1 (ln_f), 0 (tied head), each released after its last use.
  LossSum forward(const int32_t* ids, const int32_t* labels, int64_t B, int64_t Tlen,
                  ParameterSource<void>& params);

  // Decoding with the KV cache (Gpt2Options::kv_cache): the forward of the Tnew tokens per row
  // that follow the cached_tokens() positions already in the cache (B the same in every call
  // since reset_cache()). Positions are cached_tokens() .. + Tnew - 1; each attends to the
  // cached ones and to its own predecessors, and their K and V join the cache, so a new token
  // costs one position's forward, not the whole text's. Same sequence of ops as forward()
  // (no loss: labels are absent); logits() holds the [B*Tnew] new rows. Throws
  // std::invalid_argument past max_tokens cached positions (reset_cache() and start again
  // from a shorter context) or without a cache; backward() after it is a std::logic_error.
  void forward_cached(const int32_t* ids, int64_t B, int64_t Tnew, ParameterSource<void>& params);
  void reset_cache();
  int64_t cached_tokens() const;
  bool has_kv_cache() const;
  int64_t max_tokens() const;
  // Rows x tokens run through forward() and forward_cached() since construction: the work
  // that decoding tests count.
  int64_t positions_processed() const;

  // Logits of the last forward, [B*Tlen, logits_stride()] in the backend's memory, compute
  // dtype. Valid until the next forward(), or backward() without keep_logits.
  const void* logits() const;
  int64_t logits_stride() const;

  // Gradient of (loss_scale * loss sum) of the last forward(), added into sink. Without
  // keep_logits a second call on the same forward is a std::logic_error. Units are
  // acquired 0 (tied head), L+1 (ln_f), L..1 (blocks); gradients_ready() follows for L+1,
  // L, ..., 1 right after each release, then for 0 last.
  void backward(double loss_scale, ParameterSource<void>& params, GradientSink<void>& sink);

 private:
  // The one forward sequence of forward() (past < 0) and forward_cached() (past: the cached
  // positions the new ones follow).
  LossSum run_forward(const int32_t* ids, const int32_t* labels, int64_t B, int64_t Tlen,
                      ParameterSource<void>& params, int64_t past);

  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace zerotune::model
