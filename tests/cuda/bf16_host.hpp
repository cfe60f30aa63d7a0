// bfloat16 on the host, for the kernel tests: the top 16 bits of an IEEE float, rounded to
// nearest even (what __float2bfloat16_rn does on the device). NaN stays a quiet NaN.
#pragma once

#include <cstdint>
#include <cstring>

namespace zerotune::testing {

inline uint16_t float_to_bf16_bits(float value) {
  uint32_t bits = 0;
  std::memcpy(&bits, &value, sizeof(bits));
  if ((bits & 0x7fffffffu) > 0x7f800000u) return uint16_t((bits >> 16) | 0x0040u);
  // Adding 0x7fff plus the lowest kept bit rounds half-way cases to the even neighbour.
  bits += 0x7fffu + ((bits >> 16) & 1u);
  return uint16_t(bits >> 16);
}

inline float bf16_bits_to_float(uint16_t value) {
  const uint32_t bits = uint32_t(value) << 16;
  float f = 0.f;
  std::memcpy(&f, &bits, sizeof(f));
  return f;
}

inline float round_to_bf16(float value) { return bf16_bits_to_float(float_to_bf16_bits(value)); }

}  // namespace zerotune::testing
