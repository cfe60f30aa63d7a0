// Evaluation of a model on a token file, as the per-epoch eval computes it: the file in its
// own order (no shuffle), sharded over the ranks like training, the first max_samples
// examples (rounded up to whole global eval batches; 0: all), no filler counted.
//   eval_loss = sum of token cross-entropies / number of label tokens (over all ranks)
//   eval_ppl  = exp(eval_loss)
#pragma once

#include <cstdint>
#include <memory>

#include "zerotune/comm/communicator.hpp"
#include "zerotune/data/token_file.hpp"
#include "zerotune/model/gpt2_model.hpp"

namespace zerotune::train {

struct EvalResult {
  double loss_sum = 0;  // over all ranks
  int64_t tokens = 0;   // label tokens, over all ranks
  int64_t samples = 0;  // real examples evaluated
  double seconds = 0;   // wall time on this rank
  double loss() const { return tokens ? loss_sum / static_cast<double>(tokens) : 0.0; }
  double samples_per_second() const { return samples / (seconds > 0 ? seconds : 1e-9); }
};

// Collective. model's activations must hold micro_batch rows of the file's seq_len.
// Throws InputError naming the file when no evaluated position carries a label.
EvalResult evaluate_token_file(model::Gpt2Model& model, model::ParameterSource<void>& params,
                               const std::shared_ptr<const data::TokenFile>& file,
                               comm::Communicator& comm, int64_t micro_batch, int64_t max_samples,
                               int prefetch_steps);

// The InputError of a file (or batch) in which no position carries a label.
[[noreturn]] void throw_no_labels(const data::TokenFileInfo& file, const std::string& what);

}  // namespace zerotune::train
