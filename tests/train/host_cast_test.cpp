// host_cast_from_float against the portable converters of model/half_float.hpp (the rounding
// Hugging Face exports use, checked there against known bit patterns): the same bits for every
// finite value and infinity, over random bit patterns, the format's edges and exact ties, at
// lengths and offsets that leave tails beside the 8-wide vector path; a NaN stays a NaN.
#include "zerotune/train/host_cast.hpp"

#include <algorithm>
#include <bit>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "zerotune/model/half_float.hpp"

using namespace zerotune;

namespace {

float from_bits(uint32_t bits) { return std::bit_cast<float>(bits); }

// Values on both sides of fp16's and bf16's edges, each with both signs.
std::vector<float> edge_values() {
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<float> magnitudes = {
      0.0f,
      std::numeric_limits<float>::denorm_min(),
      std::numeric_limits<float>::min(),
      std::numeric_limits<float>::max(),
      inf,
      1.0f,
      65504.0f,                        // fp16's largest finite
      65519.0f,                        // below the halfway point to 65536: 65504
      std::nextafter(65520.0f, 0.0f),  // just below it: 65504
      65520.0f,                        // halfway, ties to even: infinity
      std::ldexp(1.0f, -14),           // fp16's smallest normal
      std::nextafter(std::ldexp(1.0f, -14), 0.0f),
      std::ldexp(1.0f, -14) - std::ldexp(1.0f, -25),  // halfway between it and 1023 * 2^-24
      std::ldexp(1023.0f, -24),                       // fp16's largest subnormal
      std::ldexp(1.0f, -24),                          // fp16's smallest subnormal
      std::ldexp(1.0f, -25),                          // halfway to it: 0
      std::nextafter(std::ldexp(1.0f, -25), 1.0f),    // just above halfway: 2^-24
      std::ldexp(3.0f, -25),                          // 1.5 * 2^-24: ties to 2 * 2^-24
      std::ldexp(5.0f, -25),                          // 2.5 * 2^-24: ties to 2 * 2^-24
      std::ldexp(1.0f, -26),
      1.0f + std::ldexp(1.0f, -11),  // fp16 tie to 1.0
      1.0f + std::ldexp(3.0f, -11),  // fp16 tie up to 1 + 2^-9
      1.0f + std::ldexp(1.0f, -8),   // bf16 tie to 1.0
      1.0f + std::ldexp(3.0f, -8),   // bf16 tie up
      from_bits(0x7f7f8000u),        // bf16 tie above its largest finite: infinity
      from_bits(0x7f7f7fffu),        // just below it: the largest finite
      from_bits(0x007f8000u),        // a float subnormal on a bf16 tie
  };
  std::vector<float> values;
  for (float x : magnitudes) {
    values.push_back(x);
    values.push_back(-x);
  }
  return values;
}

// ~1M finite values: uniform bit patterns (mostly outside fp16's range), patterns with
// exponents around fp16's range, fp16 ties (normal and subnormal), bf16 ties, then the edges.
// The length is odd, so the 8-wide path leaves a tail.
std::vector<float> test_values() {
  std::mt19937 rng(20240611);
  std::uniform_int_distribution<uint32_t> bits32;
  std::vector<float> values;
  const int kEach = 300'000;
  while (values.size() < static_cast<size_t>(kEach)) {
    const uint32_t b = bits32(rng);
    if ((b & 0x7f800000u) != 0x7f800000u) values.push_back(from_bits(b));
  }
  std::uniform_int_distribution<uint32_t> near_half_exponent(100, 150);  // 2^-27 .. 2^23
  for (int i = 0; i < kEach; ++i) {
    const uint32_t b = bits32(rng);
    values.push_back(from_bits((b & 0x807fffffu) | (near_half_exponent(rng) << 23)));
  }
  std::uniform_int_distribution<uint32_t> normal_half_exponent(113, 142);  // 2^-14 .. 2^15
  for (int i = 0; i < kEach / 2; ++i) {  // the 13 dropped bits exactly halfway
    const uint32_t b = bits32(rng);
    values.push_back(from_bits((b & 0x807fe000u) | 0x1000u | (normal_half_exponent(rng) << 23)));
  }
  std::uniform_int_distribution<int> half_subnormal_step(0, 1023);
  for (int i = 0; i < kEach / 2; ++i) {  // (k + 1/2) * 2^-24: subnormal ties
    const float x = std::ldexp(static_cast<float>(half_subnormal_step(rng)) + 0.5f, -24);
    values.push_back(bits32(rng) & 1u ? -x : x);
  }
  for (int i = 0; i < kEach / 4; ++i) {  // bf16 ties: the 16 dropped bits exactly halfway
    const uint32_t b = (bits32(rng) & 0xffff0000u) | 0x8000u;
    if ((b & 0x7f800000u) != 0x7f800000u) values.push_back(from_bits(b));
  }
  for (float x : edge_values()) values.push_back(x);
  if (values.size() % 2 == 0) values.push_back(0.5f);
  return values;
}

using Reference = uint16_t (*)(float);

// Casts `values` in one call and again in pieces of 1..23 values (so every piece start and
// tail length occurs), and compares both with the reference bit for bit. Reports the first
// difference.
void check_against_reference(const std::vector<float>& values, DType dtype, Reference reference) {
  const int64_t n = static_cast<int64_t>(values.size());
  BOOST_REQUIRE(n % 8 != 0);
  std::vector<uint16_t> expected(n);
  for (int64_t i = 0; i < n; ++i) expected[i] = reference(values[i]);

  std::vector<uint16_t> whole(n, 0xdead);
  train::host_cast_from_float(whole.data(), values.data(), n, dtype);
  std::vector<uint16_t> pieces(n, 0xdead);
  for (int64_t at = 0, len = 1; at < n; at += len, len = len % 23 + 1) {
    const int64_t count = std::min(len, n - at);
    train::host_cast_from_float(pieces.data() + at, values.data() + at, count, dtype);
  }

  for (const auto* got : {&whole, &pieces}) {
    int64_t differing = 0;
    int64_t first = -1;
    for (int64_t i = 0; i < n; ++i) {
      if ((*got)[i] != expected[i]) {
        if (first < 0) first = i;
        ++differing;
      }
    }
    char detail[160] = "";
    if (first >= 0) {
      std::snprintf(detail, sizeof detail,
                    "%lld of %lld differ; first: input 0x%08x got 0x%04x expected 0x%04x",
                    static_cast<long long>(differing), static_cast<long long>(n),
                    std::bit_cast<uint32_t>(values[first]), (*got)[first], expected[first]);
    }
    BOOST_TEST(differing == 0, (got == &whole ? "one call: " : "in pieces: ") << detail);
  }
}

// NaNs of both signs, quiet and signalling, with payloads only in the low bits (which a
// truncating conversion would turn into infinity), among finite values.
std::vector<float> nan_values() {
  std::vector<float> values;
  for (uint32_t bits : {0x7fc00000u, 0xffc00000u, 0x7f800001u, 0xff800001u, 0x7f802000u,
                        0x7fa00000u, 0x7fffffffu, 0xffffffffu, 0x7f800100u}) {
    values.push_back(from_bits(bits));
    values.push_back(1.0f);
  }
  values.push_back(from_bits(0x7f800001u));  // in the tail too
  return values;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(host_cast)

BOOST_AUTO_TEST_CASE(fp16_matches_portable_float_to_half) {
  check_against_reference(test_values(), DType::kFloat16, &model::float_to_half);
}

BOOST_AUTO_TEST_CASE(bf16_matches_portable_float_to_bf16) {
  check_against_reference(test_values(), DType::kBFloat16, &model::float_to_bf16);
}

BOOST_AUTO_TEST_CASE(nan_stays_nan) {
  const std::vector<float> values = nan_values();
  const int64_t n = static_cast<int64_t>(values.size());
  std::vector<uint16_t> half(n), bf16(n);
  train::host_cast_from_float(half.data(), values.data(), n, DType::kFloat16);
  train::host_cast_from_float(bf16.data(), values.data(), n, DType::kBFloat16);
  for (int64_t i = 0; i < n; ++i) {
    if (!std::isnan(values[i])) continue;
    const uint32_t in = std::bit_cast<uint32_t>(values[i]);
    BOOST_TEST(((half[i] & 0x7c00u) == 0x7c00u && (half[i] & 0x03ffu) != 0),
               "fp16 of 0x" << std::hex << in << " is 0x" << half[i] << ", not a NaN");
    BOOST_TEST(((bf16[i] & 0x7f80u) == 0x7f80u && (bf16[i] & 0x007fu) != 0),
               "bf16 of 0x" << std::hex << in << " is 0x" << bf16[i] << ", not a NaN");
  }
}

BOOST_AUTO_TEST_SUITE_END()
