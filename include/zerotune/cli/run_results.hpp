// What one finished (or stopped) training run reports, read back from its run directory's
// metrics.jsonl or from the .out file of its job: the inputs of `zerotune report`.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace zerotune::cli {

struct RunResults {
  std::string name;      // the run directory's name, or the .out file's name without .out
  std::string strategy;  // as the trainer named it: "dp", "zero3", ...
  std::optional<int> zero_stage;
  std::optional<bool> offload;
  std::string precision;
  std::optional<int> world_size;

  std::optional<double> final_loss;             // training loss of the last step record
  std::optional<double> step_peak_mem_gib;      // highest mem_peak_gib of the step records
  double last_epoch = 0;                        // highest epoch of the step and eval records
  std::map<double, double> eval_loss_by_epoch;  // the last eval of each epoch

  bool has_summary = false;  // a summary record was read: the run finished
  std::optional<double> train_runtime_s;
  std::optional<double> train_samples_per_s;
  std::optional<double> summary_peak_mem_gib;
  std::optional<double> summary_epochs;
  std::vector<double> epoch_time_s;

  // Mean of epoch_time_s; else train_runtime / epochs (the summary's, else the highest epoch
  // seen, else 1); nullopt without either.
  std::optional<double> time_per_epoch_s() const;
  // The summary's peak_mem_gib, else the highest of the step records.
  std::optional<double> peak_mem_gib() const;
};

// Reads a run directory (its metrics.jsonl), a metrics.jsonl file or a .out file (its
// key=value lines; others are skipped). Throws InputError for a missing file, a malformed
// line ("file:line: ...") or a file with no run records at all.
RunResults read_run_results(const std::filesystem::path& path);

}  // namespace zerotune::cli
