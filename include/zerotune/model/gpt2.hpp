// GPT-2 forward and backward over flat per-unit buffers (see gpt2_layout.hpp), on the CPU,
// for T = float (training) and T = double (finite-difference checks).
//
//   x0 = wte[ids] + wpe[pos]
//   per block: x = x + attn(ln_1(x)); x = x + mlp(ln_2(x))    (pre-LayerNorm, causal, GELU-tanh)
//   logits = ln_f(x) @ wte^T                                   (tied head)
//   loss = sum over positions with label != -100 of -log softmax(logits)[label]
//
// The loss is returned as a SUM with the count of counted tokens, so the caller divides by
// the token count of the whole global batch (same math at any world size and accumulation).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "zerotune/model/gpt2_layout.hpp"
#include "zerotune/model/unit_access.hpp"

namespace zerotune::model {

inline constexpr int32_t kIgnoreIndex = -100;

struct LossSum {
  double sum = 0.0;    // sum of token cross-entropies
  int64_t tokens = 0;  // number of labels != kIgnoreIndex
};

template <typename T>
class Gpt2 {
 public:
  // Activations are allocated for micro-batches of up to max_batch x shape.seq_len tokens.
  Gpt2(const Gpt2Shape& shape, int64_t max_batch);
  ~Gpt2();
  Gpt2(const Gpt2&) = delete;
  Gpt2& operator=(const Gpt2&) = delete;

  const Gpt2Layout& layout() const;

  // ids, labels: [B, Tlen] row-major, Tlen <= seq_len. Keeps the activations for backward().
  // labels may be null (no loss: generation). Throws InputError for a token id outside
  // [0, vocab_size) or a label that is neither such an id nor -100.
  // Units are acquired 0 (embeddings), 1..L (blocks), L+1 (ln_f), 0 (tied head), each released
  // after its last use; next_unit names the following unit of that sequence (-1 after the head).
  LossSum forward(const int32_t* ids, const int32_t* labels, int64_t B, int64_t Tlen,
                  ParameterSource<T>& params);

  // Logits of the last forward(), [B, Tlen, V]. Valid until the next forward().
  const T* logits() const;

  // Gradient of (loss_scale * loss sum) of the last forward(), added into sink. May be called
  // more than once per forward (each call adds again).
  // Units are acquired 0 (tied head), L+1 (ln_f), L..1 (blocks), each released after use; the
  // embeddings' backward reads no parameters, so unit 0 is not acquired again for it.
  // gradients_ready() follows for L+1, L, ..., 1 right after each release, then for 0 last.
  void backward(T loss_scale, ParameterSource<T>& params, GradientSink<T>& sink);

  // Deterministic initialisation as GPT-2's: N(0, init_std = 0.02) weights, residual projections
  // (c_proj) scaled by 1/sqrt(2 * n_layer), zero biases, LayerNorm weight 1.
  static void init_unit(const Gpt2Layout& layout, int unit, T* buffer, uint64_t seed,
                        double init_std = 0.02);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace zerotune::model
