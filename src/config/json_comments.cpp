#include "zerotune/config/json_comments.hpp"

#include <cctype>

namespace zerotune::config {

std::string strip_json_comments(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  const size_t n = text.size();
  while (i < n) {
    const char c = text[i];
    if (c == '"') {  // a string, escapes included, copied as it is
      out += c;
      for (++i; i < n; ++i) {
        out += text[i];
        if (text[i] == '\\' && i + 1 < n) {
          out += text[++i];
        } else if (text[i] == '"') {
          ++i;
          break;
        }
      }
    } else if (c == '#' || (c == '/' && i + 1 < n && text[i + 1] == '/')) {
      while (i < n && text[i] != '\n') ++i;
    } else if (c == '/' && i + 1 < n && text[i + 1] == '*') {
      const size_t end = text.find("*/", i + 2);
      i = end == std::string::npos ? n : end + 2;
      out += ' ';
    } else if (c == ',') {
      // A trailing comma: the next significant character closes the object or array. Comments
      // between them were already dropped only if they come later, so look past them too.
      size_t j = i + 1;
      while (j < n) {
        if (std::isspace(static_cast<unsigned char>(text[j]))) {
          ++j;
        } else if (text[j] == '#' || (text[j] == '/' && j + 1 < n && text[j + 1] == '/')) {
          while (j < n && text[j] != '\n') ++j;
        } else if (text[j] == '/' && j + 1 < n && text[j + 1] == '*') {
          const size_t end = text.find("*/", j + 2);
          j = end == std::string::npos ? n : end + 2;
        } else {
          break;
        }
      }
      if (j >= n || (text[j] != '}' && text[j] != ']')) out += c;
      ++i;
    } else {
      out += c;
      ++i;
    }
  }
  return out;
}

}  // namespace zerotune::config
