#include "zerotune/ops/attention.hpp"

#include <boost/test/unit_test.hpp>

#include "gradcheck.hpp"

using namespace zerotune::ops;
using namespace zerotune::testing;

BOOST_AUTO_TEST_SUITE(attention)

namespace {
constexpr int64_t B = 2, T = 5, C = 12, NH = 3, HD = C / NH;

// Straight from the definition, one (b, h, t) at a time, no BLAS.
std::vector<double> naive_attention(const std::vector<double>& qkv) {
  std::vector<double> out(B * T * C, 0.0);
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t h = 0; h < NH; ++h) {
      for (int64_t t = 0; t < T; ++t) {
        const double* q = &qkv[(b * T + t) * 3 * C + h * HD];
        std::vector<double> w(t + 1);
        double total = 0.0;
        for (int64_t s = 0; s <= t; ++s) {
          const double* k = &qkv[(b * T + s) * 3 * C + C + h * HD];
          double dot = 0.0;
          for (int64_t i = 0; i < HD; ++i) dot += q[i] * k[i];
          w[s] = std::exp(dot / std::sqrt(double(HD)));
          total += w[s];
        }
        for (int64_t s = 0; s <= t; ++s) {
          const double* v = &qkv[(b * T + s) * 3 * C + 2 * C + h * HD];
          for (int64_t i = 0; i < HD; ++i) out[(b * T + t) * C + h * HD + i] += w[s] / total * v[i];
        }
      }
    }
  }
  return out;
}
}  // namespace

BOOST_AUTO_TEST_CASE(forward_matches_definition_with_causal_mask) {
  std::mt19937_64 rng(20);
  const auto qkv = random_vector(B * T * 3 * C, rng, -2.0, 2.0);
  auto out = nan_vector(B * T * C), att = nan_vector(B * NH * T * T);
  attention_forward(out.data(), att.data(), qkv.data(), B, T, C, NH);
  BOOST_TEST(max_relative_error(out, naive_attention(qkv)) < 1e-13);
  for (int64_t bh = 0; bh < B * NH; ++bh) {
    for (int64_t t = 0; t < T; ++t) {
      double row = 0.0;
      for (int64_t s = 0; s < T; ++s) {
        const double p = att[(bh * T + t) * T + s];
        if (s > t) BOOST_TEST(p == 0.0);
        row += p;
      }
      BOOST_TEST(std::abs(row - 1.0) < 1e-14);
    }
  }
}

BOOST_AUTO_TEST_CASE(first_position_attends_only_to_itself) {
  std::mt19937_64 rng(21);
  const auto qkv = random_vector(B * T * 3 * C, rng, -2.0, 2.0);
  std::vector<double> out(B * T * C), att(B * NH * T * T);
  attention_forward(out.data(), att.data(), qkv.data(), B, T, C, NH);
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t c = 0; c < C; ++c) {
      BOOST_TEST(out[b * T * C + c] == qkv[b * T * 3 * C + 2 * C + c]);
    }
  }
}

BOOST_AUTO_TEST_CASE(changing_a_future_token_leaves_earlier_outputs_unchanged) {
  std::mt19937_64 rng(22);
  const auto qkv = random_vector(B * T * 3 * C, rng, -2.0, 2.0);
  std::vector<double> out(B * T * C), att(B * NH * T * T);
  attention_forward(out.data(), att.data(), qkv.data(), B, T, C, NH);
  const int64_t future = 3;
  auto changed = qkv;
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t i = 0; i < 3 * C; ++i) changed[(b * T + future) * 3 * C + i] += 0.5 + i;
  }
  std::vector<double> out2(B * T * C), att2(B * NH * T * T);
  attention_forward(out2.data(), att2.data(), changed.data(), B, T, C, NH);
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t t = 0; t < T; ++t) {
      bool same = true;
      for (int64_t c = 0; c < C; ++c)
        same = same && out[(b * T + t) * C + c] == out2[(b * T + t) * C + c];
      BOOST_TEST(same == (t < future), "b=" << b << " t=" << t);
    }
  }
}

