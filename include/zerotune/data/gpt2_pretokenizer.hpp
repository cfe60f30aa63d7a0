// GPT-2's pre-tokenizer: the text is cut into pieces by OpenAI's regular expression
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// (PCRE2 with UTF and UCP, JIT-compiled where the platform has it). Each piece is then
// BPE-encoded on its own. The alternatives cover every character, so the pieces tile the text.
#pragma once

#include <functional>
#include <memory>
#include <string_view>
#include <vector>

namespace zerotune::data {

inline constexpr const char* kGpt2PreTokenizerPattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

class Gpt2PreTokenizer {
 public:
  Gpt2PreTokenizer();  // LibraryError if PCRE2 rejects the pattern
  ~Gpt2PreTokenizer();
  Gpt2PreTokenizer(Gpt2PreTokenizer&&) noexcept;
  Gpt2PreTokenizer& operator=(Gpt2PreTokenizer&&) noexcept;

  // Calls visit(piece) for the pieces of `text` in order. `text` must be valid UTF-8 (call
  // check_utf8 first: the match runs with PCRE2_NO_UTF_CHECK). Thread-safe.
  void for_each_piece(std::string_view text,
                      const std::function<void(std::string_view)>& visit) const;
  // The pieces of `text`, appended.
  void split(std::string_view text, std::vector<std::string_view>& pieces) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace zerotune::data
