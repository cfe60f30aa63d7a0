// What one finished (or stopped) training run reports, read back from its run directory's
// metrics.jsonl or from the .out file of its job: the inputs of `zerotune report`.
// A run may have several starts (preempted and resumed: one .out or metrics.jsonl holding
// several segments); each start is a Segment, and the figures cover the whole run, as
// train/run_figures.hpp defines them.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace zerotune::cli {

// One start of the run: its "run" line / config record.
struct RunSegment {
  std::string strategy;  // as the trainer named it: "dp", "zero3", ...
  std::optional<int> zero_stage;
  std::optional<bool> offload;
  std::string offload_optimizer;  // cpu | nvme (runs that logged it)
  std::string offload_param;      // none | cpu | nvme
  std::optional<double> offload_optimizer_ratio;
  std::string precision;
  std::optional<int> world_size;
  std::optional<int64_t> micro_batch_size;
  std::optional<int64_t> global_batch_size;
};

// One file of the run's forgetting check (data.retention_files), from its retention records.
struct RetentionFigures {
  std::optional<double> before_eval_loss;  // before the first step
  std::optional<double> before_eval_ppl;
  std::map<double, double> eval_loss_by_epoch;  // after each epoch (the last record of each)
  std::map<double, double> retention_pct_by_epoch;
};

struct RunResults {
  std::string name;  // the run directory's name, or the .out file's name without .out
  std::vector<RunSegment> segments;

  // What makes two runs comparable (the last start's, where given).
  std::optional<int64_t> parameters;
  std::string model_shape;  // "n_layer=12 n_head=12 n_embd=768 seq_len=1024 vocab_size=50257"
  std::string train_file;   // the token file's name
  std::optional<int64_t> data_seq_len;

  std::map<int64_t, double> loss_by_step;  // the last record of each step
  std::map<int64_t, double> tokens_per_s_by_step;
  std::optional<double> final_loss;         // the last step's loss
  std::optional<double> step_peak_mem_gib;  // highest mem_peak_gib of the step records
  double last_epoch = 0;                    // highest epoch of the step and eval records
  std::optional<int64_t> last_step;
  std::optional<int64_t> steps_per_epoch;
  std::map<double, double> eval_loss_by_epoch;  // the last eval of each epoch
  std::map<double, double> eval_samples_per_s_by_epoch;
  std::map<int64_t, double> eval_loss_by_step;
  std::map<int64_t, double> epoch_time_by_epoch;      // epoch records: complete epochs
  std::map<std::string, RetentionFigures> retention;  // by file name (retention/<file>/...)

  // Run totals of the last step record that carries them (metrics.jsonl), or its elapsed=.
  std::optional<double> step_train_time_s;
  std::optional<int64_t> step_train_steps;
  std::optional<int64_t> step_train_samples;
  std::optional<int64_t> step_train_tokens;
  std::vector<double> step_samples_per_s;  // each logged step's (a .out without totals)

  bool has_summary = false;  // a summary record was read: the run finished
  std::optional<double> train_runtime_s;
  std::optional<double> train_samples_per_s;
  std::optional<double> train_tokens_per_s;
  std::optional<double> summary_peak_mem_gib;
  std::optional<double> summary_epochs;
  std::optional<int64_t> summary_global_step;
  std::vector<double> summary_epoch_time_s;
  std::optional<double> summary_time_per_epoch_estimate_s;  // the trainer's, no complete epoch

  // memory/rank-*.csv of a run directory: highest allocated and reserved bytes of any rank.
  std::optional<double> csv_peak_alloc_gib;
  std::optional<double> csv_peak_reserved_gib;
  std::filesystem::path run_dir;  // empty for a .out or a metrics.jsonl given alone

  // time/epoch as run_figures.hpp defines it: mean of the complete epochs (epoch records,
  // else the summary's list); without one, the run's train time scaled to one epoch
  // (*estimated = true). nullopt without the figures.
  std::optional<double> time_per_epoch_s(bool* estimated = nullptr) const;
  // The run's train time: the summary's, else the last step totals.
  std::optional<double> train_time_s() const;
  // Real samples / train time: the summary's, else from step totals, else (a .out without
  // either) the mean of the logged steps' samples_per_s (*estimated = true).
  std::optional<double> samples_per_s(bool* estimated = nullptr) const;
  std::optional<double> tokens_per_s() const;
  // The summary's peak_mem_gib, else the highest of the step records.
  std::optional<double> peak_mem_gib() const;
  std::optional<double> final_eval_loss() const;
  // Mean eval_samples_per_second over the epochs.
  std::optional<double> eval_samples_per_s() const;
  const RunSegment& last_segment() const;
};

// Reads a run directory (its metrics.jsonl and memory/rank-*.csv), a metrics.jsonl file or a
// .out file (its key=value lines; others are skipped). Throws InputError for a missing file,
// a malformed line ("file:line: ...") or a file with no run records at all.
RunResults read_run_results(const std::filesystem::path& path);

}  // namespace zerotune::cli
