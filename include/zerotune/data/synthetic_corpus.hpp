// The built-in demo corpus: English-like sentences from a small grammar (subjects, verbs,
// objects, places, times), encoded as bytes (ids 0..255, EOS = 256), packed into blocks of
// seq_len. A model learns its spelling, words and word order quickly, so the demo's loss
// falls visibly in minutes on a CPU with no data files at all.
#pragma once

#include <cstdint>
#include <string>

namespace zerotune::data {

inline constexpr int64_t kSyntheticVocabSize = 257;
inline constexpr int32_t kSyntheticEos = 256;

// `count` sentences of the grammar, deterministic in seed, separated by "\n".
std::string synthetic_text(int64_t count, uint64_t seed);

// Writes a token file of `examples` packed blocks of seq_len byte tokens (labels = ids).
void write_synthetic_token_file(const std::string& path, int64_t examples, int64_t seq_len,
                                uint64_t seed, const std::string& split);

}  // namespace zerotune::data
