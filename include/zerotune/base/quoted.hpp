// User-given values inside error messages. A value can be anything a user or a cluster puts
// in a file or on a command line (a 10 MB string, newlines, terminal escapes), and an error
// message must stay one short line: quote at most a prefix of the value, escape control
// bytes, and say how long the whole value was.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace zerotune {

// Bytes of a value quoted before it is cut.
inline constexpr size_t kQuotedPrefixBytes = 64;
// Longest error line main() prints; longer messages are cut with their length given.
inline constexpr size_t kMaxMessageBytes = 2048;

// "\"eight\"", or "\"aaaa...\" (10485760 bytes)" when longer than kQuotedPrefixBytes. Control
// bytes (newline, tab, ESC, ...) and '"' / '\\' are escaped as in C; the cut never splits a
// UTF-8 sequence.
std::string quote_value(std::string_view value);

// `message` as one line: control bytes escaped (a newline becomes "\n"), cut after
// kMaxMessageBytes with "... (N bytes)". What main() prints, whatever a message holds.
std::string one_line(std::string_view message);

}  // namespace zerotune
