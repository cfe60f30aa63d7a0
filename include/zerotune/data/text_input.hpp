// Reading text inputs for `zerotune prep` and `zerotune tokenize`: whole files as bytes, strict
// UTF-8 validation with the byte offset and line of the first bad byte, JSON with line:column
// errors. Every failure is an InputError naming the file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace zerotune::data {

// The whole file. InputError "<path>: cannot read (No such file or directory)" on failure.
std::string read_file_bytes(const std::string& path);

// `text` with Windows ("\r\n") and old Mac ("\r") line endings made "\n", so that a file's
// line endings never change what is read from it. Returns `text` itself (no copy) when it
// holds no '\r'; otherwise fills `storage` and returns a view of it.
std::string_view with_unix_line_endings(std::string_view text, std::string& storage);

// Offset of the first byte that does not belong to a well-formed UTF-8 sequence (Unicode 15,
// table 3-7: no overlong forms, no surrogates, nothing above U+10FFFF), or nullopt.
std::optional<size_t> find_invalid_utf8(std::string_view text);

struct TextPosition {
  int64_t line = 1;    // 1-based
  int64_t column = 1;  // 1-based, in bytes
};
TextPosition text_position(std::string_view text, size_t offset);

// InputError "<source>:<line>: invalid UTF-8 at byte offset <n>" if text is not valid UTF-8.
void check_utf8(std::string_view text, std::string_view source);

// Parses JSON; InputError "<source>:<line>:<column>: malformed JSON: <what the parser saw>".
nlohmann::json parse_json(std::string_view text, std::string_view source);

// True for the code points of Unicode's White_Space property (what \s matches in the GPT-2
// pre-tokenizer), given as one UTF-8 sequence at the start of `text`; `length` gets its size.
bool starts_with_unicode_space(std::string_view text, size_t* length);

// `text` without leading and trailing White_Space code points.
std::string_view strip_unicode_space(std::string_view text);

}  // namespace zerotune::data
