// The training loop: data -> model -> ZeRO engine -> optimizer, with evaluation at each
// epoch end, checkpoints on a cadence / at the end / on a stop signal, and the .out story.
#pragma once

#include "zerotune/train/run_context.hpp"

namespace zerotune::train {

// Returns the process exit code: kExitOk, or kExitRequeue after a signal-triggered checkpoint.
int run_training(RunContext& context);

// Per-position next-token targets from a file's labels (labels[t] is the token AT t, as in
// Hugging Face datasets): targets[t] = labels[t + 1], targets[T - 1] = -100.
void next_token_targets(const int32_t* labels, int32_t* targets, int64_t rows, int64_t seq_len);

}  // namespace zerotune::train
