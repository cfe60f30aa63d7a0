#include "zerotune/model/gpt2.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "gpt2_activations.hpp"
#include "gpt2_tensors.hpp"
#include "zerotune/base/error.hpp"
#include "zerotune/ops/attention.hpp"
#include "zerotune/ops/embedding.hpp"
#include "zerotune/ops/gelu.hpp"
#include "zerotune/ops/layernorm.hpp"
#include "zerotune/ops/lm_head.hpp"
#include "zerotune/ops/matmul.hpp"
#include "zerotune/ops/residual.hpp"
#include "zerotune/ops/softmax_xent.hpp"

namespace zerotune::model {

static_assert(kIgnoreIndex == ops::kIgnoreIndex);

namespace {

void check_shape(const Gpt2Shape& s, int64_t max_batch) {
  auto positive = [](int64_t v, const char* field) {
    if (v <= 0) {
      throw InputError(std::string("model.") + field + ": expected a positive integer, got " +
                       std::to_string(v));
    }
  };
  if (s.n_layer < 0) {
    throw InputError("model.n_layer: expected a non-negative integer, got " +
                     std::to_string(s.n_layer));
  }
  positive(s.n_head, "n_head");
  positive(s.n_embd, "n_embd");
  positive(s.seq_len, "seq_len");
  positive(s.vocab_size, "vocab_size");
  if (s.n_embd % s.n_head != 0) {
    throw InputError("model.n_embd: expected a multiple of model.n_head (" +
                     std::to_string(s.n_head) + "), got " + std::to_string(s.n_embd));
  }
  if (max_batch <= 0) {
    throw std::invalid_argument("Gpt2: max_batch must be positive, got " +
                                std::to_string(max_batch));
  }
}

[[noreturn]] void throw_bad_token(const char* what, int32_t value, int64_t i, int64_t Tlen,
                                  int64_t V, bool ignore_allowed) {
  std::string message = "GPT-2 forward: ";
  message += what;
  message += "[" + std::to_string(i / Tlen) + "][" + std::to_string(i % Tlen) + "] = ";
  message += std::to_string(value) + ": expected a token id in [0, " + std::to_string(V) + ")";
  if (ignore_allowed) message += " or -100";
  throw InputError(message);
}

// Token ids and labels come from data files: a bad one is an input error, named by position.
void check_tokens(const int32_t* ids, const int32_t* labels, int64_t B, int64_t Tlen, int64_t V) {
  for (int64_t i = 0; i < B * Tlen; ++i) {
    if (ids[i] < 0 || ids[i] >= V) throw_bad_token("input_ids", ids[i], i, Tlen, V, false);
    if (labels != nullptr && labels[i] != kIgnoreIndex && (labels[i] < 0 || labels[i] >= V)) {
      throw_bad_token("labels", labels[i], i, Tlen, V, true);
    }
  }
}

}  // namespace

template <typename T>
struct Gpt2<T>::Impl {
  Impl(const Gpt2Shape& s, int64_t max_batch)
      : layout(make_gpt2_layout(s)),
        offsets(detail::gpt2_offsets(layout)),
        max_batch(max_batch),
        acts(s, max_batch) {}

