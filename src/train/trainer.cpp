#include "zerotune/train/trainer.hpp"

#include <chrono>
#include <cmath>
#include <memory>
#include <optional>

#include "zerotune/base/error.hpp"
#include "zerotune/data/batch_loader.hpp"
#include "zerotune/data/synthetic_corpus.hpp"
#include "zerotune/model/gpt2.hpp"
#include "zerotune/runtime/logging.hpp"
#include "zerotune/runtime/stop_signal.hpp"
#include "zerotune/train/checkpoint.hpp"
#include "zerotune/train/grad_clip.hpp"
#include "zerotune/train/lr_schedule.hpp"
#include "zerotune/train/memory_report.hpp"
#include "zerotune/train/metrics_log.hpp"
#include "zerotune/train/model_init.hpp"
#include "zerotune/train/nonfinite_guard.hpp"
#include "zerotune/train/resume.hpp"
#include "zerotune/train/zero_engine.hpp"

namespace zerotune::train {

namespace {

using Clock = std::chrono::steady_clock;
constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// "synthetic" names the built-in demo corpus, generated into the job directory once.
std::string resolve_data_file(const std::string& name, const std::string& split,
                              const RunContext& ctx, int64_t examples, uint64_t seed) {
  if (name != "synthetic") return name;
  const auto path = ctx.job_dir.root() / ("synthetic-" + split + ".h5");
  if (ctx.topology.is_root() && !std::filesystem::exists(path)) {
    data::write_synthetic_token_file(path.string(), examples, ctx.config.model.seq_len, seed,
                                     split);
  }
  ctx.comm->barrier();
  return path.string();
}

std::shared_ptr<const data::TokenFile> open_token_file(const std::string& path,
                                                       const config::ModelConfig& m) {
  auto file = std::make_shared<const data::TokenFile>(path);
  data::check_fits_model(file->info(), m.vocab_size, m.seq_len);
  return file;
}

std::string strategy_name(const config::RunConfig& c) {
  std::string s = c.zero.stage == 0 ? "dp" : "zero" + std::to_string(c.zero.stage);
  if (c.zero.offload) s += "_offload";
  return s;
}

class Trainer {
 public:
  explicit Trainer(RunContext& ctx)
      : ctx_(ctx),
        cfg_(ctx.config),
        comm_(*ctx.comm),
        shape_{cfg_.model.n_layer, cfg_.model.n_head, cfg_.model.n_embd, cfg_.model.seq_len,
               cfg_.model.vocab_size},
        layout_(model::make_gpt2_layout(shape_)),
        grad_accum_(config::grad_accum_steps(cfg_, comm_.size())),
        metrics_(ctx.job_dir.metrics_file(), ctx.topology.is_root()) {
    check_device_support();
    OptimizerSettings opt;
    opt.kind = parse_optimizer_kind(cfg_.train.optimizer);
    opt.beta1 = cfg_.train.beta1;
    opt.beta2 = cfg_.train.beta2;
    opt.eps = cfg_.train.eps;
    opt.momentum = cfg_.train.momentum;
    opt.weight_decay = cfg_.train.weight_decay;
    engine_ =
        ZeroEngine::create(static_cast<int>(cfg_.zero.stage), layout_, opt, comm_, *ctx.device);
    model_ = std::make_unique<model::Gpt2<float>>(shape_, cfg_.train.micro_batch_size);

    const std::string train_path =
        resolve_data_file(cfg_.data.train_file, "train", ctx, 6000, cfg_.train.seed + 11);
    train_file_ = open_token_file(train_path, cfg_.model);
    data::LoaderConfig lc;
    lc.micro_batch = cfg_.train.micro_batch_size;
    lc.grad_accum = grad_accum_;
    lc.world = comm_.size();
    lc.rank = comm_.rank();
    lc.seed = cfg_.train.seed;
    lc.shuffle = cfg_.data.shuffle;
    lc.drop_last = cfg_.data.drop_last;
    lc.prefetch_steps = static_cast<int>(cfg_.data.prefetch_steps);
    train_loader_ = std::make_unique<data::BatchLoader>(train_file_, lc);
    if (train_loader_->steps_per_epoch() == 0) {
      throw InputError(train_path + ": " + std::to_string(train_file_->info().num_examples) +
                       " examples make no full global batch of " +
                       std::to_string(cfg_.train.global_batch_size) +
                       " (train.global_batch_size); lower it or set data.drop_last: false");
    }
    if (!cfg_.data.eval_file.empty()) {
      const std::string eval_path =
          resolve_data_file(cfg_.data.eval_file, "validation", ctx, 256, cfg_.train.seed + 12);
      eval_file_ = open_token_file(eval_path, cfg_.model);
    }
    total_steps_ = cfg_.train.max_steps > 0 ? cfg_.train.max_steps
                                            : cfg_.train.epochs * train_loader_->steps_per_epoch();
    targets_.resize(grad_accum_ * cfg_.train.micro_batch_size * cfg_.model.seq_len);
    schedule_ = std::make_unique<LrSchedule>(cfg_.train.lr, parse_lr_decay(cfg_.train.schedule),
                                             cfg_.train.warmup_steps, total_steps_,
                                             cfg_.train.min_lr_ratio);
  }

