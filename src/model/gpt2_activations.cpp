#include "gpt2_activations.hpp"

#include <algorithm>

namespace zerotune::model::detail {

namespace {
// The LM head backward runs over chunks of rows so that dlogits stays at about 16M elements
// (GPT-2's V = 50257 makes a full [B*T, V] gradient as large as the logits themselves).
constexpr int64_t kHeadChunkElements = int64_t{1} << 24;
}  // namespace

template <typename T>
Gpt2Activations<T>::Gpt2Activations(const Gpt2Shape& s, int64_t max_batch) {
  const int64_t L = s.n_layer, C = s.n_embd, V = s.vocab_size, Tmax = s.seq_len;
  max_rows = max_batch * Tmax;
  att_stride = max_batch * s.n_head * Tmax * Tmax;
  head_chunk_rows = std::clamp<int64_t>(kHeadChunkElements / V, 1, max_rows);
  const auto n = static_cast<size_t>(max_rows);

  ids.resize(n);
  labels.resize(n);
  encoded.resize(n * C);
  ln1.resize(L * n * C);
  ln1_mean.resize(L * n);
  ln1_rstd.resize(L * n);
  qkv.resize(L * n * 3 * C);
  atty.resize(L * n * C);
  att.resize(L * att_stride);
  residual2.resize(L * n * C);
  ln2.resize(L * n * C);
  ln2_mean.resize(L * n);
  ln2_rstd.resize(L * n);
  fch.resize(L * n * 4 * C);
  fch_gelu.resize(L * n * 4 * C);
  residual3.resize(L * n * C);
  lnf.resize(n * C);
  lnf_mean.resize(n);
  lnf_rstd.resize(n);
  logits.resize(n * V);
  lse.resize(n);

  dresidual.resize(n * C);
  dln.resize(n * C);
  datty.resize(n * C);
  dqkv.resize(n * 3 * C);
  dfch.resize(n * 4 * C);
  datt.resize(Tmax * Tmax);
  dlogits.resize(head_chunk_rows * V);
}

template struct Gpt2Activations<float>;
template struct Gpt2Activations<double>;

}  // namespace zerotune::model::detail
