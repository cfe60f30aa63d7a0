#include "zerotune/base/quoted.hpp"

#include <cstdio>

namespace zerotune {

namespace {

// Appends `text` with control bytes escaped; with `quote`, also '"' and '\\'.
void append_escaped(std::string& out, std::string_view text, bool quote) {
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (quote && (c == '"' || c == '\\')) {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20 || u == 0x7f) {
      char escape[8];
      std::snprintf(escape, sizeof(escape), "\\x%02x", u);
      out += escape;
    } else {
      out += c;
    }
  }
}

// The longest prefix of at most `max_bytes` that ends on a UTF-8 character boundary.
std::string_view utf8_prefix(std::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  size_t end = max_bytes;
  // Step back over continuation bytes (10xxxxxx) to the start of the cut character.
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return text.substr(0, end);
}

}  // namespace

std::string quote_value(std::string_view value) {
  std::string out = "\"";
  const std::string_view shown = utf8_prefix(value, kQuotedPrefixBytes);
  append_escaped(out, shown, true);
  if (shown.size() == value.size()) return out + "\"";
  return out + "...\" (" + std::to_string(value.size()) + " bytes)";
}

std::string one_line(std::string_view message) {
  std::string out;
  const std::string_view shown = utf8_prefix(message, kMaxMessageBytes);
  append_escaped(out, shown, false);
  if (shown.size() == message.size()) return out;
  return out + "... (" + std::to_string(message.size()) + " bytes)";
}

}  // namespace zerotune