  int run() {
    log_start();
    TrainingProgress progress = restore_or_init();
    if (const int stop = comm_.all_reduce_value<int32_t>(runtime::stop_signal_received(),
                                                         comm::ReduceOp::kMax)) {
      return log_early_stop(progress.step, stop);
    }
    train_loader_->seek(progress.position);
    const auto run_start = Clock::now();
    int64_t steps_this_run = 0, samples_this_run = 0;
    double loss_sum_this_run = 0;
    std::vector<double> epoch_times;
    auto epoch_start = Clock::now();

    while (progress.step < total_steps_) {
      std::optional<data::StepBatch> batch = train_loader_->next();
      if (!batch) {  // epoch boundary
        epoch_times.push_back(seconds_since(epoch_start));
        evaluate(progress.step, progress.position.epoch + 1);
        progress.position = train_loader_->position();
        epoch_start = Clock::now();
        continue;
      }
      const auto t0 = Clock::now();
      const double loss = train_step(*batch, progress.step);
      check_finite_step(progress.step + 1, loss, grad_norm_, cfg_.train.precision == "fp16");
      progress.step += 1;
      progress.position = train_loader_->position();
      const double step_s = seconds_since(t0);
      ++steps_this_run;
      samples_this_run += batch->global_samples;
      loss_sum_this_run += loss;
      log_step(progress, loss, step_s, *batch);

      // Every rank must agree to stop at the same step, so the flag is all-reduced.
      const int stop =
          comm_.all_reduce_value<int32_t>(runtime::stop_signal_received(), comm::ReduceOp::kMax);
      if (stop) {
        save(progress, "preempted");
        runtime::log().info("stopping after step {} on {}: exit {} asks the job script to requeue",
                            progress.step, runtime::stop_signal_name(stop), kExitRequeue);
        metrics_.event({{"type", "stopped"},
                        {"step", progress.step},
                        {"signal", runtime::stop_signal_name(stop)}});
        return kExitRequeue;
      }
      if (cfg_.checkpoint.every_n_steps > 0 && progress.step % cfg_.checkpoint.every_n_steps == 0 &&
          progress.step < total_steps_) {
        save(progress, "interval");
      }
    }
    // A run that ends mid-epoch (max_steps) still reports an eval of where it stopped.
    if (progress.position.consumed_samples > 0 || epoch_times.empty()) {
      epoch_times.push_back(seconds_since(epoch_start));
      evaluate(progress.step, progress.position.epoch + 1);
    }
    save(progress, "end");

    SummaryRecord s;
    s.train_runtime = seconds_since(run_start);
    s.train_samples_per_second = samples_this_run / std::max(s.train_runtime, 1e-9);
    s.train_steps_per_second = steps_this_run / std::max(s.train_runtime, 1e-9);
    s.train_loss = steps_this_run ? loss_sum_this_run / steps_this_run : 0.0;
    s.steps_per_epoch = train_loader_->steps_per_epoch();
    s.epochs = progress.position.epoch + (progress.position.consumed_samples > 0 ? 1 : 0);
    s.global_step = progress.step;
    s.peak_mem_gib = peak_memory_gib();
    s.epoch_time_s = epoch_times;
    metrics_.summary(s);
    return kExitOk;
  }

