// The host bf16/fp16 conversions the kernel tests build their data with, against values
// fixed by IEEE 754 (binary16) and bfloat16's definition. Runs without a GPU.
#include <boost/test/unit_test.hpp>
#include <cmath>

#include "kernel_test_support.hpp"

using namespace zerotune::cuda_test;

BOOST_AUTO_TEST_SUITE(host_rounding)

BOOST_AUTO_TEST_CASE(half_conversion_rounds_to_nearest_even) {
  BOOST_TEST(float_to_half(1.f) == 0x3c00);
  BOOST_TEST(float_to_half(-2.f) == 0xc000);
  BOOST_TEST(float_to_half(65504.f) == 0x7bff);
  BOOST_TEST(float_to_half(65520.f) == 0x7c00);                         // rounds to inf
  BOOST_TEST(float_to_half(1.f + std::ldexp(1.f, -11)) == 0x3c00);      // tie to even
  BOOST_TEST(float_to_half(1.f + 3 * std::ldexp(1.f, -11)) == 0x3c02);  // tie to even (up)
  BOOST_TEST(float_to_half(std::ldexp(1.f, -24)) == 0x0001);            // smallest subnormal
  BOOST_TEST(float_to_half(std::ldexp(1.f, -14)) == 0x0400);            // smallest normal
  size_t bad = 0;
  for (uint32_t h = 0; h < 0x10000; ++h) {
    if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff)) continue;  // NaN payloads
    bad += float_to_half(half_to_float(static_cast<uint16_t>(h))) != h;
  }
  BOOST_TEST(bad == 0u);
}

BOOST_AUTO_TEST_CASE(bf16_conversion_rounds_to_nearest_even) {
  BOOST_TEST(float_to_bf16(1.f) == 0x3f80);
  BOOST_TEST(float_to_bf16(1.f + std::ldexp(1.f, -8)) == 0x3f80);      // tie to even
  BOOST_TEST(float_to_bf16(1.f + 3 * std::ldexp(1.f, -8)) == 0x3f82);  // tie to even (up)
  BOOST_TEST(float_to_bf16(-3.f) == 0xc040);
  BOOST_TEST(std::isnan(bf16_to_float(float_to_bf16(NAN))));
  BOOST_TEST(bf16_to_float(0x3fc0) == 1.5f);
}

BOOST_AUTO_TEST_SUITE_END()
