// float to the 16-bit formats Hugging Face checkpoints ship in, rounding to nearest even as
// PyTorch's tensor.to(torch.bfloat16 / torch.float16) does. (The reverse, exact, is in
// safetensors.cpp.)
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>

namespace zerotune::model {

// bfloat16 keeps a float's sign and 8-bit exponent and the top 7 of its 23 mantissa bits.
inline uint16_t float_to_bf16(float value) {
  uint32_t bits = std::bit_cast<uint32_t>(value);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x40u);
  bits += 0x7fffu + ((bits >> 16) & 1u);  // round to nearest, ties to even
  return static_cast<uint16_t>(bits >> 16);
}

// IEEE binary16: 5-bit exponent (bias 15), 10-bit mantissa; largest finite 65504, values
// from 65520 up round to infinity; below 2^-14 subnormal in steps of 2^-24.
inline uint16_t float_to_half(float value) {
  uint32_t bits = std::bit_cast<uint32_t>(value);
  const auto sign = static_cast<uint16_t>((bits >> 16) & 0x8000u);
  bits &= 0x7fffffffu;
  if (bits > 0x7f800000u) return sign | 0x7e00u;   // NaN
  if (bits >= 0x477ff000u) return sign | 0x7c00u;  // 65520 and above: infinity
  if (bits < 0x38800000u) {                        // below 2^-14: subnormal (or zero)
    // value * 2^24 is exact in float; nearbyint rounds it to even in the default mode.
    const float scaled = std::bit_cast<float>(bits) * 16777216.0f;
    return sign | static_cast<uint16_t>(std::nearbyint(scaled));
  }
  bits += 0xfffu + ((bits >> 13) & 1u);  // round the 13 dropped bits to nearest even
  return sign | static_cast<uint16_t>((bits - (112u << 23)) >> 13);
}

}  // namespace zerotune::model