 private:
  // A stop before this run's first step: nothing new to save (a resumed run's checkpoint is
  // already there), and the job script requeues as after any stop.
  int log_early_stop(int64_t step, int stop) {
    runtime::log().info(
        "stopping before the first step of this run (at step {}) on {}: exit {} "
        "asks the job script to requeue",
        step, runtime::stop_signal_name(stop), kExitRequeue);
    metrics_.event(
        {{"type", "stopped"}, {"step", step}, {"signal", runtime::stop_signal_name(stop)}});
    return kExitRequeue;
  }

  void check_device_support() const {
    if (ctx_.device->is_host() && cfg_.train.precision != "fp32") {
      throw InputError(
          cfg_.source + ": train.precision: " + cfg_.train.precision +
          " needs a CUDA device; CPU runs compute in fp32 (set train.precision: fp32)");
    }
  }

  void log_start() {
    auto& log = runtime::log();
    const auto& t = ctx_.topology;
    std::string nodes;
    for (const auto& n : t.node_names) nodes += (nodes.empty() ? "" : ",") + n;
    log.info(
        "topology world_size={} num_nodes={} node_names={} launcher={} job_id={} restart_count={} "
        "comm={} device={}",
        t.world_size, t.num_nodes, nodes, runtime::launcher_name(t.launcher),
        t.job_id.empty() ? "-" : t.job_id, t.restart_count, comm_.transport(), ctx_.device->name());
    log.info(
        "run strategy={} zero_stage={} offload={} precision={} world_size={} params={} n_layer={} "
        "n_head={} n_embd={} seq_len={} vocab_size={} micro_batch_size={} grad_accum={} "
        "global_batch_size={} steps_per_epoch={} total_steps={} run_dir={}",
        strategy_name(cfg_), cfg_.zero.stage, cfg_.zero.offload, cfg_.train.precision, comm_.size(),
        layout_.total_numel(), shape_.n_layer, shape_.n_head, shape_.n_embd, shape_.seq_len,
        shape_.vocab_size, cfg_.train.micro_batch_size, grad_accum_, cfg_.train.global_batch_size,
        train_loader_->steps_per_epoch(), total_steps_, ctx_.job_dir.root().string());
    if (cfg_.zero.offload && ctx_.device->is_host()) {
      log.info(
          "zero.offload: the optimizer already runs on the CPU in a CPU run; nothing to offload");
    }
    metrics_.config({{"strategy", strategy_name(cfg_)},
                     {"zero_stage", cfg_.zero.stage},
                     {"offload", cfg_.zero.offload},
                     {"precision", cfg_.train.precision},
                     {"world_size", comm_.size()},
                     {"global_batch_size", cfg_.train.global_batch_size},
                     {"micro_batch_size", cfg_.train.micro_batch_size},
                     {"grad_accum", grad_accum_},
                     {"parameters", layout_.total_numel()},
                     {"steps_per_epoch", train_loader_->steps_per_epoch()},
                     {"total_steps", total_steps_},
                     {"restart_count", ctx_.topology.restart_count}});
    log_memory_table(*engine_, comm_, cfg_.train.precision);
  }

