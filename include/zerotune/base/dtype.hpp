// Element types of parameters, activations and gradients. The CPU backend computes in
// kFloat32 (kFloat64 for finite-difference checks); the GPU backend in kBFloat16, kFloat16
// or kFloat32, with fp32 master weights, optimizer state and gradient accumulators.
// Header-only and C++17, so CUDA translation units include it too.
#pragma once

#include <cstddef>
#include <cstdint>

namespace zerotune {

enum class DType : int32_t { kFloat32, kFloat64, kBFloat16, kFloat16 };

constexpr size_t dtype_bytes(DType t) {
  switch (t) {
    case DType::kFloat64:
      return 8;
    case DType::kBFloat16:
    case DType::kFloat16:
      return 2;
    case DType::kFloat32:
      break;
  }
  return 4;
}

// The names train.precision uses: "fp32", "fp64", "bf16", "fp16".
constexpr const char* dtype_name(DType t) {
  switch (t) {
    case DType::kFloat64:
      return "fp64";
    case DType::kBFloat16:
      return "bf16";
    case DType::kFloat16:
      return "fp16";
    case DType::kFloat32:
      break;
  }
  return "fp32";
}

// dtype_name's inverse for train.precision and zero.reduce_dtype; fp32 for anything else
// (the config has already refused other names).
inline DType dtype_from_name(const char* name) {
  const auto is = [name](const char* s) {
    for (size_t i = 0;; ++i) {
      if (name[i] != s[i]) return false;
      if (s[i] == 0) return true;
    }
  };
  if (is("bf16")) return DType::kBFloat16;
  if (is("fp16")) return DType::kFloat16;
  if (is("fp64")) return DType::kFloat64;
  return DType::kFloat32;
}

}  // namespace zerotune
