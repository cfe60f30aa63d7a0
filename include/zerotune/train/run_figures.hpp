// The speed and time figures of a training run, each defined once here and used by the
// trainer's .out lines, metrics.jsonl and `zerotune report` (docs/metrics.md states the same
// definitions for users):
//
//   tokens          real tokens: attention_mask ones of real rows; padding and the filler rows
//                   of a partial last batch are not counted (the loader zeroes their mask)
//   train_time_s    wall time of the training loop, summed over every start of the run
//                   (preemption and resume), evaluation excluded; checkpoints included
//   samples/s       train_samples / train_time_s; tokens/s likewise with train_tokens
//   epoch_time_s    train_time_s spent in each COMPLETE epoch (a partial last epoch of a
//                   max_steps run or a stopped run is left out)
//   time/epoch      mean of epoch_time_s; with no complete epoch, train_time_s scaled to one
//                   epoch (train_time_s * steps_per_epoch / steps), marked as an estimate
//   train_loss      mean of every step's loss (Hugging Face's train_loss)
//   final_loss      the last step's loss (global mean token loss of that step)
//   eta             remaining steps x this start's mean step time (evaluation excluded)
//
// A resumed run carries the totals at its checkpoint's step from the metrics.jsonl of the run
// that wrote the checkpoint (step and epoch records), so each figure covers the whole run.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "zerotune/data/batch_loader.hpp"

namespace zerotune::train {

// Real tokens of one rank's rows of a step: sum of attention_mask over its micro-batches.
int64_t real_tokens(const data::StepBatch& batch);

// Mean of the complete epochs' times; without one, train_time_s * steps_per_epoch / steps
// (nullopt when nothing ran). `estimated` (optional) tells which of the two it was.
std::optional<double> time_per_epoch_s(const std::vector<double>& epoch_time_s, double train_time_s,
                                       int64_t steps, int64_t steps_per_epoch,
                                       bool* estimated = nullptr);

// "H:MM:SS" (hours unbounded), what a batch log reads well; seconds rounded down.
std::string format_duration(double seconds);
// Inverse of format_duration, also "M:SS" and plain seconds; nullopt if not such a duration.
std::optional<double> parse_duration(const std::string& text);

// Cumulative totals of a run at one step, carried across preemptions.
struct RunTotals {
  int64_t step = 0;                  // the optimizer step these totals are at
  int64_t steps = 0;                 // steps counted (steps of earlier starts included)
  double train_time_s = 0;           // see the definitions above
  int64_t train_samples = 0;         // real samples
  int64_t train_tokens = 0;          // real tokens
  double loss_sum = 0;               // sum of the counted steps' losses
  double final_loss = 0;             // the last step's loss
  double epoch_start_s = 0;          // train_time_s when the current epoch began
  std::vector<double> epoch_time_s;  // complete epochs, in order
};

// The totals at `step` (the step a checkpoint holds, inside 0-based epoch `epoch`) from a
// metrics.jsonl: the last step record of that step and the epoch records of epochs before
// `epoch`. nullopt when the file or the step record is missing (or predates these fields).
// A malformed line is an InputError naming the file and line.
std::optional<RunTotals> totals_at_step(const std::filesystem::path& metrics_jsonl, int64_t step,
                                        int64_t epoch);

// Keeps the totals of one run while it trains; the trainer tells it what happens.
class RunClock {
 public:
  RunClock(RunTotals carried, int64_t total_steps);
  // Time excluded from train_time_s (evaluation).
  void exclude(double seconds);
  // After each optimizer step: its real samples and tokens (global) and its loss.
  void step_done(int64_t step, int64_t samples, int64_t tokens, double loss);
  // At an epoch's end: records and returns its time.
  double epoch_done();
  double train_time_s() const;
  // Remaining steps x this start's mean step time; 0 before the first step of this start.
  double eta_s() const;
  const RunTotals& totals() const { return totals_; }  // train_time_s as of the last event

 private:
  RunTotals totals_;
  int64_t total_steps_;
  double carried_time_s_;
  int64_t steps_this_start_ = 0;
  double excluded_s_ = 0;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace zerotune::train
