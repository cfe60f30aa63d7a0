#include "zerotune/model/text_generation.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

namespace zerotune::model {

TokenSampler::TokenSampler(const SamplingSettings& settings)
    : settings_(settings), rng_(settings.seed) {}

int32_t TokenSampler::next(const float* logits, int64_t vocab_size) {
  if (settings_.temperature <= 0) {
    return static_cast<int32_t>(std::max_element(logits, logits + vocab_size) - logits);
  }
  // Candidates by descending logit (ties: lower id first), cut to top_k.
  std::vector<int32_t> order(vocab_size);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int32_t a, int32_t b) { return logits[a] > logits[b]; });
  if (settings_.top_k > 0 && settings_.top_k < vocab_size) order.resize(settings_.top_k);
  std::vector<double> p(order.size());
  const double top = logits[order[0]] / settings_.temperature;
  double sum = 0;
  for (size_t i = 0; i < order.size(); ++i) {
    p[i] = std::exp(logits[order[i]] / settings_.temperature - top);
    sum += p[i];
  }
  for (double& v : p) v /= sum;
  if (settings_.top_p < 1.0) {
    // Smallest prefix with cumulative probability >= top_p (at least one token).
    double cumulative = 0;
    size_t keep = 0;
    while (keep < p.size() && (keep == 0 || cumulative < settings_.top_p)) cumulative += p[keep++];
    p.resize(keep);
    order.resize(keep);
    for (double& v : p) v /= cumulative;
  }
  // u in [0, 1) from the top 53 bits.
  const double u = static_cast<double>(rng_() >> 11) * 0x1.0p-53;
  double cumulative = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    cumulative += p[i];
    if (u < cumulative) return order[i];
  }
  return order.back();
}

Generation generate_tokens(Gpt2Model& model, ParameterSource<void>& params,
                           const std::vector<int32_t>& prompt, int64_t max_new_tokens,
                           int32_t eos_token_id, TokenSampler& sampler) {
  if (prompt.empty()) throw std::invalid_argument("generate_tokens: empty prompt");
  const Gpt2Shape& s = model.layout().shape;
  if (model.backend().compute_dtype() != DType::kFloat32) {
    throw std::invalid_argument("generate_tokens: the model must compute in fp32");
  }
  std::vector<int32_t> text = prompt;
  std::vector<float> last(static_cast<size_t>(s.vocab_size));
  Generation out;
  const bool cached = model.has_kv_cache();
  const int64_t window = cached ? std::min(s.seq_len, model.max_tokens()) : s.seq_len;
  if (cached) model.reset_cache();
  int64_t fresh = static_cast<int64_t>(text.size());  // tokens not yet through the model
  for (int64_t n = 0; n < max_new_tokens; ++n) {
    int64_t len = 0;
    if (cached) {
      // Past the window the cache starts again from the last `window` tokens, which is what
      // the plain path computes for every token.
      if (model.cached_tokens() + fresh > window) {
        model.reset_cache();
        fresh = std::min<int64_t>(static_cast<int64_t>(text.size()), window);
      }
      len = fresh;
      model.forward_cached(text.data() + text.size() - len, 1, len, params);
    } else {
      len = std::min<int64_t>(static_cast<int64_t>(text.size()), s.seq_len);
      model.forward(text.data() + text.size() - len, nullptr, 1, len, params);
    }
    const auto* logits = static_cast<const float*>(model.logits());
    model.backend().device().copy(last.data(), logits + (len - 1) * model.logits_stride(),
                                  last.size() * sizeof(float));
    const int32_t id = sampler.next(last.data(), s.vocab_size);
    if (id == eos_token_id) {
      out.stopped_at_eos = true;
      break;
    }
    out.new_ids.push_back(id);
    text.push_back(id);
    fresh = 1;
  }
  return out;
}

}  // namespace zerotune::model
