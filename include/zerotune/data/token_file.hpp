// HDF5 token files (schema in DESIGN.md "Data"):
//   /input_ids int32 [N, T], /labels int32 [N, T] (-100: no loss), /attention_mask uint8 [N, T]
//   attributes: format="zerotune-tokens", format_version, tokenizer, vocab_size, eos_token_id,
//               pad_token_id, seq_len, source, source_sha256, split
//   (scalar root attributes: int64, and variable-length UTF-8 strings, as h5py writes them)
// Labels are NOT shifted: labels[t] is the token at position t itself (labels == input_ids for
// packed text), like Hugging Face datasets; the trainer predicts labels[t + 1] from positions
// <= t. -100 marks a position that takes no loss (padding, and the prompt with --loss-on answer).
// Datasets are chunked in blocks of whole rows (about 64 KiB of input_ids per chunk).
// The writer writes to "<path>.tmp" and renames on commit(), so a failed prep leaves nothing.
// All HDF5 access holds hdf5_lock() (hdf5_handle.hpp): TokenFile may be read from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace zerotune::data {

inline constexpr const char* kTokenFileFormat = "zerotune-tokens";
inline constexpr int64_t kTokenFileFormatVersion = 1;
inline constexpr int32_t kIgnoreLabel = -100;  // same as model::kIgnoreIndex

struct TokenFileInfo {
  std::string path;
  int64_t num_examples = 0;
  int64_t seq_len = 0;
  int64_t vocab_size = 0;
  int64_t eos_token_id = -1;
  int64_t pad_token_id = -1;
  int64_t format_version = kTokenFileFormatVersion;
  std::string tokenizer;  // e.g. "gpt2-bpe" or "bytes"
  std::string source;     // source file name
  std::string source_sha256;
  std::string split;  // "train", "validation", "test", ...
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
  void commit();  // writes attributes, closes, renames <path>.tmp -> <path>
 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class TokenFile {
 public:
  // Opens and validates the schema: datasets present, dtypes, 2-D shapes agreeing, attributes.
  // Errors are InputError naming the path and the dataset/attribute; a file HDF5 cannot read
  // (truncated, corrupt, a filter this build lacks) is an InputError naming the path too, here
  // and in read_rows.
  explicit TokenFile(const std::string& path);
  ~TokenFile();
  TokenFile(TokenFile&&) noexcept;
  const TokenFileInfo& info() const;
  // Rows in the given order (any order, duplicates allowed). Token ids are checked to lie in
  // [0, vocab_size) and labels in [0, vocab_size) or -100: InputError naming file and row.
  TokenExamples read_rows(const std::vector<int64_t>& rows) const;

 private:
  void open_and_check();  // the constructor's HDF5 part
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Throws InputError if the file's vocab_size or seq_len do not fit the model (file vocab_size
// <= model vocab_size, file seq_len <= model seq_len):
// "<path>: vocab_size 50257 does not fit model.vocab_size 256 (token ids must be below it)".
void check_fits_model(const TokenFileInfo& info, int64_t model_vocab_size, int64_t model_seq_len);

}  // namespace zerotune::data
