// What a config field accepts beyond its type. Each check says whether a value passes and
// describes what it accepts, given the type's noun ("integer", "number", "string"):
// "positive integer", "integer in 0..3", "one of fp32, bf16, fp16". The reader puts that in
// "expected a positive integer, got ..."; the reference prints it in the type column.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace zerotune::config {

// The noun for a field's C++ type.
template <class T>
constexpr std::string_view type_noun();
template <>
constexpr std::string_view type_noun<int64_t>() {
  return "integer";
}
template <>
constexpr std::string_view type_noun<uint64_t>() {
  return "non-negative integer";
}
template <>
constexpr std::string_view type_noun<double>() {
  return "number";
}
template <>
constexpr std::string_view type_noun<bool>() {
  return "boolean (true or false)";
}
template <>
constexpr std::string_view type_noun<std::string>() {
  return "string";
}
template <>
constexpr std::string_view type_noun<std::vector<std::string>>() {
  return "list of strings";
}

// "a positive integer", "an integer in 0..3", "one of fp32, bf16": for "expected ...".
inline std::string with_article(const std::string& phrase) {
  if (phrase.starts_with("one of")) return phrase;
  const bool vowel =
      !phrase.empty() && std::string_view("aeiou").find(phrase[0]) != std::string_view::npos;
  return (vowel ? "an " : "a ") + phrase;
}

struct AnyValue {
  template <class T>
  bool accepts(const T&) const {
    return true;
  }
  std::string describe(std::string_view noun) const { return std::string(noun); }
};

// "<= max" in a description, when a field has an upper bound.
inline constexpr int64_t kUnbounded = std::numeric_limits<int64_t>::max();
inline std::string upper_bound_text(int64_t max) {
  return max == kUnbounded ? "" : " <= " + std::to_string(max);
}
template <class T>
bool within(const T& v, int64_t max) {
  return max == kUnbounded || v <= static_cast<T>(max);
}

// > 0, and at most `max` where a larger value would exhaust memory, overflow a product of
// fields or make a loop pointless; the bound is part of the documented type.
struct Positive {
  int64_t max = kUnbounded;
  template <class T>
  bool accepts(const T& v) const {
    return v > 0 && within(v, max);
  }
  std::string describe(std::string_view noun) const {
    return "positive " + std::string(noun) + upper_bound_text(max);
  }
};

// >= 0, and at most `max` (see Positive).
struct NonNegative {
  int64_t max = kUnbounded;
  template <class T>
  bool accepts(const T& v) const {
    return v >= 0 && within(v, max);
  }
  std::string describe(std::string_view noun) const {
    return "non-negative " + std::string(noun) + upper_bound_text(max);
  }
};

// An integer in lo..hi, both included.
struct IntRange {
  int64_t lo;
  int64_t hi;
  bool accepts(int64_t v) const { return v >= lo && v <= hi; }
  std::string describe(std::string_view noun) const {
    return std::string(noun) + " in " + std::to_string(lo) + ".." + std::to_string(hi);
  }
};

// A number in [0, 1], or [0, 1) where 1 is not allowed (Adam's betas: 1 - beta^t would be 0).
struct Fraction {
  bool one_allowed;
  bool accepts(double v) const { return v >= 0.0 && (one_allowed ? v <= 1.0 : v < 1.0); }
  std::string describe(std::string_view noun) const {
    return std::string(noun) + (one_allowed ? " in [0, 1]" : " in [0, 1)");
  }
};

struct OneOf {
  std::vector<std::string_view> choices;
  bool accepts(const std::string& v) const {
    for (std::string_view c : choices) {
      if (v == c) return true;
    }
    return false;
  }
  std::string describe(std::string_view) const {
    std::string out = "one of ";
    for (size_t i = 0; i < choices.size(); ++i) {
      out += (i ? ", " : "") + std::string(choices[i]);
    }
    return out;
  }
};

struct NonEmpty {
  bool accepts(const std::string& v) const { return !v.empty(); }
  std::string describe(std::string_view noun) const { return "non-empty " + std::string(noun); }
};

// A list (possibly empty) whose every item is a non-empty string: file names.
struct NonEmptyItems {
  bool accepts(const std::vector<std::string>& v) const {
    for (const std::string& item : v) {
      if (item.empty()) return false;
    }
    return true;
  }
  std::string describe(std::string_view) const { return "list of non-empty strings"; }
};

// A name that becomes part of a file name after runtime::run_dir_stem() replaces the bytes a
// file name should not hold: non-empty, and short enough that "<name>-<job id>" stays within
// the 255 bytes a file name can have.
struct FileNamePart {
  size_t max_bytes;
  bool accepts(const std::string& v) const { return !v.empty() && v.size() <= max_bytes; }
  std::string describe(std::string_view noun) const {
    return "non-empty " + std::string(noun) + " of at most " + std::to_string(max_bytes) + " bytes";
  }
};

}  // namespace zerotune::config
