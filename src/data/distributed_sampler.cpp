// The per-epoch permutation of DistributedSampler-style sharding (see batch_loader.hpp).
#include <random>
#include <stdexcept>

#include "zerotune/data/batch_loader.hpp"

namespace zerotune::data {

namespace {

// Unbiased integer in [0, bound) from 64-bit draws: reject the lowest (2^64 mod bound) values,
// so that the remaining range is a multiple of bound.
uint64_t uniform_below(std::mt19937_64& rng, uint64_t bound) {
  const uint64_t threshold = (0 - bound) % bound;  // (2^64 - bound) mod bound == 2^64 mod bound
  while (true) {
    const uint64_t r = rng();
    if (r >= threshold) return r % bound;
  }
}

}  // namespace

std::vector<int64_t> epoch_permutation(int64_t num_examples, uint64_t seed, int64_t epoch,
                                       bool shuffle) {
  if (num_examples < 0) throw std::invalid_argument("epoch_permutation: negative num_examples");
  std::vector<int64_t> perm(num_examples);
  for (int64_t i = 0; i < num_examples; ++i) perm[i] = i;
  if (!shuffle) return perm;
  std::mt19937_64 rng(seed + static_cast<uint64_t>(epoch));
  for (int64_t i = num_examples - 1; i >= 1; --i) {
    const auto j = static_cast<int64_t>(uniform_below(rng, static_cast<uint64_t>(i) + 1));
    std::swap(perm[i], perm[j]);
  }
  return perm;
}

}  // namespace zerotune::data
