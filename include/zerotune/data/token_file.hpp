// HDF5 token files (schema in DESIGN.md "Data"):
//   /input_ids int32 [N, T], /labels int32 [N, T] (-100: no loss), /attention_mask uint8 [N, T]
//   attributes: format="zerotune-tokens", format_version, tokenizer, vocab_size, eos_token_id,
//               pad_token_id, seq_len, source, source_sha256, split
// The writer writes to "<path>.tmp" and renames on commit(), so a failed prep leaves nothing.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace zerotune::data {

inline constexpr const char* kTokenFileFormat = "zerotune-tokens";
inline constexpr int64_t kTokenFileFormatVersion = 1;

struct TokenFileInfo {
  std::string path;
  int64_t num_examples = 0;
  int64_t seq_len = 0;
  int64_t vocab_size = 0;
  int64_t eos_token_id = -1;
  int64_t pad_token_id = -1;
  int64_t format_version = kTokenFileFormatVersion;
  std::string tokenizer;      // e.g. "gpt2-bpe" or "bytes"
  std::string source;         // source file name
  std::string source_sha256;
  std::string split;          // "train", "validation", "test", ...
};

// A block of examples, row-major [count, seq_len].
struct TokenExamples {
  int64_t count = 0;
  int64_t seq_len = 0;
  std::vector<int32_t> input_ids;
  std::vector<int32_t> labels;
  std::vector<uint8_t> attention_mask;
};

class TokenFileWriter {
 public:
  // info.num_examples is ignored (counted from append()); seq_len must be set.
  TokenFileWriter(const std::string& path, const TokenFileInfo& info);
  ~TokenFileWriter();  // without commit(): removes the temporary file
  void append(const TokenExamples& examples);
  void commit();       // writes attributes, closes, renames <path>.tmp -> <path>
 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class TokenFile {
 public:
  // Opens and validates the schema: datasets present, dtypes, 2-D shapes agreeing, attributes.
  // Errors are InputError naming the path and the dataset/attribute.
  explicit TokenFile(const std::string& path);
  ~TokenFile();
  TokenFile(TokenFile&&) noexcept;
  const TokenFileInfo& info() const;
  // Rows in the given order (any order, duplicates allowed). Token ids are checked to lie in
  // [0, vocab_size) and labels in [0, vocab_size) or -100: InputError naming file and row.
  TokenExamples read_rows(const std::vector<int64_t>& rows) const;
 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Throws InputError if the file's vocab_size or seq_len do not fit the model:
// "<path>: vocab_size 50257 does not match model.vocab_size 256".
void check_fits_model(const TokenFileInfo& info, int64_t model_vocab_size, int64_t model_seq_len);

}  // namespace zerotune::data
