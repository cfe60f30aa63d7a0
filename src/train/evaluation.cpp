#include "zerotune/train/evaluation.hpp"

#include <chrono>
#include <vector>

#include "zerotune/base/error.hpp"
#include "zerotune/data/batch_loader.hpp"
#include "zerotune/train/trainer.hpp"

namespace zerotune::train {

void throw_no_labels(const data::TokenFileInfo& file, const std::string& what) {
  throw InputError(file.path + ": no position of " + what +
                   " carries a label (all labels -100 after the shift to next-token targets), "
                   "so there is no loss to compute; with --loss-on answer every answer may have "
                   "been truncated away at seq_len " +
                   std::to_string(file.seq_len) + ": prepare the data with a longer --seq-len");
}

EvalResult evaluate_token_file(model::Gpt2Model& model, model::ParameterSource<void>& params,
                               const std::shared_ptr<const data::TokenFile>& file,
                               comm::Communicator& comm, int64_t micro_batch, int64_t max_samples,
                               int prefetch_steps) {
  const auto t0 = std::chrono::steady_clock::now();
  data::LoaderConfig lc;
  lc.micro_batch = micro_batch;
  lc.grad_accum = 1;
  lc.world = comm.size();
  lc.rank = comm.rank();
  lc.shuffle = false;
  lc.drop_last = false;
  lc.prefetch_steps = prefetch_steps;
  data::BatchLoader loader(file, lc);
  std::vector<int32_t> targets(micro_batch * file->info().seq_len);
  EvalResult r;
  while (auto batch = loader.next()) {
    if (max_samples > 0 && r.samples >= max_samples) break;
    r.samples += batch->global_samples;
    for (const auto& mb : batch->micro_batches) {
      next_token_targets(mb.labels.data(), targets.data(), mb.count, mb.seq_len);
      const auto l =
          model.forward(mb.input_ids.data(), targets.data(), mb.count, mb.seq_len, params);
      r.loss_sum += l.sum;
      r.tokens += l.tokens;
    }
  }
  r.loss_sum = comm.all_reduce_value(r.loss_sum, comm::ReduceOp::kSum);
  r.tokens = comm.all_reduce_value(r.tokens, comm::ReduceOp::kSum);
  if (r.tokens == 0) throw_no_labels(file->info(), "the evaluated examples");
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace zerotune::train