  TrainingProgress restore_or_init() {
    // Verifying and loading a checkpoint is I/O: the longer wait applies.
    comm::ScopedTimeout slow_io(comm_, std::chrono::seconds(cfg_.comm.checkpoint_timeout_s));
    const auto from = resolve_resume_checkpoint(ctx_.resume, ctx_.job_dir.checkpoints(), comm_);
    if (!from) {
      initialize_parameters(*engine_, cfg_.model, cfg_.train.seed);
      return {};
    }
    TrainingProgress p = load_checkpoint(*from, *engine_, comm_);
    set_aside_checkpoints_after(ctx_.job_dir.checkpoints(), p.step, comm_);
    runtime::log().info("resumed from step {} (checkpoint {}, epoch {}, consumed_samples {})",
                        p.step, from->string(), p.position.epoch + 1, p.position.consumed_samples);
    metrics_.event({{"type", "resumed"}, {"step", p.step}, {"checkpoint", from->string()}});
    return p;
  }

  // One optimizer step over grad_accum micro-batches; returns the global mean token loss.
  double train_step(const data::StepBatch& batch, int64_t step) {
    // Normalise by the tokens of the whole global batch, so any world size and any
    // accumulation give the same gradient (and fillers of a partial batch count for nothing).
    // Targets of every micro-batch of the step, one after the other.
    const int64_t slot = cfg_.train.micro_batch_size * cfg_.model.seq_len;
    int64_t local_tokens = 0;
    for (size_t a = 0; a < batch.micro_batches.size(); ++a) {
      const auto& mb = batch.micro_batches[a];
      int32_t* targets = targets_.data() + a * slot;
      next_token_targets(mb.labels.data(), targets, mb.count, mb.seq_len);
      for (int64_t i = 0; i < mb.count * mb.seq_len; ++i)
        local_tokens += targets[i] != model::kIgnoreIndex;
    }
    const int64_t global_tokens = comm_.all_reduce_value(local_tokens, comm::ReduceOp::kSum);
    const float loss_scale = global_tokens > 0 ? 1.0f / static_cast<float>(global_tokens) : 0.0f;

    engine_->begin_step();
    double local_loss_sum = 0;
    for (size_t a = 0; a < batch.micro_batches.size(); ++a) {
      const auto& mb = batch.micro_batches[a];
      engine_->begin_micro_batch(a + 1 == batch.micro_batches.size());
      local_loss_sum += model_
                            ->forward(mb.input_ids.data(), targets_.data() + a * slot, mb.count,
                                      mb.seq_len, *engine_)
                            .sum;
      model_->backward(loss_scale, *engine_, *engine_);
    }
    engine_->finish_gradients();
    grad_norm_ = engine_->global_grad_norm();
    lr_ = schedule_->lr_at(step);
    engine_->optimizer_step(lr_, clip_coefficient(grad_norm_, cfg_.train.grad_clip));
    const double loss_sum = comm_.all_reduce_value(local_loss_sum, comm::ReduceOp::kSum);
    return global_tokens > 0 ? loss_sum / global_tokens : 0.0;
  }

  void log_step(const TrainingProgress& p, double loss, double step_s,
                const data::StepBatch& batch) {
    if (ctx_.monitor) ctx_.monitor->set_step(p.step);
    StepRecord r;
    r.step = p.step;
    r.total_steps = total_steps_;
    r.epoch = batch.position.epoch + 1;
    // The loader's position after a step stays in that step's epoch (it moves on at next()).
    r.epoch_progress = p.position.epoch + static_cast<double>(p.position.consumed_samples /
                                                              cfg_.train.global_batch_size) /
                                              train_loader_->steps_per_epoch();
    r.loss = loss;
    r.lr = lr_;
    r.grad_norm = grad_norm_;
    r.step_ms = step_s * 1e3;
    r.samples_per_s = batch.global_samples / step_s;
    r.tokens_per_s = r.samples_per_s * cfg_.model.seq_len;
    r.mem_alloc_gib = runtime::tracked_allocated_bytes().load() / kGiB;
    r.mem_peak_gib = peak_memory_gib();
    const int64_t every = std::max<int64_t>(1, cfg_.log.every_n_steps);
    metrics_.step(r, p.step == 1 || p.step % every == 0 || p.step == total_steps_);
  }

