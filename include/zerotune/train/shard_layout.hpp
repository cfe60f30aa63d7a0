// How each unit's flat buffer is cut into world_size equal contiguous shards.
//   shard_numel = round_up(ceil(numel / world), 128); padded_numel = shard_numel * world
//   rank r owns global elements [r * shard_numel, (r + 1) * shard_numel) ∩ [0, numel)
// Padding elements are always zero: they have zero gradient and never change.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "zerotune/model/gpt2_layout.hpp"

namespace zerotune::train {

inline constexpr int64_t kShardAlignment = 128;

struct UnitShard {
  int64_t numel = 0;         // real elements of the unit
  int64_t shard_numel = 0;   // elements per rank, padding included
  int64_t padded_numel = 0;  // shard_numel * world
  int64_t begin = 0;         // this rank's first global element
  int64_t end = 0;           // one past this rank's last REAL element (begin <= end)
  int64_t owned() const { return end - begin; }
};

inline UnitShard make_unit_shard(int64_t numel, int world, int rank) {
  UnitShard s;
  s.numel = numel;
  const int64_t per_rank = (numel + world - 1) / world;
  s.shard_numel = (per_rank + kShardAlignment - 1) / kShardAlignment * kShardAlignment;
  s.padded_numel = s.shard_numel * world;
  s.begin = std::min<int64_t>(numel, s.shard_numel * rank);
  s.end = std::min<int64_t>(numel, s.shard_numel * (rank + 1));
  return s;
}

inline std::vector<UnitShard> make_shards(const model::Gpt2Layout& layout, int world, int rank) {
  std::vector<UnitShard> shards;
  for (const auto& unit : layout.units) shards.push_back(make_unit_shard(unit.numel, world, rank));
  return shards;
}

}  // namespace zerotune::train
