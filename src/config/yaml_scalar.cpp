#include "zerotune/config/yaml_scalar.hpp"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <string_view>

namespace zerotune::config {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Advances `i` over digits; returns how many.
size_t skip_digits(std::string_view s, size_t& i) {
  const size_t start = i;
  while (i < s.size() && is_digit(s[i])) ++i;
  return i - start;
}

// [-+]? ( digits ( . digits* )? | . digits ) ( [eE] [-+]? digits )?
bool is_decimal_number(std::string_view s) {
  size_t i = 0;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
  const size_t int_digits = skip_digits(s, i);
  size_t frac_digits = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    frac_digits = skip_digits(s, i);
  }
  if (int_digits == 0 && frac_digits == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    if (skip_digits(s, i) == 0) return false;
  }
  return i == s.size();
}

// [-+]? digits
bool is_decimal_integer(std::string_view s) {
  size_t i = 0;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
  return skip_digits(s, i) > 0 && i == s.size();
}

// std::from_chars takes no leading '+'.
std::string_view without_plus(std::string_view s) {
  return !s.empty() && s[0] == '+' ? s.substr(1) : s;
}

template <class T>
bool parse_whole(std::string_view s, T& out) {
  T value{};
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size()) return false;
  out = value;
  return true;
}

// Words that some YAML reader (1.1 or 1.2) takes for a boolean or null when plain.
bool is_reserved_word(const std::string& s) {
  std::string lower;
  for (char c : s) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const char* word : {"true", "false", "yes", "no", "on", "off", "y", "n", "null"}) {
    if (lower == word) return true;
  }
  return false;
}

bool can_be_plain(const std::string& s) {
  if (s.empty() || is_reserved_word(s)) return false;
  const auto first = static_cast<unsigned char>(s[0]);
  if (!std::isalpha(first) && s[0] != '_' && s[0] != '/') return false;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (!std::isalnum(u) && c != '_' && c != '.' && c != '/' && c != '-') return false;
  }
  return true;
}

}  // namespace

bool read_scalar(const YamlNode& node, int64_t& out) {
  if (!node.is_scalar() || !node.plain || !is_decimal_integer(node.text)) return false;
  return parse_whole(without_plus(node.text), out);
}

bool read_scalar(const YamlNode& node, uint64_t& out) {
  if (!node.is_scalar() || !node.plain || !is_decimal_integer(node.text)) return false;
  if (node.text[0] == '-') return false;
  return parse_whole(without_plus(node.text), out);
}

bool read_scalar(const YamlNode& node, double& out) {
  if (!node.is_scalar() || !node.plain || !is_decimal_number(node.text)) return false;
  double value = 0.0;
  if (!parse_whole(without_plus(node.text), value) || !std::isfinite(value)) return false;
  out = value;
  return true;
}

bool read_scalar(const YamlNode& node, bool& out) {
  if (!node.is_scalar() || !node.plain) return false;
  const std::string& t = node.text;
  if (t == "true" || t == "True" || t == "TRUE") {
    out = true;
    return true;
  }
  if (t == "false" || t == "False" || t == "FALSE") {
    out = false;
    return true;
  }
  return false;
}

bool read_scalar(const YamlNode& node, std::string& out) {
  if (!node.is_scalar()) return false;
  out = node.is_null() ? std::string() : node.text;
  return true;
}

std::string format_scalar(int64_t value) { return std::to_string(value); }

std::string format_scalar(uint64_t value) { return std::to_string(value); }

std::string format_scalar(double value) {
  char buffer[64];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), value);
  std::string text(buffer, ec == std::errc() ? end : buffer);
  // "2" would read back as an integer-looking number; keep doubles visibly doubles.
  if (text.find_first_of(".eEn") == std::string::npos) text += ".0";
  return text;
}

std::string format_scalar(bool value) { return value ? "true" : "false"; }

std::string format_scalar(const std::string& value) {
  if (can_be_plain(value)) return value;
  std::string out = "\"";
  for (char c : value) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          char escape[8];
          std::snprintf(escape, sizeof(escape), "\\x%02x", static_cast<unsigned char>(c));
          out += escape;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

bool read_scalar(const YamlNode& node, std::vector<std::string>& out) {
  if (node.is_null()) {
    out.clear();
    return true;
  }
  if (!node.is_sequence()) return false;
  std::vector<std::string> items;
  for (const YamlNode& item : node.items) {
    std::string text;
    if (!item.is_scalar() || !read_scalar(item, text)) return false;
    items.push_back(std::move(text));
  }
  out = std::move(items);
  return true;
}

std::string format_scalar(const std::vector<std::string>& values) {
  std::string out = "[";
  // A plain item holds none of ",[]{}", so it reads back the same inside the brackets.
  for (size_t i = 0; i < values.size(); ++i) out += (i ? ", " : "") + format_scalar(values[i]);
  return out + "]";
}

}  // namespace zerotune::config
