// Host side of the deterministic embedding backward: the B*T positions grouped by token id,
// so that each token's gradient row is summed by one block in a fixed order.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace zerotune::cuda {

// order: positions (b*T + t) grouped by token; the positions of group g are
//   order[starts[g] .. starts[g+1]), ascending; tokens[g] is that group's token id.
// tokens.size() == number of distinct ids; starts.size() == tokens.size() + 1.
struct TokenGroups {
  std::vector<int32_t> order, tokens, starts;
};

// Stable counting sort of ids[0..n) by value, ids in [0, vocab_size). O(n + vocab_size).
// Throws std::out_of_range naming the position of an id outside the vocabulary.
inline TokenGroups group_positions_by_token(const int32_t* ids, int64_t n, int64_t vocab_size) {
  std::vector<int32_t> next(static_cast<size_t>(vocab_size), 0);  // counts, then write cursor
  for (int64_t i = 0; i < n; ++i) {
    if (ids[i] < 0 || ids[i] >= vocab_size) {
      throw std::out_of_range("embedding: token id " + std::to_string(ids[i]) + " at position " +
                              std::to_string(i) + " is outside the vocabulary [0, " +
                              std::to_string(vocab_size) + ")");
    }
    ++next[static_cast<size_t>(ids[i])];
  }
  TokenGroups groups;
  int32_t start = 0;
  for (int64_t v = 0; v < vocab_size; ++v) {
    const int32_t count = next[static_cast<size_t>(v)];
    if (count == 0) continue;
    groups.tokens.push_back(static_cast<int32_t>(v));
    groups.starts.push_back(start);
    next[static_cast<size_t>(v)] = start;
    start += count;
  }
  groups.starts.push_back(start);
  groups.order.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    groups.order[static_cast<size_t>(next[static_cast<size_t>(ids[i])]++)] =
        static_cast<int32_t>(i);
  }
  return groups;
}

}  // namespace zerotune::cuda
