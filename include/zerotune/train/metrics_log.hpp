// What rank 0 tells the user: key=value lines on stdout (the .out file) in the DESIGN.md form
// with Hugging Face Trainer's names, and the same records at full precision in metrics.jsonl.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace zerotune::train {

struct StepRecord {
  int64_t step = 0;
  int64_t total_steps = 0;
  int64_t epoch = 1;          // 1-based
  double epoch_progress = 0;  // fractional epochs done, as Hugging Face logs "epoch"
  double loss = 0;
  double lr = 0;
  double grad_norm = 0;
  double step_ms = 0;
  double tokens_per_s = 0;   // real tokens of this step / its time (run_figures.hpp)
  double samples_per_s = 0;  // real samples of this step / its time
  double mem_alloc_gib = 0;  // live buffers now (GPU: the stream-ordered pool's used bytes)
  double mem_peak_gib = 0;   // GPU: the pool's high-water mark (torch's max_memory_allocated);
                             // CPU: the peak resident set size
  double loss_scale = 0;     // fp16's loss scale; 0 (not printed) in bf16 and fp32
  // Offloaded optimizer (printed when >= 0): how long the host update that this step's forward
  // used took (the previous step's, run in the background), and how long this step's forward
  // waited for it. wait near 0: the update is hidden; near update: the host is the bound.
  double offload_update_ms = -1;
  double offload_wait_ms = -1;
  // Run totals after this step, over every start of the run (run_figures.hpp).
  double train_time_s = 0;  // printed as elapsed=H:MM:SS
  double eta_s = 0;         // printed as eta=H:MM:SS
  int64_t train_steps = 0;
  int64_t train_samples = 0;
  int64_t train_tokens = 0;
};

// The end of a complete epoch.
struct EpochRecord {
  int64_t epoch = 1;  // 1-based
  int64_t step = 0;   // the epoch's last step
  double epoch_time_s = 0;
  double train_time_s = 0;  // run total at the epoch's end
};

struct EvalRecord {
  int64_t step = 0;
  int64_t epoch = 1;
  double eval_loss = 0;
  double eval_ppl = 0;
  double eval_samples_per_second = 0;
  int64_t eval_samples = 0;
};

// One file of data.retention_files evaluated (the forgetting check): before the first step
// (epoch 0, no before_* figures) or after an epoch. In metrics.jsonl the figures are named
// retention/<file>/<figure>, as Hugging Face names a metric of one of several eval sets
// (docs/metrics.md):
//   retention_pct = 100 * before_eval_ppl / eval_ppl   (100: nothing forgotten; above 100: better)
struct RetentionRecord {
  int64_t step = 0;
  int64_t epoch = 0;  // 1-based; 0 before the first step
  std::string file;   // the token file's name without folder and extension
  double eval_loss = 0;
  double eval_ppl = 0;
  int64_t eval_samples = 0;
  std::optional<double> before_eval_loss;  // absent before the first step, or when unknown
  std::optional<double> before_eval_ppl;
  std::optional<double> retention_pct;
};

// Below this retention the .out gets a warning line.
inline constexpr double kRetentionWarningPct = 80.0;

// The run's figures as run_figures.hpp defines them, over every start of the run.
struct SummaryRecord {
  double train_runtime = 0;  // train_time_s: evaluation excluded
  double train_samples_per_second = 0;
  double train_tokens_per_second = 0;
  double train_steps_per_second = 0;
  double train_loss = 0;  // mean of every step's loss
  double final_loss = 0;  // the last step's loss
  int64_t steps_per_epoch = 0;
  int64_t epochs = 0;  // epochs begun
  int64_t global_step = 0;
  int64_t train_samples = 0;
  int64_t train_tokens = 0;
  double peak_mem_gib = 0;          // the largest mem_peak_gib of the run
  double peak_alloc_gib = 0;        // GPU pool: high-water mark of allocated bytes
  double peak_reserved_gib = 0;     // GPU pool: high-water mark of reserved bytes
  double peak_device_used_gib = 0;  // the card's used memory (NVML; every process), CPU: RSS
  std::optional<double> time_per_epoch_s;
  bool time_per_epoch_estimated = false;  // no complete epoch: scaled from the steps done
  std::vector<double> epoch_time_s;       // complete epochs only
};

std::string format_step_line(const StepRecord& r);
std::string format_eval_line(const EvalRecord& r);
std::string format_epoch_line(const EpochRecord& r);
std::string format_summary_line(const SummaryRecord& r);
std::string format_retention_line(const RetentionRecord& r);

class MetricsLog {
 public:
  // Only rank 0 writes; other ranks get a MetricsLog that does nothing.
  MetricsLog(const std::filesystem::path& jsonl_path, bool enabled);
  void config(const nlohmann::json& fields);
  void step(const StepRecord& r, bool print);
  void eval(const EvalRecord& r);
  void epoch(const EpochRecord& r);
  void summary(const SummaryRecord& r);
  void retention(const RetentionRecord& r);  // and a warning line below kRetentionWarningPct
  void event(const nlohmann::json& fields);  // checkpoint saved, resumed, stopped, ...

 private:
  void write(const nlohmann::json& record);
  bool enabled_;
  std::ofstream out_;
};

}  // namespace zerotune::train
