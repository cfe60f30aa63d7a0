#include "zerotune/model/gpt2_model.hpp"

#include <algorithm>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

#include "gpt2_activations.hpp"
#include "gpt2_tensors.hpp"
#include "zerotune/base/error.hpp"

namespace zerotune::model {

namespace {

void check_shape(const Gpt2Shape& s, int64_t max_batch, int64_t max_tokens) {
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
  if (max_batch <= 0 || max_tokens <= 0 || max_tokens > s.seq_len) {
    throw std::invalid_argument("Gpt2Model: batch " + std::to_string(max_batch) + " x " +
                                std::to_string(max_tokens) + " tokens is not allocatable for " +
                                std::to_string(s.seq_len) + " positions");
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

const std::byte* bytes(const void* p) { return static_cast<const std::byte*>(p); }
std::byte* bytes(void* p) { return static_cast<std::byte*>(p); }

}  // namespace

struct Gpt2Model::Impl {
  Impl(const Gpt2Shape& s, int64_t max_batch, ops::Backend& b, const Gpt2Options& o)
      : layout(make_gpt2_layout(s)),
        offsets(detail::gpt2_offsets(layout)),
        backend(b),
        A(static_cast<int64_t>(dtype_bytes(b.compute_dtype()))),
        G(static_cast<int64_t>(dtype_bytes(b.accum_dtype()))),
        param_block(detail::in_bytes(offsets.block, A)),
        grad_block(detail::in_bytes(offsets.block, G)),
        max_batch(max_batch),
        max_tokens(o.max_tokens),
        checkpointing(o.activation_checkpointing),
        keep_logits(o.keep_logits),
        kv_cache(o.kv_cache),
        acts(s, max_batch, o.max_tokens, o.activation_checkpointing, o.keep_logits, o.kv_cache, b) {
  }

  Gpt2Layout layout;
  detail::Gpt2Offsets offsets;
  ops::Backend& backend;
  int64_t A, G;  // bytes of a compute / accumulation element
  detail::BlockOffsets param_block, grad_block;
  int64_t max_batch, max_tokens;
  bool checkpointing;
  bool keep_logits;
  bool kv_cache;
  bool logits_consumed = false;  // an in-place backward has run on the last forward
  // Decoding: positions in the KV cache and its batch; whether the running (or last) forward
  // is a cached one, and its first position.
  int64_t cached = 0, cache_B = 0;
  bool decoding = false;
  int64_t pos0 = 0;
  int64_t positions = 0;  // rows x tokens of every forward so far
  detail::Gpt2Activations acts;
  // The last forward's ids, then its targets, as uploaded in one copy (the GPU groups the ids
  // by token on the host for the backward).
  std::vector<int32_t> tokens_host;
  int64_t B = 0, Tlen = 0;  // of the last forward; 0 before the first

  int64_t slot(int64_t layer) const { return checkpointing ? 0 : layer; }
  // The residual stream entering block l: the embeddings, or block l-1's output.
  void* block_input(int64_t l) { return l == 0 ? acts.encoded.at(0) : acts.residual3.at(l - 1); }

  // Block l's forward from its ln_1 output (already in ln1[slot]) onwards. With mlp_out, the
  // MLP's projection lands in acts.branch for the next unit's fused residual add; a recompute
  // in backward needs everything but that.
  void block_body(int64_t l, const std::byte* p, bool mlp_out) {
    const Gpt2Shape& s = layout.shape;
    const int64_t C = s.n_embd, NH = s.n_head, BT = B * Tlen, k = slot(l);
    detail::Gpt2Activations& a = acts;
    const auto w = detail::block_tensors(p, param_block);
    ops::Backend& be = backend;
    be.matmul_forward(a.qkv.at(k), a.ln1.at(k), w.attn_w, w.attn_b, BT, C, 3 * C);
    if (decoding) {
      be.attention_forward_cached(a.atty.at(k), a.kv.at(l), a.qkv.at(k), B, pos0, Tlen, max_tokens,
                                  C, NH);
    } else {
      be.attention_forward(a.atty.at(k), a.att_saved.at(k), a.qkv.at(k), B, Tlen, C, NH);
    }
    be.matmul_forward(a.branch.at(0), a.atty.at(k), w.attn_proj_w, w.attn_proj_b, BT, C, C);
    be.residual_layernorm_forward(a.residual2.at(k), a.ln2.at(k), a.ln2_mean.at(k),
                                  a.ln2_rstd.at(k), block_input(l), a.branch.at(0), w.ln2_w,
                                  w.ln2_b, BT, C);
    be.matmul_forward(a.fch_gelu.at(k), a.ln2.at(k), w.fc_w, w.fc_b, BT, C, 4 * C, a.fch.at(k));
    if (mlp_out) {
      be.matmul_forward(a.branch.at(0), a.fch_gelu.at(k), w.fc_proj_w, w.fc_proj_b, BT, 4 * C, C);
    }
  }

  // ln_1 of block l from its input: fused with block l-1's residual add in forward (which
  // writes block l-1's output), a plain LayerNorm where that output exists (block 0, recompute).
  void block_ln1(int64_t l, const std::byte* p, bool fuse_residual) {
    const int64_t C = layout.shape.n_embd, BT = B * Tlen, k = slot(l);
    detail::Gpt2Activations& a = acts;
    const auto w = detail::block_tensors(p, param_block);
    if (fuse_residual && l > 0) {
      backend.residual_layernorm_forward(a.residual3.at(l - 1), a.ln1.at(k), a.ln1_mean.at(k),
                                         a.ln1_rstd.at(k), a.residual2.at(slot(l - 1)),
                                         a.branch.at(0), w.ln1_w, w.ln1_b, BT, C);
    } else {
      backend.layernorm_forward(a.ln1.at(k), a.ln1_mean.at(k), a.ln1_rstd.at(k), block_input(l),
                                w.ln1_w, w.ln1_b, BT, C);
    }
  }
};

Gpt2Model::Gpt2Model(const Gpt2Shape& shape, int64_t max_batch, ops::Backend& backend,
                     Gpt2Options options) {
  if (options.max_tokens == 0) options.max_tokens = shape.seq_len;
  check_shape(shape, max_batch, options.max_tokens);
  impl_ = std::make_unique<Impl>(shape, max_batch, backend, options);
}

Gpt2Model::~Gpt2Model() = default;

const Gpt2Layout& Gpt2Model::layout() const { return impl_->layout; }
ops::Backend& Gpt2Model::backend() { return impl_->backend; }
int64_t Gpt2Model::activation_bytes() const { return impl_->acts.total_bytes; }
const void* Gpt2Model::logits() const { return impl_->acts.logits.at(0); }
int64_t Gpt2Model::logits_stride() const { return impl_->acts.logits_ld; }

bool Gpt2Model::has_kv_cache() const { return impl_->kv_cache; }
int64_t Gpt2Model::cached_tokens() const { return impl_->cached; }
int64_t Gpt2Model::max_tokens() const { return impl_->max_tokens; }
int64_t Gpt2Model::positions_processed() const { return impl_->positions; }
void Gpt2Model::reset_cache() {
  impl_->cached = 0;
  impl_->cache_B = 0;
}

LossSum Gpt2Model::forward(const int32_t* ids, const int32_t* labels, int64_t B, int64_t Tlen,
                           ParameterSource<void>& params) {
  return run_forward(ids, labels, B, Tlen, params, -1);
}

void Gpt2Model::forward_cached(const int32_t* ids, int64_t B, int64_t Tnew,
                               ParameterSource<void>& params) {
  Impl& m = *impl_;
  if (!m.kv_cache) {
    throw std::invalid_argument("Gpt2Model::forward_cached: the model has no KV cache");
  }
  if (m.cached > 0 && B != m.cache_B) {
    throw std::invalid_argument("Gpt2Model::forward_cached: batch " + std::to_string(B) +
                                " after a cache of batch " + std::to_string(m.cache_B));
  }
  if (Tnew > m.max_tokens - m.cached) {
    throw std::invalid_argument("Gpt2Model::forward_cached: " + std::to_string(Tnew) +
                                " tokens after " + std::to_string(m.cached) +
                                " cached pass the allocated " + std::to_string(m.max_tokens));
  }
  run_forward(ids, nullptr, B, Tnew, params, m.cached);
  m.cached += Tnew;
  m.cache_B = B;
}

LossSum Gpt2Model::run_forward(const int32_t* ids, const int32_t* labels, int64_t B, int64_t Tlen,
                               ParameterSource<void>& params, int64_t past) {
  Impl& m = *impl_;
  const Gpt2Shape& s = m.layout.shape;
  if (B <= 0 || B > m.max_batch || Tlen <= 0 || Tlen > m.max_tokens) {
    throw std::invalid_argument("Gpt2Model::forward: batch " + std::to_string(B) + " x " +
                                std::to_string(Tlen) + " tokens outside the allocated " +
                                std::to_string(m.max_batch) + " x " + std::to_string(m.max_tokens));
  }
  check_tokens(ids, labels, B, Tlen, s.vocab_size);
  m.B = 0;  // no valid forward until this one completes
  m.Tlen = Tlen;
  m.decoding = past >= 0;
  m.pos0 = std::max<int64_t>(past, 0);

  const int64_t L = s.n_layer, C = s.n_embd, V = s.vocab_size, BT = B * Tlen;
  const detail::Gpt2Offsets& off = m.offsets;
  detail::Gpt2Activations& a = m.acts;
  ops::Backend& be = m.backend;
  m.tokens_host.assign(ids, ids + BT);
  m.tokens_host.resize(2 * BT, kIgnoreIndex);
  if (labels != nullptr) std::copy(labels, labels + BT, m.tokens_host.begin() + BT);
  const int32_t* targets = m.tokens_host.data() + BT;
  const int64_t tokens = BT - std::count(targets, targets + BT, kIgnoreIndex);
  auto* ids_dev = static_cast<int32_t*>(a.tokens.at(0));
  const int32_t* targets_dev = ids_dev + BT;
  be.upload_tokens(ids_dev, m.tokens_host.data(), 2 * BT);
  m.B = B;  // the block helpers read the batch shape
  m.logits_consumed = false;

  const std::byte* emb = bytes(params.acquire(embeddings_unit(), 1));
  // Positions pos0.. read the position table from row pos0 on.
  be.embedding_forward(a.encoded.at(0), ids_dev, emb + off.wte * m.A,
                       emb + (off.wpe + m.pos0 * C) * m.A, B, Tlen, C);
  params.release(embeddings_unit());

  for (int64_t l = 0; l < L; ++l) {
    const int unit = block_unit(static_cast<int>(l));
    const std::byte* p = bytes(params.acquire(unit, unit + 1));
    m.block_ln1(l, p, /*fuse_residual=*/true);
    m.block_body(l, p, /*mlp_out=*/true);
    params.release(unit);
  }

  const int lnf_unit = final_norm_unit(s);
  const std::byte* lnf = bytes(params.acquire(lnf_unit, embeddings_unit()));
  if (L > 0) {
    be.residual_layernorm_forward(a.residual3.at(L - 1), a.lnf.at(0), a.lnf_mean.at(0),
                                  a.lnf_rstd.at(0), a.residual2.at(m.slot(L - 1)), a.branch.at(0),
                                  lnf + off.lnf_w * m.A, lnf + off.lnf_b * m.A, BT, C);
  } else {
    be.layernorm_forward(a.lnf.at(0), a.lnf_mean.at(0), a.lnf_rstd.at(0), a.encoded.at(0),
                         lnf + off.lnf_w * m.A, lnf + off.lnf_b * m.A, BT, C);
  }
  params.release(lnf_unit);

  const std::byte* head = bytes(params.acquire(embeddings_unit(), -1));
  be.lm_head_forward(a.logits.at(0), a.lnf.at(0), head + off.wte * m.A, BT, C, V);
  params.release(embeddings_unit());

  const double loss_sum = be.softmax_xent_forward(a.lse.at(0), a.logits.at(0), targets_dev, BT, V);
  m.positions += BT;
  return LossSum{loss_sum, tokens};
}

void Gpt2Model::backward(double loss_scale, ParameterSource<void>& params,
                         GradientSink<void>& sink) {
  Impl& m = *impl_;
  if (m.B == 0) throw std::logic_error("Gpt2Model::backward: no forward() to differentiate");
  if (m.decoding) {
    throw std::logic_error("Gpt2Model::backward: a forward_cached() has no backward (decoding)");
  }
  if (m.logits_consumed) {
    throw std::logic_error("Gpt2Model::backward: the logits went into the last backward()");
  }
  const Gpt2Shape& s = m.layout.shape;
  const int64_t L = s.n_layer, C = s.n_embd, NH = s.n_head, V = s.vocab_size;
  const int64_t B = m.B, Tlen = m.Tlen, BT = B * Tlen;
  const detail::Gpt2Offsets& off = m.offsets;
  detail::Gpt2Activations& a = m.acts;
  ops::Backend& be = m.backend;
  const int lnf_unit = final_norm_unit(s);
  const auto* ids_dev = static_cast<const int32_t*>(a.tokens.at(0));
  const int32_t* targets_dev = ids_dev + BT;

  // Tied head and cross-entropy: the logits become their gradient in place; dln = d(ln_f out).
  {
    const std::byte* emb = bytes(params.acquire(embeddings_unit(), lnf_unit));
    std::byte* gemb = bytes(sink.gradients(embeddings_unit()));
    void* dlogits = m.keep_logits ? a.dlogits.at(0) : a.logits.at(0);
    m.logits_consumed = !m.keep_logits;
    be.softmax_xent_backward(dlogits, a.logits.at(0), a.lse.at(0), targets_dev, loss_scale, BT, V);
    be.lm_head_backward(a.dln.at(0), gemb + off.wte * m.G, dlogits, a.lnf.at(0),
                        emb + off.wte * m.A, BT, C, V);
    params.release(embeddings_unit());
  }

  // ln_f: the residual stream's gradient starts here.
  {
    const void* x = L > 0 ? a.residual3.at(L - 1) : a.encoded.at(0);
    const std::byte* p =
        bytes(params.acquire(lnf_unit, L > 0 ? block_unit(static_cast<int>(L - 1)) : -1));
    std::byte* g = bytes(sink.gradients(lnf_unit));
    be.device().fill_zero(a.dresidual.at(0), static_cast<size_t>(BT * C * m.A));
    be.layernorm_backward(a.dresidual.at(0), g + off.lnf_w * m.G, g + off.lnf_b * m.G, a.dln.at(0),
                          x, p + off.lnf_w * m.A, a.lnf_mean.at(0), a.lnf_rstd.at(0), BT, C);
    params.release(lnf_unit);
    sink.gradients_ready(lnf_unit);
  }

  void* dres = a.dresidual.at(0);
  for (int64_t l = L - 1; l >= 0; --l) {
    const int unit = block_unit(static_cast<int>(l));
    const int next = l > 0 ? unit - 1 : -1;
    const std::byte* p = bytes(params.acquire(unit, next));
    const auto w = detail::block_tensors(p, m.param_block);
    const auto g = detail::block_tensors(bytes(sink.gradients(unit)), m.grad_block);
    if (m.checkpointing) {  // refill the block's slot from its input, the kept checkpoint
      m.block_ln1(l, p, /*fuse_residual=*/false);
      m.block_body(l, p, /*mlp_out=*/false);
    }
    const int64_t k = m.slot(l);
    const void* x = m.block_input(l);

    // MLP branch: dres holds d(block output); afterwards d(res2).
    be.matmul_backward(a.dfch.at(0), g.fc_proj_w, g.fc_proj_b, dres, a.fch_gelu.at(k), w.fc_proj_w,
                       BT, 4 * C, C);
    be.gelu_backward(a.dfch.at(0), a.fch.at(k), a.dfch.at(0), BT * 4 * C);
    be.matmul_backward(a.dln.at(0), g.fc_w, g.fc_b, a.dfch.at(0), a.ln2.at(k), w.fc_w, BT, C,
                       4 * C);
    be.layernorm_backward(dres, g.ln2_w, g.ln2_b, a.dln.at(0), a.residual2.at(k), w.ln2_w,
                          a.ln2_mean.at(k), a.ln2_rstd.at(k), BT, C);
    // Attention branch: afterwards dres holds d(block input).
    be.matmul_backward(a.datty.at(0), g.attn_proj_w, g.attn_proj_b, dres, a.atty.at(k),
                       w.attn_proj_w, BT, C, C);
    be.attention_backward(a.dqkv.at(0), a.datty.at(0), a.qkv.at(k), a.atty.at(k), a.att_saved.at(k),
                          B, Tlen, C, NH);
    be.matmul_backward(a.dln.at(0), g.attn_w, g.attn_b, a.dqkv.at(0), a.ln1.at(k), w.attn_w, BT, C,
                       3 * C);
    be.layernorm_backward(dres, g.ln1_w, g.ln1_b, a.dln.at(0), x, w.ln1_w, a.ln1_mean.at(k),
                          a.ln1_rstd.at(k), BT, C);
    params.release(unit);
    sink.gradients_ready(unit);
  }

  std::byte* gemb = bytes(sink.gradients(embeddings_unit()));
  be.embedding_backward(gemb + off.wte * m.G, gemb + off.wpe * m.G, dres, ids_dev,
                        m.tokens_host.data(), B, Tlen, C, V);
  sink.gradients_ready(embeddings_unit());
}

}  // namespace zerotune::model
