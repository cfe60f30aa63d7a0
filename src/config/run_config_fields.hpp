// The run config's schema: every field of every section, once, with its meaning and what it
// accepts. The YAML reader, the --set overrides, the resolved-config writer and the reference
// table all walk these functions, so a field added here is read, written and documented.
//
// A visitor provides
//   template <class S> void section(std::string_view name, std::string_view meaning, S& s);
//   template <class T, class Check>
//   void field(std::string_view key, T& value, std::string_view meaning, const Check& check);
// and its section() calls visit_fields(*this, s) when it wants the fields.
#pragma once

#include <string>
#include <vector>

#include "field_checks.hpp"
#include "zerotune/config/run_config.hpp"

namespace zerotune::config {

// The rules between fields that parse_run_config and grad_accum_steps enforce, in words, for
// the reference (defined beside the checks in run_config.cpp).
std::vector<std::string> cross_field_rules();

// Upper bounds of fields whose larger values exhaust memory before anything useful happens
// (model shape, read-ahead), overflow products of fields (batch sizes x world size, steps x
// epochs), or turn a wait into a busy loop. Far above any real run: GPT-3 175B has 96 layers,
// 96 heads, n_embd 12288 and a 50257-token vocabulary.
inline constexpr int64_t kMaxLayers = 1024;
inline constexpr int64_t kMaxHeads = 1024;
inline constexpr int64_t kMaxEmbd = 65536;
inline constexpr int64_t kMaxSeqLen = 1048576;          // 2^20 tokens
inline constexpr int64_t kMaxVocabSize = 16777216;      // 2^24 tokens
inline constexpr int64_t kMaxMicroBatch = 1048576;      // 2^20 examples
inline constexpr int64_t kMaxGlobalBatch = 1073741824;  // 2^30 examples
inline constexpr int64_t kMaxEpochs = 1000000;
inline constexpr int64_t kMaxSteps = 1000000000000;  // 10^12 optimizer steps
inline constexpr int64_t kMaxPrefetchSteps = 64;
inline constexpr int64_t kMaxKeptCheckpoints = 1000000;
inline constexpr int64_t kMaxMonitorIntervalMs = 3600000;  // one hour
// 255 bytes in a file name, less "-" and a job id or timestamp.
inline constexpr size_t kMaxRunNameBytes = 200;

template <class V>
void visit_fields(V& v, ModelConfig& c) {
  v.field("arch", c.arch, "model family", OneOf{{"gpt2"}});
  v.field("n_layer", c.n_layer, "number of transformer blocks", Positive{kMaxLayers});
  v.field("n_head", c.n_head, "attention heads per block; must divide n_embd", Positive{kMaxHeads});
  v.field("n_embd", c.n_embd, "width of the residual stream (embedding size)", Positive{kMaxEmbd});
  v.field("seq_len", c.seq_len, "tokens per example (context length)", Positive{kMaxSeqLen});
  v.field("vocab_size", c.vocab_size, "vocabulary size (50257 for the GPT-2 tokenizer)",
          Positive{kMaxVocabSize});
  v.field("init", c.init,
          "`random`, a safetensors file with Hugging Face GPT-2 names, or a Hugging Face model "
          "directory (config.json + model.safetensors or shards with "
          "model.safetensors.index.json; fp32, fp16 or bf16) whose config.json gives the "
          "shape: model keys set here must agree with it",
          NonEmpty{});
  v.field("init_std", c.init_std, "standard deviation of the random normal initialisation",
          Positive{});
}

template <class V>
void visit_fields(V& v, DataConfig& c) {
  v.field("train_file", c.train_file,
          "HDF5 token file written by `zerotune prep`, or `synthetic` for the built-in demo corpus",
          AnyValue{});
  v.field("eval_file", c.eval_file,
          "HDF5 token file to evaluate on after each epoch; empty: no eval", AnyValue{});
  v.field("eval_max_samples", c.eval_max_samples,
          "evaluate on the first N examples of eval_file (rounded up to whole eval batches); "
          "0: all",
          NonNegative{});
  v.field("retention_files", c.retention_files,
          "token files of other data (e.g. WikiText while fine-tuning on SQuAD) evaluated before "
          "the first step and after each epoch, as eval_file (eval_max_samples applies): the "
          "log prints each file's eval_loss and retention = perplexity before / perplexity now "
          "in %, with a warning below 80% (docs/metrics.md); `[a.h5, b.h5]`, a block list, or "
          "`--set data.retention_files=a.h5,b.h5`",
          NonEmptyItems{});
  v.field("shuffle", c.shuffle, "reshuffle the examples every epoch (seeded by train.seed)",
          AnyValue{});
  v.field("drop_last", c.drop_last, "drop the last incomplete global batch of an epoch",
          AnyValue{});
  v.field("prefetch_steps", c.prefetch_steps,
          "batches read ahead on a background thread; 0: read on the training thread",
          NonNegative{kMaxPrefetchSteps});
}

template <class V>
void visit_fields(V& v, TrainConfig& c) {
  v.field("micro_batch_size", c.micro_batch_size, "examples per rank per forward/backward",
          Positive{kMaxMicroBatch});
  v.field("global_batch_size", c.global_batch_size,
          "examples per optimizer step over all ranks: micro_batch_size x world size x "
          "gradient accumulation steps",
          Positive{kMaxGlobalBatch});
  v.field("gradient_accumulation_steps", c.gradient_accumulation_steps,
          "micro-batches per rank per optimizer step, given instead of global_batch_size (set "
          "one of the two, as in DeepSpeed): the global batch is then micro_batch_size x world "
          "size x this, so it follows the rank count; 0: derived from global_batch_size",
          NonNegative{kMaxGlobalBatch});
  v.field("epochs", c.epochs, "passes over the training data", Positive{kMaxEpochs});
  v.field("max_steps", c.max_steps, "optimizer steps to run; > 0 overrides epochs",
          NonNegative{kMaxSteps});
  v.field("lr", c.lr, "peak learning rate", Positive{});
  v.field("schedule", c.schedule, "learning-rate schedule after warmup",
          OneOf{{"cosine", "linear", "constant"}});
  v.field("warmup_steps", c.warmup_steps, "steps of linear warmup from 0 to lr",
          NonNegative{kMaxSteps});
  v.field("min_lr_ratio", c.min_lr_ratio, "final lr = lr x min_lr_ratio (cosine and linear)",
          Fraction{true});
  v.field("weight_decay", c.weight_decay,
          "weight decay on matmul weights and embeddings, not on biases and LayerNorm weights "
          "(as Hugging Face Trainer); decoupled for adamw, added to the gradient for sgd",
          NonNegative{});
  v.field("grad_clip", c.grad_clip, "clip the global gradient L2 norm to this; 0: no clipping",
          NonNegative{});
  v.field("seed", c.seed, "seed of the random initialisation and of the shuffling", AnyValue{});
  v.field("precision", c.precision,
          "compute precision; master weights and optimizer state stay fp32",
          OneOf{{"fp32", "bf16", "fp16"}});
  v.field("optimizer", c.optimizer, "optimizer", OneOf{{"adamw", "sgd"}});
  v.field("beta1", c.beta1, "AdamW first-moment decay", Fraction{false});
  v.field("beta2", c.beta2, "AdamW second-moment decay", Fraction{false});
  v.field("eps", c.eps, "AdamW denominator epsilon", Positive{});
  v.field("momentum", c.momentum, "SGD momentum", Fraction{false});
  v.field("eval_strategy", c.eval_strategy,
          "when to evaluate data.eval_file (Hugging Face's eval_strategy): `epoch` at each "
          "epoch end, `steps` every eval_steps steps, `no` never; a run also evaluates where it "
          "ends unless `no`",
          OneOf{{"epoch", "steps", "no"}});
  v.field("eval_steps", c.eval_steps, "steps between evaluations with eval_strategy: steps",
          NonNegative{});
  v.field("activation_checkpointing", c.activation_checkpointing,
          "keep only each block's output in forward and recompute the block in backward (less "
          "activation memory for about a third more compute)",
          AnyValue{});
}

template <class V>
void visit_fields(V& v, Fp16Config& c) {
  v.field("loss_scale", c.loss_scale, "0: dynamic loss scaling; > 0: this fixed scale",
          NonNegative{});
  v.field("initial_scale_power", c.initial_scale_power,
          "dynamic scaling starts at 2^initial_scale_power", IntRange{0, 32});
  v.field("loss_scale_window", c.loss_scale_window,
          "steps without overflow after which the scale doubles", Positive{});
  v.field("hysteresis", c.hysteresis,
          "overflowing steps tolerated before the scale halves (each overflow skips its step)",
          Positive{});
  v.field("min_loss_scale", c.min_loss_scale, "the dynamic scale never falls below this",
          Positive{});
}

template <class V>
void visit_fields(V& v, ZeroConfig& c) {
  v.field("stage", c.stage,
          "ZeRO stage: 0 data parallel, 1 shard optimizer state, 2 and gradients, 3 and "
          "parameters",
          IntRange{0, 3});
  v.field("offload", c.offload,
          "keep the optimizer shard and its step on the CPU (stage >= 1); true is "
          "offload_optimizer: cpu",
          AnyValue{});
  v.field("offload_optimizer", c.offload_optimizer,
          "where the fp32 master weights and optimizer state of the rank's shard live (DeepSpeed's "
          "offload_optimizer.device, stage >= 1): `none` on the device, `cpu` in host memory "
          "(updated there by a threaded AdamW), `nvme` in a file per rank under zero.nvme_path",
          OneOf{{"none", "cpu", "nvme"}});
  v.field("offload_optimizer_ratio", c.offload_optimizer_ratio,
          "fraction of the parameters whose optimizer state is offloaded (DeepSpeed's "
          "offload_optimizer.ratio); the state of the first units, the rest, stays on the device "
          "and is updated there, so the next forward starts on them while the host updates the "
          "others: more device memory, a shorter step",
          Fraction{true});
  v.field("offload_param", c.offload_param,
          "where the rank's stage-3 parameter shards live between uses (DeepSpeed's "
          "offload_param.device): `none`, `cpu` or `nvme`",
          OneOf{{"none", "cpu", "nvme"}});
  v.field("nvme_path", c.nvme_path,
          "folder for the nvme tier's files (a local NVMe mount, writable, with room for the "
          "state); needed when an offload is `nvme`; the files are unlinked once open, so none "
          "stays behind, however the run ends",
          AnyValue{});
  v.field("pin_memory", c.pin_memory,
          "page-locked host buffers for offload on GPUs (faster, asynchronous copies)", AnyValue{});
  v.field("overlap_comm", c.overlap_comm,
          "run gradient reductions and parameter gathers beside compute (false: wait for each "
          "collective as it is issued; for measuring the exposed communication)",
          AnyValue{});
  v.field("reduce_bucket_size", c.reduce_bucket_size,
          "stages 2 and 3: gradient elements whose reduction may be in flight while backward goes "
          "on; bounds the gradient scratch (at least one unit is always in flight)",
          Positive{});
  v.field("prefetch_bucket_size", c.prefetch_bucket_size,
          "stage 3: parameter elements gathered ahead of the unit in use (at least the next unit)",
          NonNegative{});
  v.field("param_persistence_threshold", c.param_persistence_threshold,
          "stage 3: units with fewer elements than this stay gathered for the whole run "
          "(LayerNorms, small models), saving their gathers",
          NonNegative{});
  v.field("reduce_dtype", c.reduce_dtype,
          "dtype of gradient collectives: fp32, or the compute dtype (bf16/fp16: half the bytes, "
          "sums rounded to it; GPU runs only)",
          OneOf{{"fp32", "bf16", "fp16"}});
}

template <class V>
void visit_fields(V& v, CheckpointConfig& c) {
  v.field("every_n_steps", c.every_n_steps,
          "checkpoint every this many steps (with save_strategy steps or epoch); 0: only at the "
          "end and on a stop signal",
          NonNegative{});
  v.field("save_strategy", c.save_strategy,
          "when to checkpoint besides a stop signal (Hugging Face's save_strategy): `steps` every "
          "every_n_steps and at the end, `epoch` at each epoch end (after its evaluation), at "
          "the end, and every every_n_steps when that is > 0; `no` never (benchmarks; a stop "
          "signal still saves)",
          OneOf{{"steps", "epoch", "no"}});
  v.field("keep_last", c.keep_last,
          "complete checkpoints kept, older ones deleted (Hugging Face's save_total_limit), "
          "except that epoch-end checkpoints of save_strategy epoch are all kept and not "
          "counted: keep_last rotates only the interval, end and stop-signal ones "
          "(docs/slurm.md)",
          Positive{kMaxKeptCheckpoints});
  v.field("export_hf", c.export_hf,
          "at the end of training, also write the last checkpoint to `RUN_DIR/export/` as a "
          "Hugging Face model directory (fp32; `zerotune export` for other dtypes and sharding)",
          AnyValue{});
}

template <class V>
void visit_fields(V& v, CommConfig& c) {
  v.field("timeout_s", c.timeout_s,
          "seconds a rank waits in a collective before it ends the job (exit 4: a peer died or "
          "stopped answering)",
          Positive{});
  v.field("checkpoint_timeout_s", c.checkpoint_timeout_s,
          "the same wait while a checkpoint is written or read, where one rank's slow I/O is "
          "not a failure",
          Positive{});
}

template <class V>
void visit_fields(V& v, LogConfig& c) {
  v.field("every_n_steps", c.every_n_steps, "write a step line every this many steps", Positive{});
  v.field("level", c.level,
          "what rank 0 writes to stdout (the .out): `info`, or `debug` for the per-rank detail "
          "too and NCCL's start-up report (NCCL_DEBUG=INFO, NCCL_DEBUG_SUBSYS=INIT,GRAPH, "
          "unless NCCL_DEBUG is set already)",
          OneOf{{"info", "debug"}});
}

template <class V>
void visit_fields(V& v, MonitorConfig& c) {
  v.field("interval_ms", c.interval_ms, "memory monitor sampling interval",
          Positive{kMaxMonitorIntervalMs});
}

template <class V>
void visit_fields(V& v, RunSection& c) {
  v.field("root", c.root, "directory that holds the run directories", NonEmpty{});
  v.field("name", c.name,
          "job name: the run directory is `ROOT/NAME-ID` (ID: the SLURM job id, else a timestamp); "
          "bytes other than letters, digits, `.`, `_`, `-` and `+` become `_` there, and so does "
          "a leading `.` (`exp #2` -> `exp__2`)",
          FileNamePart{kMaxRunNameBytes});
  v.field("device", c.device,
          "where to train: `cuda` (one GPU per rank, picked by the node-local rank), `cpu`, or "
          "`auto` (CUDA when the build has it and a GPU is visible)",
          OneOf{{"auto", "cpu", "cuda"}});
}

template <class V>
void visit_sections(V& v, RunConfig& c) {
  v.section("model", "The network's shape and initialisation.", c.model);
  v.section("data", "Training and evaluation data.", c.data);
  v.section("train", "Batch sizes, schedule, optimizer and precision.", c.train);
  v.section("fp16", "Dynamic loss scaling of `train.precision: fp16` (DeepSpeed's `fp16` block).",
            c.fp16);
  v.section("zero", "How model state is sharded over the ranks (ZeRO, as in DeepSpeed).", c.zero);
  v.section("checkpoint", "Checkpoints, under `RUN_DIR/checkpoints/`.", c.checkpoint);
  v.section("comm", "Waiting for the other ranks.", c.comm);
  v.section("log", "The key=value lines of the .out log and metrics.jsonl.", c.log);
  v.section("monitor", "The background memory monitor, writing `RUN_DIR/memory/`.", c.monitor);
  v.section("run", "Where the run directory goes.", c.run);
}

}  // namespace zerotune::config