  Gpt2Layout layout;
  detail::Gpt2Offsets offsets;
  int64_t max_batch;
  detail::Gpt2Activations<T> acts;
  int64_t B = 0, Tlen = 0;  // of the last forward; 0 before the first
};

template <typename T>
Gpt2<T>::Gpt2(const Gpt2Shape& shape, int64_t max_batch) {
  check_shape(shape, max_batch);
  impl_ = std::make_unique<Impl>(shape, max_batch);
}

template <typename T>
Gpt2<T>::~Gpt2() = default;

template <typename T>
const Gpt2Layout& Gpt2<T>::layout() const {
  return impl_->layout;
}

template <typename T>
const T* Gpt2<T>::logits() const {
  return impl_->acts.logits.data();
}

// Units are acquired 0 (embeddings), 1..L (blocks), L+1 (ln_f), then 0 again for the tied
// head; each is released as soon as its last op has run.
template <typename T>
LossSum Gpt2<T>::forward(const int32_t* ids, const int32_t* labels, int64_t B, int64_t Tlen,
                         ParameterSource<T>& params) {
  Impl& m = *impl_;
  const Gpt2Shape& s = m.layout.shape;
  if (B <= 0 || B > m.max_batch || Tlen <= 0 || Tlen > s.seq_len) {
    throw std::invalid_argument("Gpt2::forward: batch " + std::to_string(B) + " x " +
                                std::to_string(Tlen) + " tokens outside the allocated " +
                                std::to_string(m.max_batch) + " x " + std::to_string(s.seq_len));
  }
  check_tokens(ids, labels, B, Tlen, s.vocab_size);
  m.B = 0;  // no valid forward until this one completes

  const int64_t L = s.n_layer, C = s.n_embd, NH = s.n_head, V = s.vocab_size;
  const int64_t BT = B * Tlen, R = m.acts.max_rows;
  const detail::Gpt2Offsets& off = m.offsets;
  detail::Gpt2Activations<T>& a = m.acts;
  std::copy(ids, ids + BT, a.ids.begin());
  if (labels != nullptr) {
    std::copy(labels, labels + BT, a.labels.begin());
  } else {
    std::fill(a.labels.begin(), a.labels.begin() + BT, kIgnoreIndex);
  }

  const T* emb = params.acquire(embeddings_unit(), 1);
  ops::embedding_forward(a.encoded.data(), a.ids.data(), emb + off.wte, emb + off.wpe, B, Tlen, C);
  params.release(embeddings_unit());

  const T* x = a.encoded.data();
  for (int64_t l = 0; l < L; ++l) {
    const int unit = block_unit(static_cast<int>(l));
    const auto p = detail::block_tensors(params.acquire(unit, unit + 1), off.block);
    T* ln1 = a.ln1.data() + l * R * C;
    T* ln1_mean = a.ln1_mean.data() + l * R;
    T* ln1_rstd = a.ln1_rstd.data() + l * R;
    T* qkv = a.qkv.data() + l * R * 3 * C;
    T* atty = a.atty.data() + l * R * C;
    T* att = a.att.data() + l * a.att_stride;
    T* res2 = a.residual2.data() + l * R * C;
    T* ln2 = a.ln2.data() + l * R * C;
    T* ln2_mean = a.ln2_mean.data() + l * R;
    T* ln2_rstd = a.ln2_rstd.data() + l * R;
    T* fch = a.fch.data() + l * R * 4 * C;
    T* fch_gelu = a.fch_gelu.data() + l * R * 4 * C;
    T* res3 = a.residual3.data() + l * R * C;

    ops::layernorm_forward(ln1, ln1_mean, ln1_rstd, x, p.ln1_w, p.ln1_b, BT, C);
    ops::matmul_forward(qkv, ln1, p.attn_w, p.attn_b, BT, C, 3 * C);
    ops::attention_forward(atty, att, qkv, B, Tlen, C, NH);
    ops::matmul_forward(res2, atty, p.attn_proj_w, p.attn_proj_b, BT, C, C);
    ops::residual_forward(res2, res2, x, BT * C);
    ops::layernorm_forward(ln2, ln2_mean, ln2_rstd, res2, p.ln2_w, p.ln2_b, BT, C);
    ops::matmul_forward(fch, ln2, p.fc_w, p.fc_b, BT, C, 4 * C);
    ops::gelu_forward(fch_gelu, fch, BT * 4 * C);
    ops::matmul_forward(res3, fch_gelu, p.fc_proj_w, p.fc_proj_b, BT, 4 * C, C);
    ops::residual_forward(res3, res3, res2, BT * C);
    params.release(unit);
    x = res3;
  }

  const int lnf_unit = final_norm_unit(s);
  const T* lnf = params.acquire(lnf_unit, embeddings_unit());
  ops::layernorm_forward(a.lnf.data(), a.lnf_mean.data(), a.lnf_rstd.data(), x, lnf + off.lnf_w,
                         lnf + off.lnf_b, BT, C);
  params.release(lnf_unit);

  const T* head = params.acquire(embeddings_unit(), -1);
  ops::lm_head_forward(a.logits.data(), a.lnf.data(), head + off.wte, BT, C, V);
  params.release(embeddings_unit());

  const ops::XentSum xent =
      ops::softmax_xent_forward(a.lse.data(), a.logits.data(), a.labels.data(), BT, V);
  m.B = B;
  m.Tlen = Tlen;
  return LossSum{xent.loss_sum, xent.tokens};
}

// Units are acquired 0 (head), L+1 (ln_f), L..1 (blocks); the embeddings' backward reads no
// parameters, so unit 0 is not acquired a second time. gradients_ready(u) follows the last
// write into u's gradients: L+1, L, ..., 1, 0.
template <typename T>
void Gpt2<T>::backward(T loss_scale, ParameterSource<T>& params, GradientSink<T>& sink) {
  Impl& m = *impl_;
  if (m.B == 0) throw std::logic_error("Gpt2::backward: no forward() to differentiate");
  const Gpt2Shape& s = m.layout.shape;
  const int64_t L = s.n_layer, C = s.n_embd, NH = s.n_head, V = s.vocab_size;
  const int64_t B = m.B, Tlen = m.Tlen, BT = B * Tlen, R = m.acts.max_rows;
  const detail::Gpt2Offsets& off = m.offsets;
  detail::Gpt2Activations<T>& a = m.acts;
  const int lnf_unit = final_norm_unit(s);

  // Tied head and cross-entropy, over chunks of rows: dln = d(ln_f output), dwte +=.
  {
    const T* emb = params.acquire(embeddings_unit(), lnf_unit);
    T* gemb = sink.gradients(embeddings_unit());
    for (int64_t r0 = 0; r0 < BT; r0 += a.head_chunk_rows) {
      const int64_t rows = std::min(a.head_chunk_rows, BT - r0);
      ops::softmax_xent_backward(a.dlogits.data(), a.logits.data() + r0 * V, a.lse.data() + r0,
                                 a.labels.data() + r0, loss_scale, rows, V);
      ops::lm_head_backward(a.dln.data() + r0 * C, gemb + off.wte, a.dlogits.data(),
                            a.lnf.data() + r0 * C, emb + off.wte, rows, C, V);
    }
    params.release(embeddings_unit());
  }

  // ln_f: the residual stream's gradient starts here.
  {
    const T* x = L > 0 ? a.residual3.data() + (L - 1) * R * C : a.encoded.data();
    const T* p = params.acquire(lnf_unit, L > 0 ? block_unit(static_cast<int>(L - 1)) : -1);
    T* g = sink.gradients(lnf_unit);
    std::fill(a.dresidual.begin(), a.dresidual.begin() + BT * C, T(0));
    ops::layernorm_backward(a.dresidual.data(), g + off.lnf_w, g + off.lnf_b, a.dln.data(), x,
                            p + off.lnf_w, a.lnf_mean.data(), a.lnf_rstd.data(), BT, C);
    params.release(lnf_unit);
    sink.gradients_ready(lnf_unit);
  }

  T* dres = a.dresidual.data();
  for (int64_t l = L - 1; l >= 0; --l) {
    const int unit = block_unit(static_cast<int>(l));
    const int next = l > 0 ? unit - 1 : -1;
    const auto p = detail::block_tensors(params.acquire(unit, next), off.block);
    const auto g = detail::block_tensors(sink.gradients(unit), off.block);
    const T* x = l > 0 ? a.residual3.data() + (l - 1) * R * C : a.encoded.data();
    const T* ln1 = a.ln1.data() + l * R * C;
    const T* ln1_mean = a.ln1_mean.data() + l * R;
    const T* ln1_rstd = a.ln1_rstd.data() + l * R;
    const T* qkv = a.qkv.data() + l * R * 3 * C;
    const T* atty = a.atty.data() + l * R * C;
    const T* att = a.att.data() + l * a.att_stride;
    const T* res2 = a.residual2.data() + l * R * C;
    const T* ln2 = a.ln2.data() + l * R * C;
    const T* ln2_mean = a.ln2_mean.data() + l * R;
    const T* ln2_rstd = a.ln2_rstd.data() + l * R;
    const T* fch = a.fch.data() + l * R * 4 * C;
    const T* fch_gelu = a.fch_gelu.data() + l * R * 4 * C;
    T* dfch = a.dfch.data();
    T* dln = a.dln.data();

    // MLP branch: dres holds d(block output); afterwards d(res2).
    ops::matmul_backward(dfch, g.fc_proj_w, g.fc_proj_b, dres, fch_gelu, p.fc_proj_w, BT, 4 * C, C);
    ops::gelu_backward(dfch, fch, dfch, BT * 4 * C);
    ops::matmul_backward(dln, g.fc_w, g.fc_b, dfch, ln2, p.fc_w, BT, C, 4 * C);
    ops::layernorm_backward(dres, g.ln2_w, g.ln2_b, dln, res2, p.ln2_w, ln2_mean, ln2_rstd, BT, C);
    // Attention branch: afterwards dres holds d(block input).
    ops::matmul_backward(a.datty.data(), g.attn_proj_w, g.attn_proj_b, dres, atty, p.attn_proj_w,
                         BT, C, C);
    ops::attention_backward(a.dqkv.data(), a.datt.data(), a.datty.data(), qkv, att, B, Tlen, C, NH);
    ops::matmul_backward(dln, g.attn_w, g.attn_b, a.dqkv.data(), ln1, p.attn_w, BT, C, 3 * C);
    ops::layernorm_backward(dres, g.ln1_w, g.ln1_b, dln, x, p.ln1_w, ln1_mean, ln1_rstd, BT, C);
    params.release(unit);
    sink.gradients_ready(unit);
  }

  T* gemb = sink.gradients(embeddings_unit());
  ops::embedding_backward(gemb + off.wte, gemb + off.wpe, dres, a.ids.data(), B, Tlen, C);
  sink.gradients_ready(embeddings_unit());
}

template class Gpt2<float>;
template class Gpt2<double>;

}  // namespace zerotune::model
