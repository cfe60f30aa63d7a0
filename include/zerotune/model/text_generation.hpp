// Autoregressive decoding with a GPT-2: greedy (temperature 0) or sampling with temperature,
// top-k and top-p (nucleus), as Hugging Face's generate() defines them:
//   logits / temperature -> keep the top_k largest (0: all) -> softmax -> keep the smallest
//   set of most likely tokens whose probabilities sum to >= top_p (1: all) -> renormalise ->
//   draw one token.
// Greedy takes the argmax (the lowest id among equal logits, as torch.argmax).
// With a model built with Gpt2Options::kv_cache the prompt runs through the model once and
// each new token costs one position's forward (its attention reads the cached keys and
// values): n tokens cost n positions, linear in the length. Without a cache each new token
// runs a full forward over the (last seq_len) tokens, n^2 / 2 positions in all. Past seq_len
// tokens both keep the last seq_len as the context (GPT-2's positions are absolute, so the
// cache then starts again from them for each token) and give the same tokens.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "zerotune/model/gpt2_model.hpp"

namespace zerotune::model {

struct SamplingSettings {
  double temperature = 0;  // 0: greedy
  int64_t top_k = 0;       // 0: no limit
  double top_p = 1.0;      // 1: no limit
  uint64_t seed = 0;
};

// Draws token ids from logits; the same settings and seed give the same draws on every
// platform (std::mt19937_64 and a 53-bit uniform written out, no std distributions).
class TokenSampler {
 public:
  explicit TokenSampler(const SamplingSettings& settings);
  int32_t next(const float* logits, int64_t vocab_size);

 private:
  SamplingSettings settings_;
  std::mt19937_64 rng_;
};

struct Generation {
  std::vector<int32_t> new_ids;  // generated ids, the end-of-text id excluded
  bool stopped_at_eos = false;
};

// Appends up to max_new_tokens ids to prompt (non-empty), stopping after eos_token_id (>= 0).
// model must hold activations for 1 x shape.seq_len tokens (with a KV cache: the context is
// at most its max_tokens) and compute in fp32 (the logits
// are read as floats, from the backend's memory); a longer text keeps its last seq_len tokens
// as the context.
Generation generate_tokens(Gpt2Model& model, ParameterSource<void>& params,
                           const std::vector<int32_t>& prompt, int64_t max_new_tokens,
                           int32_t eos_token_id, TokenSampler& sampler);

}  // namespace zerotune::model
