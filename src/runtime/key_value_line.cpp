#include "zerotune/runtime/key_value_line.hpp"

#include <cctype>

namespace zerotune::runtime {

namespace {

bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

bool is_key_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
}

// Reads a double-quoted value starting at line[i] == '"'; advances i past the closing quote.
std::optional<std::string> quoted_value(std::string_view line, size_t& i) {
  std::string value;
  for (++i; i < line.size(); ++i) {
    if (line[i] == '"') {
      ++i;
      return value;
    }
    if (line[i] == '\\' && i + 1 < line.size()) ++i;
    value += line[i];
  }
  return std::nullopt;
}

}  // namespace

const std::string* KeyValueLine::find(std::string_view key) const {
  for (const auto& [k, v] : fields) {
    if (k == key) return &v;
  }
  return nullptr;
}

std::optional<KeyValueLine> parse_key_value_line(std::string_view line) {
  KeyValueLine out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && is_space(line[i])) ++i;
    if (i == line.size()) break;
    size_t key_end = i;
    while (key_end < line.size() && is_key_char(line[key_end])) ++key_end;
    if (key_end > i && key_end < line.size() && line[key_end] == '=') {
      std::string key(line.substr(i, key_end - i));
      i = key_end + 1;
      std::string value;
      if (i < line.size() && line[i] == '"') {
        auto quoted = quoted_value(line, i);
        if (!quoted) return std::nullopt;
        value = std::move(*quoted);
      } else {
        const size_t start = i;
        while (i < line.size() && !is_space(line[i])) ++i;
        value = std::string(line.substr(start, i - start));
      }
      out.fields.emplace_back(std::move(key), std::move(value));
      continue;
    }
    // A word that is not a field: the tag when no field has been seen yet.
    const size_t start = i;
    while (i < line.size() && !is_space(line[i])) ++i;
    if (out.fields.empty()) out.tag = std::string(line.substr(start, i - start));
  }
  if (out.fields.empty()) return std::nullopt;
  return out;
}

}  // namespace zerotune::runtime
