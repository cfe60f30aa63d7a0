// GPT-2 on the CPU with typed buffers, for T = float (training, tests) and T = double
// (finite-difference checks): a thin typed face over Gpt2Model (gpt2_model.hpp, where the
// math and the unit protocol are written) running on the CPU backend of dtype T.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "zerotune/model/gpt2_layout.hpp"
#include "zerotune/model/gpt2_model.hpp"
#include "zerotune/model/unit_access.hpp"

namespace zerotune::model {

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

  // Logits of the last forward(), [B, Tlen, V]. Valid until the next forward() or backward().
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
