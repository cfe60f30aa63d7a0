// Rank-sharded, resumable, read-ahead batches, with PyTorch DistributedSampler semantics:
// per epoch a seeded permutation `perm` of the N examples (seed + epoch); rank r of W takes
// perm[r], perm[r + W], perm[r + 2W], ... So optimizer step s of an epoch consumes exactly the
// global samples perm[s*G .. (s+1)*G) with G = micro_batch * grad_accum * W, whatever W is:
// the position is the global consumed-sample count, and a run resumed on another world size
// continues the same global order.
// drop_last=false keeps the last partial global batch: missing slots are filled with
// examples whose labels are all -100 and attention_mask all 0 (they add no loss, no gradient
// and no real token). A filler slot at
// global position g >= N holds the tokens of perm[g mod N] (as DistributedSampler pads), so it
// costs the same compute as a real row.
// Within a step, rank r's k-th row (k = 0 .. micro_batch*grad_accum-1) is global position
// consumed + r + k*W; micro-batch m holds k = m*micro_batch .. (m+1)*micro_batch-1.
// The constructor throws InputError when an epoch has no step (fewer examples than one global
// batch with drop_last); a bad config (micro_batch < 1, rank outside [0, world), ...) is
// std::invalid_argument. Errors of the background reader are rethrown by next().
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "zerotune/data/token_file.hpp"

namespace zerotune::data {

struct LoaderPosition {
  int64_t epoch = 0;             // 0-based
  int64_t consumed_samples = 0;  // global samples consumed within this epoch
};

struct LoaderConfig {
  int64_t micro_batch = 1;
  int64_t grad_accum = 1;
  int world = 1;
  int rank = 0;
  uint64_t seed = 0;
  bool shuffle = true;
  bool drop_last = true;
  int prefetch_steps = 2;  // steps read ahead by the background thread (0: synchronous)
};

// What one rank needs for one optimizer step: grad_accum micro-batches of micro_batch rows.
struct StepBatch {
  LoaderPosition position;  // position BEFORE this step
  std::vector<TokenExamples> micro_batches;
  int64_t global_samples = 0;  // real (non-filler) samples in the global batch
};

class BatchLoader {
 public:
  BatchLoader(std::shared_ptr<const TokenFile> file, const LoaderConfig& config);
  ~BatchLoader();
  int64_t steps_per_epoch() const;
  // Continue from `position` (drops anything read ahead).
  void seek(const LoaderPosition& position);
  // The next step of the current epoch, or nullopt when the epoch is done; then the loader
  // moves to the start of the next epoch.
  std::optional<StepBatch> next();
  LoaderPosition position() const;  // position after the last step returned
 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The global permutation of one epoch (exposed for tests). shuffle=false: 0, 1, ..., N-1.
// shuffle=true: identical on every platform and standard library (std::shuffle and
// std::uniform_int_distribution are not): std::mt19937_64 seeded with seed + epoch (mod 2^64),
// and a Fisher-Yates shuffle written out:
//   perm = [0, 1, ..., N-1]
//   for i = N-1 down to 1:  j = uniform(i + 1);  swap(perm[i], perm[j])
// where uniform(n) draws r = rng() until r >= (2^64 - n) mod n and returns r mod n (unbiased).
std::vector<int64_t> epoch_permutation(int64_t num_examples, uint64_t seed, int64_t epoch,
                                       bool shuffle);

}  // namespace zerotune::data
