#include "zerotune/data/synthetic_corpus.hpp"

#include <array>
#include <random>
#include <string_view>

#include "zerotune/data/token_file.hpp"

namespace zerotune::data {

namespace {

constexpr std::array<std::string_view, 12> kSubjects = {
    "the cat",         "a young dog", "my neighbour", "the old sailor",
    "a tired student", "the baker",   "our teacher",  "a small bird",
    "the farmer",      "my sister",   "the captain",  "a quiet child"};
constexpr std::array<std::string_view, 10> kVerbs = {"found",   "carried", "painted", "lost",
                                                     "watched", "cleaned", "sold",    "opened",
                                                     "built",   "forgot"};
constexpr std::array<std::string_view, 12> kObjects = {
    "a red box",    "the letter",      "an apple",       "the blue boat",
    "a heavy book", "the garden gate", "a broken clock", "the silver key",
    "a warm coat",  "the map",         "a wooden chair", "the lantern"};
constexpr std::array<std::string_view, 8> kPlaces = {
    "near the river", "in the kitchen", "at the market", "behind the house",
    "on the hill",    "by the station", "in the forest", "under the bridge"};
constexpr std::array<std::string_view, 6> kTimes = {"yesterday",   "this morning", "at noon",
                                                    "last winter", "every sunday", "tonight"};

template <typename Array>
std::string_view pick(const Array& words, std::mt19937_64& rng) {
  return words[rng() % words.size()];
}

}  // namespace

std::string synthetic_text(int64_t count, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string text;
  for (int64_t i = 0; i < count; ++i) {
    std::string sentence;
    sentence += pick(kSubjects, rng);
    sentence += ' ';
    sentence += pick(kVerbs, rng);
    sentence += ' ';
    sentence += pick(kObjects, rng);
    sentence += ' ';
    sentence += pick(kPlaces, rng);
    if (rng() % 2) {
      sentence += ' ';
      sentence += pick(kTimes, rng);
    }
    sentence += ".\n";
    sentence[0] = static_cast<char>(sentence[0] - 'a' + 'A');
    text += sentence;
  }
  return text;
}

void write_synthetic_token_file(const std::string& path, int64_t examples, int64_t seq_len,
                                uint64_t seed, const std::string& split) {
  // About 45 bytes a sentence: generate enough text for every block.
  const std::string text = synthetic_text(examples * seq_len / 40 + 16, seed);
  TokenExamples block;
  block.count = examples;
  block.seq_len = seq_len;
  block.input_ids.resize(examples * seq_len);
  size_t at = 0;
  for (auto& id : block.input_ids) {
    id = at < text.size() ? static_cast<unsigned char>(text[at]) : kSyntheticEos;
    ++at;
  }
  block.labels = block.input_ids;
  block.attention_mask.assign(block.input_ids.size(), 1);

  TokenFileInfo info;
  info.seq_len = seq_len;
  info.vocab_size = kSyntheticVocabSize;
  info.eos_token_id = kSyntheticEos;
  info.pad_token_id = kSyntheticEos;
  info.tokenizer = "bytes";
  info.source = "synthetic";
  info.source_sha256 = "";
  info.split = split;
  TokenFileWriter writer(path, info);
  writer.append(block);
  writer.commit();
}

}  // namespace zerotune::data
