#include "zerotune/data/text_input.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "zerotune/base/error.hpp"

namespace zerotune::data {

std::string read_file_bytes(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    throw InputError(path + ": is a directory, expected a file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot read (" + std::strerror(errno) + ")");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw InputError(path + ": read failed (" + std::strerror(errno) + ")");
  return bytes;
}

std::string_view with_unix_line_endings(std::string_view text, std::string& storage) {
  if (text.find('\r') == std::string_view::npos) return text;
  storage.clear();
  storage.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\r') {
      storage += text[i];
    } else if (i + 1 >= text.size() || text[i + 1] != '\n') {
      storage += '\n';  // a lone '\r'; a '\r' before '\n' is dropped
    }
  }
  return storage;
}

std::optional<size_t> find_invalid_utf8(std::string_view text) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    // ASCII fast path, 8 bytes at a time.
    while (i + 8 <= n) {
      uint64_t word;
      std::memcpy(&word, s + i, 8);
      if (word & 0x8080808080808080ull) break;
      i += 8;
    }
    if (i >= n) break;
    const unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    // Table 3-7 of the Unicode standard: the allowed ranges of the second byte depend on the
    // first; later bytes are 80..BF.
    size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c == 0xE0) {
      len = 3, lo = 0xA0;
    } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
      len = 3;
    } else if (c == 0xED) {
      len = 3, hi = 0x9F;
    } else if (c == 0xF0) {
      len = 4, lo = 0x90;
    } else if (c >= 0xF1 && c <= 0xF3) {
      len = 4;
    } else if (c == 0xF4) {
      len = 4, hi = 0x8F;
    } else {
      return i;
    }
    if (i + 1 >= n || s[i + 1] < lo || s[i + 1] > hi) return i;
    for (size_t k = 2; k < len; ++k) {
      if (i + k >= n || s[i + k] < 0x80 || s[i + k] > 0xBF) return i;
    }
    i += len;
  }
  return std::nullopt;
}

TextPosition text_position(std::string_view text, size_t offset) {
  TextPosition pos;
  const size_t end = std::min(offset, text.size());
  size_t line_start = 0;
  for (size_t i = 0; i < end; ++i) {
    if (text[i] == '\n') {
      ++pos.line;
      line_start = i + 1;
    }
  }
  pos.column = static_cast<int64_t>(end - line_start) + 1;
  return pos;
}

void check_utf8(std::string_view text, std::string_view source) {
  const auto bad = find_invalid_utf8(text);
  if (!bad) return;
  const TextPosition pos = text_position(text, *bad);
  throw InputError(std::string(source) + ":" + std::to_string(pos.line) +
                   ": invalid UTF-8 at byte offset " + std::to_string(*bad));
}

nlohmann::json parse_json(std::string_view text, std::string_view source) {
  try {
    return nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::parse_error& e) {
    // e.byte is the 1-based index of the last byte read.
    const size_t offset = e.byte > 0 ? e.byte - 1 : 0;
    const TextPosition pos = text_position(text, offset);
    std::string detail = e.what();
    // "[json.exception.parse_error.101] parse error at line 1, column 2: syntax error ..."
    const size_t column_at = detail.find("column ");
    if (column_at != std::string::npos) {
      const size_t colon = detail.find(": ", column_at);
      if (colon != std::string::npos) detail = detail.substr(colon + 2);
    }
    throw InputError(std::string(source) + ":" + std::to_string(pos.line) + ":" +
                     std::to_string(pos.column) + ": malformed JSON: " + detail);
  } catch (const nlohmann::json::exception& e) {
    // Well-formed JSON this reader cannot hold, such as a number past the range of a double
    // (out_of_range.406 "number overflow parsing '1e999'").
    std::string detail = e.what();
    if (const size_t bracket = detail.find("] ");
        detail.starts_with("[") && bracket != std::string::npos) {
      detail = detail.substr(bracket + 2);
    }
    throw InputError(std::string(source) + ": unreadable JSON: " + detail);
  }
}

namespace {

// Decodes one code point of valid UTF-8; returns its length.
size_t decode_one(std::string_view text, char32_t* cp) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  if (s[0] < 0x80) {
    *cp = s[0];
    return 1;
  }
  if (s[0] < 0xE0 && text.size() >= 2) {
    *cp = (char32_t(s[0] & 0x1F) << 6) | (s[1] & 0x3F);
    return 2;
  }
  if (s[0] < 0xF0 && text.size() >= 3) {
    *cp = (char32_t(s[0] & 0x0F) << 12) | (char32_t(s[1] & 0x3F) << 6) | (s[2] & 0x3F);
    return 3;
  }
  if (text.size() >= 4) {
    *cp = (char32_t(s[0] & 0x07) << 18) | (char32_t(s[1] & 0x3F) << 12) |
          (char32_t(s[2] & 0x3F) << 6) | (s[3] & 0x3F);
    return 4;
  }
  *cp = 0xFFFD;
  return 1;
}

bool is_white_space(char32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
         cp == 0x205F || cp == 0x3000;
}

}  // namespace

bool starts_with_unicode_space(std::string_view text, size_t* length) {
  if (text.empty()) return false;
  char32_t cp = 0;
  const size_t len = decode_one(text, &cp);
  if (length) *length = len;
  return is_white_space(cp);
}

std::string_view strip_unicode_space(std::string_view text) {
  size_t begin = 0;
  size_t end = 0;  // end of the last code point that is not a space
  bool seen_text = false;
  size_t i = 0;
  while (i < text.size()) {
    size_t len = 1;
    const bool space = starts_with_unicode_space(text.substr(i), &len);
    if (!space) {
      if (!seen_text) begin = i;
      seen_text = true;
      end = i + len;
    }
    i += len;
  }
  return seen_text ? text.substr(begin, end - begin) : std::string_view();
}

}  // namespace zerotune::data