  double peak_memory_gib() {
    if (!ctx_.monitor) return 0;
    ctx_.monitor->sample_now();
    return ctx_.monitor->peak_device_used_bytes() / kGiB;
  }

  void evaluate(int64_t step, int64_t epoch) {
    if (!eval_file_) return;
    const auto t0 = Clock::now();
    data::LoaderConfig lc;
    lc.micro_batch = cfg_.train.micro_batch_size;
    lc.grad_accum = 1;
    lc.world = comm_.size();
    lc.rank = comm_.rank();
    lc.shuffle = false;
    lc.drop_last = false;
    lc.prefetch_steps = static_cast<int>(cfg_.data.prefetch_steps);
    data::BatchLoader loader(eval_file_, lc);
    double loss_sum = 0;
    int64_t tokens = 0, samples = 0;
    const int64_t limit = cfg_.data.eval_max_samples;
    while (auto batch = loader.next()) {
      if (limit > 0 && samples >= limit) break;  // unshuffled: the first examples of the file
      samples += batch->global_samples;
      for (const auto& mb : batch->micro_batches) {
        next_token_targets(mb.labels.data(), targets_.data(), mb.count, mb.seq_len);
        const auto l =
            model_->forward(mb.input_ids.data(), targets_.data(), mb.count, mb.seq_len, *engine_);
        loss_sum += l.sum;
        tokens += l.tokens;
      }
    }
    loss_sum = comm_.all_reduce_value(loss_sum, comm::ReduceOp::kSum);
    tokens = comm_.all_reduce_value(tokens, comm::ReduceOp::kSum);
    EvalRecord r;
    r.step = step;
    r.epoch = epoch;
    r.eval_loss = tokens ? loss_sum / tokens : 0.0;
    r.eval_ppl = std::exp(r.eval_loss);
    r.eval_samples = samples;
    r.eval_samples_per_second = samples / std::max(seconds_since(t0), 1e-9);
    metrics_.eval(r);
  }

  void save(const TrainingProgress& p, const char* reason) {
    const auto t0 = Clock::now();
    comm::ScopedTimeout slow_io(comm_, std::chrono::seconds(cfg_.comm.checkpoint_timeout_s));
    const auto dir = save_checkpoint(ctx_.job_dir.checkpoints(), *engine_, p, config::to_yaml(cfg_),
                                     static_cast<int>(cfg_.checkpoint.keep_last), comm_);
    runtime::log().info("checkpoint saved at step {} (reason: {}) dir={} seconds={:.2f}", p.step,
                        reason, dir.string(), seconds_since(t0));
    metrics_.event(
        {{"type", "checkpoint"}, {"step", p.step}, {"reason", reason}, {"dir", dir.string()}});
  }

  RunContext& ctx_;
  const config::RunConfig& cfg_;
  comm::Communicator& comm_;
  model::Gpt2Shape shape_;
  model::Gpt2Layout layout_;
  int64_t grad_accum_;
  MetricsLog metrics_;
  std::unique_ptr<ZeroEngine> engine_;
  std::unique_ptr<model::Gpt2<float>> model_;
  std::shared_ptr<const data::TokenFile> train_file_, eval_file_;
  std::unique_ptr<data::BatchLoader> train_loader_;
  int64_t total_steps_ = 0;
  std::vector<int32_t> targets_;
  std::unique_ptr<LrSchedule> schedule_;
  double grad_norm_ = 0, lr_ = 0;
};

}  // namespace

void next_token_targets(const int32_t* labels, int32_t* targets, int64_t rows, int64_t seq_len) {
  for (int64_t r = 0; r < rows; ++r) {
    const int32_t* in = labels + r * seq_len;
    int32_t* out = targets + r * seq_len;
    for (int64_t t = 0; t + 1 < seq_len; ++t) out[t] = in[t + 1];
    out[seq_len - 1] = model::kIgnoreIndex;
  }
}

int run_training(RunContext& context) {
  Trainer trainer(context);
  return trainer.run();
}

}  // namespace zerotune::train
