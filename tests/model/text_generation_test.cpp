#include "zerotune/model/text_generation.hpp"

#include <boost/test/unit_test.hpp>
#include <cmath>
#include <vector>

#include "gpt2_fixtures.hpp"
#include "zerotune/ops/backend.hpp"

using namespace zerotune;
using namespace zerotune::model;

namespace {

class Resident : public ParameterSource<void> {
 public:
  explicit Resident(zerotune::testing::UnitBuffers<float>& params) : params_(params) {}
  const void* acquire(int unit, int) override { return params_[unit].data(); }
  void release(int) override {}

 private:
  zerotune::testing::UnitBuffers<float>& params_;
};

struct Decoded {
  std::vector<int32_t> ids;
  int64_t positions = 0;  // rows x tokens through the model
};

// Greedy decoding of a random GPT-2 with seq_len positions, with or without the KV cache. No
// end-of-text id (-1), so every run makes max_new tokens.
Decoded decode(bool kv_cache, int64_t seq_len, int64_t prompt_len, int64_t max_new) {
  const Gpt2Shape shape{2, 4, 32, seq_len, 61};
  auto backend = ops::make_cpu_backend(DType::kFloat32);
  Gpt2Options options;
  options.kv_cache = kv_cache;
  Gpt2Model model(shape, 1, *backend, options);
  // Large weights: sharp logits, so float rounding never flips an argmax.
  auto params = zerotune::testing::cast_buffers<float>(
      zerotune::testing::random_parameters(model.layout(), 31, 0.5));
  Resident units(params);
  std::vector<int32_t> prompt;
  for (int64_t i = 0; i < prompt_len; ++i) prompt.push_back(static_cast<int32_t>((7 * i + 3) % 61));
  TokenSampler greedy(SamplingSettings{});
  const Generation g = generate_tokens(model, units, prompt, max_new, -1, greedy);
  return {g.new_ids, model.positions_processed()};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(text_generation)

BOOST_AUTO_TEST_CASE(greedy_takes_the_first_largest_logit) {
  TokenSampler greedy(SamplingSettings{});
  const std::vector<float> logits = {0.5f, 2.0f, -1.0f, 2.0f};
  BOOST_TEST(greedy.next(logits.data(), 4) == 1);  // torch.argmax: the first maximum
}

BOOST_AUTO_TEST_CASE(top_k_one_and_tiny_top_p_are_greedy) {
  const std::vector<float> logits = {0.1f, 0.3f, 1.7f, 1.6f, -2.0f};
  TokenSampler k1(SamplingSettings{1.0, 1, 1.0, 9});
  TokenSampler p0(SamplingSettings{1.0, 0, 1e-6, 9});
  for (int i = 0; i < 50; ++i) {
    BOOST_TEST(k1.next(logits.data(), 5) == 2);
    BOOST_TEST(p0.next(logits.data(), 5) == 2);
  }
}

// Frequencies of 40000 draws against softmax(logits / T) worked out here, within 4 standard
// errors; top-k 2 never draws outside the two largest, and follows their renormalised odds.
BOOST_AUTO_TEST_CASE(sampling_follows_the_tempered_softmax) {
  const std::vector<float> logits = {1.0f, 0.0f, 2.0f, -1.0f};
  const double T = 0.7;
  std::vector<double> p(4);
  double sum = 0;
  for (int i = 0; i < 4; ++i) sum += p[i] = std::exp(logits[i] / T);
  for (double& v : p) v /= sum;
  const int n = 40000;
  std::vector<int> count(4);
  TokenSampler s(SamplingSettings{T, 0, 1.0, 42});
  for (int i = 0; i < n; ++i) ++count[s.next(logits.data(), 4)];
  for (int i = 0; i < 4; ++i) {
    const double se = std::sqrt(p[i] * (1 - p[i]) / n);
    BOOST_TEST(std::abs(count[i] / double(n) - p[i]) < 4 * se + 1e-9, "id " << i);
  }
  std::vector<int> top2(4);
  TokenSampler k2(SamplingSettings{T, 2, 1.0, 43});
  for (int i = 0; i < n; ++i) ++top2[k2.next(logits.data(), 4)];
  BOOST_TEST(top2[1] == 0);
  BOOST_TEST(top2[3] == 0);
  const double p2 = p[2] / (p[0] + p[2]);
  BOOST_TEST(std::abs(top2[2] / double(n) - p2) < 4 * std::sqrt(p2 * (1 - p2) / n));
}

BOOST_AUTO_TEST_CASE(same_seed_same_draws) {
  const std::vector<float> logits = {0.2f, 0.1f, 0.4f, 0.3f, 0.0f, 0.25f};
  TokenSampler a(SamplingSettings{1.0, 0, 0.9, 7}), b(SamplingSettings{1.0, 0, 0.9, 7});
  for (int i = 0; i < 100; ++i) BOOST_TEST(a.next(logits.data(), 6) == b.next(logits.data(), 6));
}

BOOST_AUTO_TEST_CASE(kv_cache_gives_the_tokens_of_the_full_forward) {
  const Decoded plain = decode(false, 64, 5, 40);
  const Decoded cached = decode(true, 64, 5, 40);
  BOOST_TEST(plain.ids.size() == 40u);
  BOOST_TEST(cached.ids == plain.ids);
  // Past the 16-position window both keep the last 16 tokens as the context.
  BOOST_TEST(decode(true, 16, 5, 30).ids == decode(false, 16, 5, 30).ids);
  BOOST_TEST(decode(true, 16, 20, 6).ids == decode(false, 16, 20, 6).ids);
}

// Work counted in positions through the model: with the cache the prompt once and one
// position per further token (P + N - 1 for N tokens), so doubling N adds N positions;
// without it every token runs the whole text again.
BOOST_AUTO_TEST_CASE(kv_cache_makes_the_work_per_token_constant) {
  const int64_t P = 6;
  for (int64_t n : {10, 20, 40}) {
    BOOST_TEST_CONTEXT("new tokens " << n) {
      BOOST_TEST(decode(true, 64, P, n).positions == P + n - 1);
      BOOST_TEST(decode(false, 64, P, n).positions == n * P + n * (n - 1) / 2);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
