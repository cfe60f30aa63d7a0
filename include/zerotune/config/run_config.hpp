// The run configuration: one struct per YAML section, with defaults here and the
// documentation and validation of every field in visit_fields()
// (src/config/run_config_fields.hpp), which the YAML reader, the --set overrides, the
// resolved-config writer and the reference (docs/config-reference.md) all walk.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace zerotune::config {

struct ModelConfig {
  std::string arch = "gpt2";
  int64_t n_layer = 2;
  int64_t n_head = 2;
  int64_t n_embd = 64;
  int64_t seq_len = 64;
  int64_t vocab_size = 256;
  std::string init = "random";  // "random", a HF GPT-2 safetensors file or model directory
  double init_std = 0.02;

  bool operator==(const ModelConfig&) const = default;
};

struct DataConfig {
  std::string train_file;  // HDF5 token file (zerotune prep); "synthetic" = built-in demo corpus
  std::string eval_file;   // optional; "" = no eval
  int64_t eval_max_samples = 0;  // > 0: evaluate on the first N examples (whole eval batches)
  // Token files of other data evaluated before training and after each epoch (forgetting).
  std::vector<std::string> retention_files;
  bool shuffle = true;
  bool drop_last = true;
  int64_t prefetch_steps = 2;

  bool operator==(const DataConfig&) const = default;
};

struct TrainConfig {
  int64_t micro_batch_size = 4;
  int64_t global_batch_size = 8;
  int64_t gradient_accumulation_steps = 0;  // > 0: used instead of global_batch_size
  int64_t epochs = 1;
  int64_t max_steps = 0;  // > 0 overrides epochs
  double lr = 3e-4;
  std::string schedule = "cosine";  // cosine | linear | constant
  int64_t warmup_steps = 0;
  double min_lr_ratio = 0.0;  // final lr = lr * min_lr_ratio for cosine / linear
  double weight_decay = 0.0;
  double grad_clip = 1.0;  // max global L2 norm; 0 = off
  uint64_t seed = 1234;
  std::string precision = "fp32";       // fp32 | bf16 | fp16
  std::string optimizer = "adamw";      // adamw | sgd
  std::string eval_strategy = "epoch";  // epoch | steps | no (Hugging Face's names)
  int64_t eval_steps = 0;               // with eval_strategy steps
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double momentum = 0.9;                  // sgd
  bool activation_checkpointing = false;  // recompute each block's activations in backward

  bool operator==(const TrainConfig&) const = default;
};

// fp16 dynamic loss scaling, with DeepSpeed's names and defaults.
struct Fp16Config {
  double loss_scale = 0;             // 0: dynamic; > 0: this fixed scale
  int64_t initial_scale_power = 16;  // dynamic scaling starts at 2^this
  int64_t loss_scale_window = 1000;  // clean steps before the scale doubles
  int64_t hysteresis = 2;            // overflows tolerated before the scale halves
  double min_loss_scale = 1;         // the scale never drops below this

  bool operator==(const Fp16Config&) const = default;
};

struct ZeroConfig {
  int64_t stage = 0;     // 0 (data parallel), 1, 2, 3
  bool offload = false;  // optimizer state and step off the device (offload_optimizer != none)
  std::string offload_optimizer = "none";  // none | cpu | nvme: where the optimizer state lives
  double offload_optimizer_ratio = 1.0;    // fraction offloaded; the first units' rest stays
  std::string offload_param = "none";      // none | cpu | nvme: stage 3 parameter shards
  std::string nvme_path;                   // folder of the nvme tier's files (one per rank)
  bool pin_memory = true;                  // page-locked host buffers for GPU offload
  // Communication, with DeepSpeed's names (docs/config-reference.md says what each does here).
  bool overlap_comm = true;                      // collectives run beside compute
  int64_t reduce_bucket_size = 500000000;        // gradient elements in flight (stages 2, 3)
  int64_t prefetch_bucket_size = 50000000;       // parameter elements gathered ahead (stage 3)
  int64_t param_persistence_threshold = 100000;  // smaller units stay gathered (stage 3)
  std::string reduce_dtype = "fp32";             // fp32 | bf16 | fp16: gradient collectives

  bool operator==(const ZeroConfig&) const = default;
};

struct CheckpointConfig {
  int64_t every_n_steps = 0;  // 0 = only at the end (and on a stop signal)
  int64_t keep_last = 2;
  std::string save_strategy = "steps";  // steps (every_n_steps) | epoch | no
  bool export_hf = false;  // write RUN_DIR/export/ (Hugging Face) from the last checkpoint

  bool operator==(const CheckpointConfig&) const = default;
};

// How long a rank waits for its peers before it decides one died or stopped answering.
struct CommConfig {
  int64_t timeout_s = 300;              // any collective of the training loop
  int64_t checkpoint_timeout_s = 1800;  // while a checkpoint is written or read (slow I/O)

  bool operator==(const CommConfig&) const = default;
};

struct LogConfig {
  int64_t every_n_steps = 10;
  std::string level = "info";  // info | debug (rank 0's stdout; rank files are always debug)

  bool operator==(const LogConfig&) const = default;
};

struct MonitorConfig {
  int64_t interval_ms = 200;

  bool operator==(const MonitorConfig&) const = default;
};

struct RunSection {
  std::string root = "runs";
  std::string name = "zerotune";
  std::string device = "auto";  // auto | cpu | cuda

  bool operator==(const RunSection&) const = default;
};

struct RunConfig {
  ModelConfig model;
  DataConfig data;
  TrainConfig train;
  Fp16Config fp16;
  ZeroConfig zero;
  CheckpointConfig checkpoint;
  CommConfig comm;
  LogConfig log;
  MonitorConfig monitor;
  RunSection run;
  std::string source;  // where it came from: a file path or "<embedded demo>"

  bool operator==(const RunConfig&) const = default;
};

// Reads YAML text (source names it in errors), applies overrides, validates every field.
// An override is "section.key=value" (a leading "--set " or "--set=" is allowed), the value read
// as a YAML scalar with the same checks as in a file (a list field: comma-separated items or a
// flow sequence). Throws InputError
// "source:line: section.key: expected ..., got ..." ("--set section.key: ..." for overrides).
RunConfig parse_run_config(const std::string& yaml_text, const std::string& source,
                           const std::vector<std::string>& overrides = {});
RunConfig load_run_config(const std::string& path, const std::vector<std::string>& overrides = {});

// Checks that need the world size: global batch divisible by micro batch x world.
// Returns gradient accumulation steps (train.gradient_accumulation_steps when that is set).
int64_t grad_accum_steps(const RunConfig& config, int world_size);

// Where a field's value came from, for error messages: "--set section.key" when an override
// set it, else the config's source (a file path or "<embedded demo config>").
std::string origin_of(const RunConfig& config, const std::vector<std::string>& overrides,
                      const std::string& key);

// With train.gradient_accumulation_steps set, sets train.global_batch_size to
// micro_batch_size x world_size x gradient_accumulation_steps (DeepSpeed's train_batch_size);
// otherwise changes nothing. Call once the world size is known, before training.
void resolve_global_batch(RunConfig& config, int world_size);

// The resolved config as YAML (all fields, documented defaults included).
std::string to_yaml(const RunConfig& config);

// Markdown table of every field: key, type, default, meaning (README's config reference).
std::string reference_markdown();

}  // namespace zerotune::config
