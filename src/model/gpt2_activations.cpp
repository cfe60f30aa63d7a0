#include "gpt2_activations.hpp"

namespace zerotune::model::detail {

Gpt2Activations::Gpt2Activations(const Gpt2Shape& s, int64_t max_batch, int64_t max_tokens,
                                 bool checkpointing, bool separate_dlogits, bool kv_cache,
                                 ops::Backend& backend) {
  runtime::Device& dev = backend.device();
  const int64_t L = s.n_layer, C = s.n_embd, V = s.vocab_size;
  const int64_t A = static_cast<int64_t>(dtype_bytes(backend.compute_dtype()));
  const int64_t G = static_cast<int64_t>(dtype_bytes(backend.accum_dtype()));
  const int64_t R = max_rows = max_batch * max_tokens;
  const int64_t S = block_slots = checkpointing ? (L > 0 ? 1 : 0) : L;
  logits_ld = backend.logits_stride(V);
  const auto saved =
      static_cast<int64_t>(backend.attention_saved_bytes(max_batch, max_tokens, s.n_head));

  auto stack = [&](ActivationStack& a, int64_t slots, int64_t bytes, const char* what) {
    a = ActivationStack(dev, slots, bytes, what);
    total_bytes += a.bytes();
  };
  stack(tokens, 1, 2 * R * 4, "activations: input ids and targets");
  stack(encoded, 1, R * C * A, "activations: embeddings");
  stack(ln1, S, R * C * A, "activations: ln_1");
  stack(ln1_mean, S, R * G, "activations: ln_1 mean");
  stack(ln1_rstd, S, R * G, "activations: ln_1 rstd");
  stack(qkv, S, R * 3 * C * A, "activations: qkv");
  stack(atty, S, R * C * A, "activations: attention output");
  stack(att_saved, S, saved, "activations: attention state");
  stack(residual2, S, R * C * A, "activations: residual");
  stack(ln2, S, R * C * A, "activations: ln_2");
  stack(ln2_mean, S, R * G, "activations: ln_2 mean");
  stack(ln2_rstd, S, R * G, "activations: ln_2 rstd");
  stack(fch, S, R * 4 * C * A, "activations: mlp pre-activation");
  stack(fch_gelu, S, R * 4 * C * A, "activations: mlp gelu");
  stack(residual3, L, R * C * A, "activations: block outputs");
  stack(branch, 1, R * C * A, "activations: projection");
  stack(lnf, 1, R * C * A, "activations: ln_f");
  stack(lnf_mean, 1, R * G, "activations: ln_f mean");
  stack(lnf_rstd, 1, R * G, "activations: ln_f rstd");
  stack(logits, 1, R * logits_ld * A, "activations: logits");
  stack(lse, 1, R * G, "activations: log-sum-exp");
  stack(dresidual, 1, R * C * A, "gradients: residual stream");
  stack(dln, 1, R * C * A, "gradients: layernorm output");
  stack(datty, 1, R * C * A, "gradients: attention output");
  stack(dqkv, 1, R * 3 * C * A, "gradients: qkv");
  stack(dfch, 1, R * 4 * C * A, "gradients: mlp hidden");
  if (separate_dlogits) stack(dlogits, 1, R * logits_ld * A, "gradients: logits");
  if (kv_cache) stack(kv, L, 2 * R * C * A, "decoding: key-value cache");
}

}  // namespace zerotune::model::detail
