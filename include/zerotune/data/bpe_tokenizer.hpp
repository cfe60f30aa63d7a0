// GPT-2 byte-level BPE, loaded from the Hugging Face files vocab.json + merges.txt, giving the
// ids of Hugging Face's tokenizers (BPE model, ByteLevel pre-tokenizer with
// add_prefix_space=false, ByteLevel decoder) and of OpenAI's encoder:
//   1. validate UTF-8, cut the text into pieces with GPT-2's regex (gpt2_pretokenizer.hpp);
//   2. each piece is a sequence of byte tokens; repeatedly merge the adjacent pair with the
//      lowest merge rank (ties: leftmost first) until no pair has a rank;
//   3. the ids of the remaining tokens, in order.
// The vocab.json keys spell bytes with GPT-2's byte-to-unicode map (printable Latin-1 bytes as
// themselves, the others as U+0100 + n); they are turned back into raw bytes at load, so
// encode and decode work on bytes. Special tokens are not parsed: "<|endoftext|>" in the text
// is plain text; append eos_token_id() yourself.
// Thread-safe; calls share a cache of encoded pieces (a bounded map, behind a lock held for
// the whole call), so give each thread its own tokenizer to encode in parallel.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace zerotune::data {

inline constexpr const char* kGpt2TokenizerName = "gpt2-bpe";
inline constexpr const char* kEndOfText = "<|endoftext|>";

class BpeTokenizer {
 public:
  // <dir>/vocab.json and <dir>/merges.txt. InputError naming a missing or malformed file.
  static BpeTokenizer from_directory(const std::string& dir);
  BpeTokenizer(const std::string& vocab_path, const std::string& merges_path);
  ~BpeTokenizer();
  BpeTokenizer(BpeTokenizer&&) noexcept;
  BpeTokenizer& operator=(BpeTokenizer&&) noexcept;

  // The ids of `text`. Invalid UTF-8: InputError "<source>:<line>: invalid UTF-8 at byte
  // offset <n>" (offset and line within `text`).
  std::vector<int32_t> encode(std::string_view text, std::string_view source = "text") const;
  // Appends the ids of `text` to `ids`.
  void encode_into(std::string_view text, std::vector<int32_t>& ids,
                   std::string_view source = "text") const;

  // The bytes the ids stand for, concatenated (a cut inside a multi-byte character gives
  // invalid UTF-8; decode whole sequences). An id outside [0, vocab_size): InputError.
  std::string decode(std::span<const int32_t> ids) const;

  int64_t vocab_size() const;
  int64_t num_merges() const;
  int32_t eos_token_id() const;  // "<|endoftext|>"
  // A vocab.json key (byte-to-unicode spelling, e.g. "Ġthe") to its id.
  std::optional<int32_t> token_id(std::string_view token) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace zerotune::data