BOOST_AUTO_TEST_CASE(backward_matches_finite_differences) {
  std::mt19937_64 rng(23);
  auto qkv = random_vector(B * T * 3 * C, rng, -1.5, 1.5);
  const auto dout = random_vector(B * T * C, rng);
  std::vector<double> out(B * T * C), att(B * NH * T * T);
  auto loss = [&] {
    attention_forward(out.data(), att.data(), qkv.data(), B, T, C, NH);
    return weighted_sum(dout, out.data());
  };
  loss();
  auto dqkv = nan_vector(B * T * 3 * C), scratch = nan_vector(T * T);
  attention_backward(dqkv.data(), scratch.data(), dout.data(), qkv.data(), att.data(), B, T, C, NH);
  BOOST_TEST(max_relative_error(dqkv, numerical_gradient(qkv, loss)) < 1e-7);
}

BOOST_AUTO_TEST_CASE(float_matches_double) {
  std::mt19937_64 rng(24);
  const auto qkv = random_vector(B * T * 3 * C, rng, -2.0, 2.0);
  const auto dout = random_vector(B * T * C, rng);
  std::vector<double> out(B * T * C), att(B * NH * T * T), dqkv(B * T * 3 * C), scratch(T * T);
  attention_forward(out.data(), att.data(), qkv.data(), B, T, C, NH);
  attention_backward(dqkv.data(), scratch.data(), dout.data(), qkv.data(), att.data(), B, T, C, NH);
  std::vector<float> qkvf(qkv.begin(), qkv.end()), doutf(dout.begin(), dout.end());
  std::vector<float> outf(out.size()), attf(att.size()), dqkvf(dqkv.size()), scratchf(T * T);
  attention_forward(outf.data(), attf.data(), qkvf.data(), B, T, C, NH);
  attention_backward(dqkvf.data(), scratchf.data(), doutf.data(), qkvf.data(), attf.data(), B, T, C,
                     NH);
  BOOST_TEST(max_relative_error(std::vector<double>(outf.begin(), outf.end()), out) < 1e-5);
  BOOST_TEST(max_relative_error(std::vector<double>(dqkvf.begin(), dqkvf.end()), dqkv) < 1e-5);
}

// Decoding with a KV cache: the positions fed in pieces (2, then 1, then 2) give the rows the
// definition gives for the whole sequence, and the cache ends up holding every position's k
// and v.
BOOST_AUTO_TEST_CASE(cached_forward_in_pieces_matches_the_definition) {
  std::mt19937_64 rng(25);
  const auto qkv = random_vector(B * T * 3 * C, rng, -2.0, 2.0);
  const auto want = naive_attention(qkv);
  const int64_t maxT = T + 2;  // room to spare: the cache's stride is maxT, not T
  auto kv = nan_vector(B * 2 * maxT * C);
  std::vector<double> out(B * T * C);
  int64_t past = 0;
  for (int64_t piece : {2, 1, 2}) {
    std::vector<double> q(B * piece * 3 * C), o = nan_vector(B * piece * C);
    for (int64_t b = 0; b < B; ++b) {
      std::copy_n(&qkv[(b * T + past) * 3 * C], piece * 3 * C, &q[b * piece * 3 * C]);
    }
    attention_forward_cached(o.data(), kv.data(), q.data(), B, past, piece, maxT, C, NH);
    for (int64_t b = 0; b < B; ++b) {
      std::copy_n(&o[b * piece * C], piece * C, &out[(b * T + past) * C]);
    }
    past += piece;
  }
  BOOST_TEST(max_relative_error(out, want) < 1e-13);
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t t = 0; t < T; ++t) {
      for (int64_t c = 0; c < C; ++c) {
        BOOST_TEST(kv[(b * 2 * maxT + t) * C + c] == qkv[(b * T + t) * 3 * C + C + c]);
        BOOST_TEST(kv[((b * 2 + 1) * maxT + t) * C + c] == qkv[(b * T + t) * 3 * C + 2 * C + c]);
      }
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
