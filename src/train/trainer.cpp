#include "zerotune/train/trainer.hpp"

#include <chrono>
#include <cmath>
#include <memory>
#include <optional>

#include "zerotune/base/error.hpp"
#include "zerotune/comm/agreed_error.hpp"
#include "zerotune/data/batch_loader.hpp"
#include "zerotune/data/synthetic_corpus.hpp"
#include "zerotune/model/gpt2.hpp"
#include "zerotune/model/gpt2_model.hpp"
#include "zerotune/ops/backend.hpp"
#include "zerotune/runtime/logging.hpp"
#include "zerotune/runtime/stop_signal.hpp"
#include "zerotune/train/checkpoint.hpp"
#include "zerotune/train/checkpoint_export.hpp"
#include "zerotune/train/evaluation.hpp"
#include "zerotune/train/grad_clip.hpp"
#include "zerotune/train/loss_scaler.hpp"
#include "zerotune/train/lr_schedule.hpp"
#include "zerotune/train/memory_report.hpp"
#include "zerotune/train/metrics_log.hpp"
#include "zerotune/train/model_init.hpp"
#include "zerotune/train/nonfinite_guard.hpp"
#include "zerotune/train/nvme_path_check.hpp"
#include "zerotune/train/resume.hpp"
#include "zerotune/train/retention_check.hpp"
#include "zerotune/train/run_figures.hpp"
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

// Errors name the config field that gave the path ("data.train_file: /dev/null: ...").
std::shared_ptr<const data::TokenFile> open_token_file(const std::string& path,
                                                       const config::ModelConfig& m,
                                                       const char* field) {
  try {
    auto file = std::make_shared<const data::TokenFile>(path);
    data::check_fits_model(file->info(), m.vocab_size, m.seq_len);
    return file;
  } catch (const InputError& e) {
    throw InputError(std::string(field) + ": " + e.what());
  }
}

// The data file's name without its folder: what tells runs on the same data apart in a report.
std::string data_file_name(const data::TokenFile& file) {
  return std::filesystem::path(file.info().path).filename().string();
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
        metrics_(ctx.job_dir.metrics_file(), ctx.topology.is_root()),
        loss_scaler_(cfg_.fp16, cfg_.train.precision == "fp16") {
    backend_ = ops::make_backend(*ctx.device, dtype_from_name(cfg_.train.precision.c_str()));
    OptimizerSettings opt;
    opt.kind = parse_optimizer_kind(cfg_.train.optimizer);
    opt.beta1 = cfg_.train.beta1;
    opt.beta2 = cfg_.train.beta2;
    opt.eps = cfg_.train.eps;
    opt.momentum = cfg_.train.momentum;
    opt.weight_decay = cfg_.train.weight_decay;
    const OffloadSettings offload = offload_settings();
    create_engine(opt, offload);
    engine_->set_micro_batches_per_step(grad_accum_);

    const std::string train_path =
        resolve_data_file(cfg_.data.train_file, "train", ctx, 6000, cfg_.train.seed + 11);
    train_file_ = open_token_file(train_path, cfg_.model, "data.train_file");
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
      eval_file_ = open_token_file(eval_path, cfg_.model, "data.eval_file");
    }
    retention_ = std::make_unique<RetentionCheck>(cfg_.data.retention_files, cfg_.model);
    // Activations follow the longest row of the data, not the position table's length.
    data_seq_len_ = train_file_->info().seq_len;
    if (eval_file_) data_seq_len_ = std::max(data_seq_len_, eval_file_->info().seq_len);
    data_seq_len_ = std::max(data_seq_len_, retention_->max_seq_len());
    model::Gpt2Options model_options;
    model_options.max_tokens = std::min(data_seq_len_, shape_.seq_len);
    model_options.activation_checkpointing = cfg_.train.activation_checkpointing;
    model_ = std::make_unique<model::Gpt2Model>(shape_, cfg_.train.micro_batch_size, *backend_,
                                                model_options);
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
    if (const int stop = agreed_stop_signal()) return log_early_stop(progress.step, stop);
    train_loader_->seek(progress.position);
    if (progress.step == 0) evaluate_retention(0, 0);  // the "before" of the forgetting check
    RunClock clock(carried_totals(progress), total_steps_);
    clock_ = &clock;

    while (progress.step < total_steps_) {
      std::optional<data::StepBatch> batch = train_loader_->next();
      if (!batch) {  // epoch boundary: its time, then eval before the save (Trainer's order)
        end_epoch(progress);
        if (cfg_.train.eval_strategy == "epoch")
          evaluate(progress.step, progress.position.epoch + 1);
        evaluate_retention(progress.step, progress.position.epoch + 1);
        progress.position = train_loader_->position();
        if (cfg_.checkpoint.save_strategy == "epoch") save(progress, "epoch");
        continue;
      }
      const auto t0 = Clock::now();
      const double loss = train_step(*batch, progress.step);
      check_finite_step(progress.step + 1, loss, grad_norm_, cfg_.train.precision == "fp16");
      progress.step += 1;
      progress.position = train_loader_->position();
      const double step_s = seconds_since(t0);
      const int64_t tokens = comm_.all_reduce_value(real_tokens(*batch), comm::ReduceOp::kSum);
      clock.step_done(progress.step, batch->global_samples, tokens, loss);
      log_step(progress, loss, step_s, *batch, tokens);

      if (const int stop = agreed_stop_signal()) {
        save(progress, runtime::stop_exit_code(stop) == kExitRequeue ? "preempted" : "stopped");
        return log_stop("after step " + std::to_string(progress.step), progress.step, stop);
      }
      if (cfg_.train.eval_strategy == "steps" && progress.step % cfg_.train.eval_steps == 0 &&
          progress.step < total_steps_) {
        evaluate(progress.step, progress.position.epoch + 1);
      }
      // Interval checkpoints also under save_strategy epoch: rolling ones between the kept
      // epoch checkpoints, for preemption.
      if (cfg_.checkpoint.save_strategy != "no" && cfg_.checkpoint.every_n_steps > 0 &&
          progress.step % cfg_.checkpoint.every_n_steps == 0 && progress.step < total_steps_) {
        save(progress, "interval");
      }
    }
    // A run that ends mid-epoch (max_steps) still reports an eval of where it stopped; only
    // a complete epoch has an epoch time.
    if (progress.position.consumed_samples > 0 || !ended_an_epoch_) {
      if (epoch_complete(progress.position)) end_epoch(progress);
      if (cfg_.train.eval_strategy != "no") evaluate(progress.step, progress.position.epoch + 1);
      evaluate_retention(progress.step, progress.position.epoch + 1);
    }
    if (cfg_.checkpoint.save_strategy != "no") save(progress, "end");
    if (cfg_.checkpoint.export_hf) {
      export_latest_checkpoint(ctx_.job_dir.checkpoints(), ctx_.job_dir.export_dir(), comm_);
    }
    metrics_.summary(summary(clock.totals(), progress));
    return kExitOk;
  }

 private:
  // Every rank must stop at the same step and for the same reason, so the requests are
  // all-reduced; the one that asks for a requeue wins (runtime/stop_signal.hpp).
  int agreed_stop_signal() {
    const int precedence = comm_.all_reduce_value<int32_t>(
        runtime::stop_precedence(runtime::stop_signal_received()), comm::ReduceOp::kMax);
    return runtime::stop_signal_of_precedence(precedence);
  }

  // A stop before this run's first step: nothing new to save (a resumed run's checkpoint is
  // already there); the exit code says whether the job script requeues.
  int log_early_stop(int64_t step, int stop) {
    return log_stop("before the first step of this run (at step " + std::to_string(step) + ")",
                    step, stop);
  }

  // The stop's line and metrics event; returns the exit code the signal asks for.
  int log_stop(const std::string& when, int64_t step, int stop) {
    const int code = runtime::stop_exit_code(stop);
    if (code == kExitRequeue) {
      runtime::log().info("stopping {} on {}: exit {} asks the job script to requeue", when,
                          runtime::stop_signal_name(stop), code);
    } else {
      runtime::log().info(
          "stopping {} on {}: exit {}, stopped for good (continue with --resume auto)", when,
          runtime::stop_signal_name(stop), code);
    }
    metrics_.event({{"type", "stopped"},
                    {"step", step},
                    {"signal", runtime::stop_signal_name(stop)},
                    {"requeue", code == kExitRequeue}});
    return code;
  }

  OffloadSettings offload_settings() {
    OffloadSettings o = train::offload_settings(cfg_.zero);
    o.cpu_threads = cpu_threads_for_offload(ctx_.topology.local_world_size);
    return o;  // zero.nvme_path was checked before the run directory was made (train_command)
  }

  // The nvme tier creates its files here: a rank that cannot makes every rank stop.
  void create_engine(const OptimizerSettings& opt, const OffloadSettings& offload) {
    const int stage = static_cast<int>(cfg_.zero.stage);
    if (offload.optimizer_tier != StateTier::kNvme && offload.parameter_tier != StateTier::kNvme) {
      engine_ = ZeroEngine::create(stage, layout_, opt, comm_, *backend_, comm_settings(cfg_.zero),
                                   offload);
      return;
    }
    std::string error;
    try {
      engine_ = ZeroEngine::create(stage, layout_, opt, comm_, *backend_, comm_settings(cfg_.zero),
                                   offload);
    } catch (const std::exception& e) {
      error = e.what();
    }
    error = comm::agreed_error(comm_, error);
    if (!error.empty()) throw LibraryError(error);
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
        "global_batch_size={} steps_per_epoch={} total_steps={} data_seq_len={} train_file={} "
        "run_dir={}",
        strategy_name(cfg_), cfg_.zero.stage, cfg_.zero.offload, cfg_.train.precision, comm_.size(),
        layout_.total_numel(), shape_.n_layer, shape_.n_head, shape_.n_embd, shape_.seq_len,
        shape_.vocab_size, cfg_.train.micro_batch_size, grad_accum_, cfg_.train.global_batch_size,
        train_loader_->steps_per_epoch(), total_steps_, data_seq_len_, data_file_name(*train_file_),
        ctx_.job_dir.root().string());
    if (cfg_.zero.offload_param != "none") {
      log.info("offload_param={}: stage 3 parameter shards in {}", cfg_.zero.offload_param,
               engine_->offloaded_parameters_location());
    }
    if (cfg_.zero.offload) {
      log.info("offload_optimizer={} state_location=\"{}\" cpu_threads={}{}",
               cfg_.zero.offload_optimizer, engine_->optimizer_state_location(),
               cpu_threads_for_offload(ctx_.topology.local_world_size),
               ctx_.device->is_host() ? " (a CPU run: the state is in host memory anyway; the "
                                        "offloaded step runs all the same)"
                                      : "");
      // A partial offload keeps whole units: say so when the ratio asks for less than the
      // first unit holds, rather than offloading everything silently.
      if (cfg_.zero.offload_optimizer_ratio < 1.0 &&
          units_kept_on_device(layout_, cfg_.zero.offload_optimizer_ratio) == 0) {
        log.warn(
            "zero.offload_optimizer_ratio {:g} keeps no unit on the device: the first unit "
            "alone holds {:.0f}% of the parameters, more than 1 - ratio; everything is offloaded "
            "(a ratio of {:.2f} or less keeps it)",
            cfg_.zero.offload_optimizer_ratio,
            100.0 * layout_.units[0].numel / static_cast<double>(layout_.total_numel()),
            1.0 - layout_.units[0].numel / static_cast<double>(layout_.total_numel()));
      }
    }
    metrics_.config({{"strategy", strategy_name(cfg_)},
                     {"zero_stage", cfg_.zero.stage},
                     {"offload", cfg_.zero.offload},
                     {"offload_optimizer", cfg_.zero.offload_optimizer},
                     {"offload_optimizer_ratio", cfg_.zero.offload_optimizer_ratio},
                     {"offload_param", cfg_.zero.offload_param},
                     {"precision", cfg_.train.precision},
                     {"world_size", comm_.size()},
                     {"global_batch_size", cfg_.train.global_batch_size},
                     {"micro_batch_size", cfg_.train.micro_batch_size},
                     {"grad_accum", grad_accum_},
                     {"parameters", layout_.total_numel()},
                     {"n_layer", shape_.n_layer},
                     {"n_head", shape_.n_head},
                     {"n_embd", shape_.n_embd},
                     {"seq_len", shape_.seq_len},
                     {"vocab_size", shape_.vocab_size},
                     {"data_seq_len", data_seq_len_},
                     {"train_file", data_file_name(*train_file_)},
                     {"train_examples", train_file_->info().num_examples},
                     {"steps_per_epoch", train_loader_->steps_per_epoch()},
                     {"total_steps", total_steps_},
                     {"restart_count", ctx_.topology.restart_count}});
    log_memory_table(*engine_, comm_, cfg_.train.precision);
  }

  // The loader's position after an epoch's last step (it moves to the next epoch at next()).
  bool epoch_complete(const data::LoaderPosition& p) const {
    const int64_t g = cfg_.train.global_batch_size;
    return (p.consumed_samples + g - 1) / g >= train_loader_->steps_per_epoch();
  }

  void end_epoch(const TrainingProgress& p) {
    EpochRecord r;
    r.epoch = p.position.epoch + 1;
    r.step = p.step;
    r.epoch_time_s = clock_->epoch_done();
    ended_an_epoch_ = true;
    r.train_time_s = clock_->totals().epoch_start_s;
    metrics_.epoch(r);
  }

  SummaryRecord summary(const RunTotals& t, const TrainingProgress& p) {
    SummaryRecord s;
    const double seconds = std::max(t.train_time_s, 1e-9);
    s.train_runtime = t.train_time_s;
    s.train_samples_per_second = t.train_samples / seconds;
    s.train_tokens_per_second = t.train_tokens / seconds;
    s.train_steps_per_second = t.steps / seconds;
    s.train_loss = t.steps ? t.loss_sum / t.steps : 0.0;
    s.final_loss = t.final_loss;
    s.steps_per_epoch = train_loader_->steps_per_epoch();
    s.epochs = p.position.epoch + (p.position.consumed_samples > 0 ? 1 : 0);
    s.global_step = p.step;
    s.train_samples = t.train_samples;
    s.train_tokens = t.train_tokens;
    const runtime::MemorySample m = sample_memory();
    s.peak_mem_gib = peak_memory_gib(m);
    s.peak_alloc_gib = m.peak_allocated_bytes / kGiB;
    s.peak_reserved_gib = m.peak_reserved_bytes / kGiB;
    s.peak_device_used_gib = ctx_.monitor ? ctx_.monitor->peak_device_used_bytes() / kGiB : 0.0;
    s.epoch_time_s = t.epoch_time_s;
    s.time_per_epoch_s = time_per_epoch_s(t.epoch_time_s, t.train_time_s, t.steps,
                                          s.steps_per_epoch, &s.time_per_epoch_estimated);
    return s;
  }

  // The run's totals at the step it resumes from, from the metrics.jsonl beside the checkpoint
  // (the run directory that wrote it); counted from zero for a fresh run or without one.
  RunTotals carried_totals(const TrainingProgress& p) {
    RunTotals fresh;
    fresh.step = p.step;
    if (p.step == 0 || !ctx_.topology.is_root()) return fresh;
    for (auto dir = resumed_from_; !dir.empty() && dir != dir.parent_path();
         dir = dir.parent_path()) {
      const auto file = dir / "metrics.jsonl";
      if (!std::filesystem::exists(file)) continue;
      if (auto t = totals_at_step(file, p.step, p.position.epoch)) return *t;
      break;
    }
    runtime::log().info(
        "resumed at step {} without its step record in a metrics.jsonl beside {}: time and "
        "speed figures count from this start",
        p.step, resumed_from_.string());
    return fresh;
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
    loss_scaler_.restore(p.loss_scale);
    // Rank 0 reads what the run kept in meta.json; every rank takes the same.
    const std::string run_state = comm::broadcast_string(
        comm_, comm_.rank() == 0 ? read_checkpoint_run_state(*from).dump() : std::string());
    retention_->restore(nlohmann::json::parse(run_state, nullptr, false), p.step);
    resumed_from_ = std::filesystem::absolute(*from);
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
    // Every rank sees the same all-reduced count, so every rank throws: none is left waiting.
    if (global_tokens == 0)
      throw_no_labels(train_file_->info(),
                      "the training batch of step " + std::to_string(step + 1));
    const float loss_scale = global_tokens > 0 ? 1.0f / static_cast<float>(global_tokens) : 0.0f;

    // fp16: the loss (so every gradient) is multiplied by the loss scale, undone in the update.
    const double scale = loss_scaler_.scale();
    engine_->begin_step();
    double local_loss_sum = 0;
    for (size_t a = 0; a < batch.micro_batches.size(); ++a) {
      const auto& mb = batch.micro_batches[a];
      engine_->begin_micro_batch(a + 1 == batch.micro_batches.size());
      local_loss_sum += model_
                            ->forward(mb.input_ids.data(), targets_.data() + a * slot, mb.count,
                                      mb.seq_len, *engine_)
                            .sum;
      model_->backward(loss_scale * scale, *engine_, *engine_);
    }
    engine_->finish_gradients();
    grad_norm_ = engine_->global_grad_norm() / scale;
    lr_ = schedule_->lr_at(step);
    // An overflow anywhere makes the all-reduced norm inf or NaN on every rank alike.
    const bool overflow = loss_scaler_.enabled() && !std::isfinite(grad_norm_);
    if (loss_scaler_.update(overflow)) {
      runtime::log().info("fp16 overflow at step {}: step skipped, loss_scale now {:g}", step + 1,
                          loss_scaler_.scale());
      metrics_.event(
          {{"type", "overflow"}, {"step", step + 1}, {"loss_scale", loss_scaler_.scale()}});
    } else {
      engine_->optimizer_step(lr_, clip_coefficient(grad_norm_, cfg_.train.grad_clip) / scale);
    }
    const double loss_sum = comm_.all_reduce_value(local_loss_sum, comm::ReduceOp::kSum);
    return global_tokens > 0 ? loss_sum / global_tokens : 0.0;
  }

  void log_step(const TrainingProgress& p, double loss, double step_s, const data::StepBatch& batch,
                int64_t tokens) {
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
    r.tokens_per_s = tokens / step_s;
    const RunTotals& t = clock_->totals();
    r.train_time_s = t.train_time_s;
    r.eta_s = clock_->eta_s();
    r.train_steps = t.steps;
    r.train_samples = t.train_samples;
    r.train_tokens = t.train_tokens;
    const runtime::MemorySample m = sample_memory();
    r.mem_alloc_gib = m.allocated_bytes / kGiB;
    r.mem_peak_gib = peak_memory_gib(m);
    if (loss_scaler_.enabled()) r.loss_scale = loss_scaler_.scale();
    if (engine_->optimizer_tier() != StateTier::kDevice) {
      const OffloadTimes t = engine_->take_offload_times();
      r.offload_update_ms = t.update_s * 1e3;
      r.offload_wait_ms = t.wait_s * 1e3;
    }
    const int64_t every = std::max<int64_t>(1, cfg_.log.every_n_steps);
    metrics_.step(r, p.step == 1 || p.step % every == 0 || p.step == total_steps_);
  }

  runtime::MemorySample sample_memory() {
    return ctx_.monitor ? ctx_.monitor->sample_now() : runtime::MemorySample{};
  }
  // What users compare across systems: on the GPU the pool's high-water mark of allocated
  // bytes (the figure of torch.cuda.max_memory_allocated), on the CPU the peak RSS.
  double peak_memory_gib(const runtime::MemorySample& m) const {
    if (!ctx_.device->is_host()) return m.peak_allocated_bytes / kGiB;
    return ctx_.monitor ? ctx_.monitor->peak_device_used_bytes() / kGiB : 0.0;
  }

  // Evaluation as train/evaluation.hpp defines it; its time is not training time.
  void evaluate(int64_t step, int64_t epoch) {
    if (!eval_file_) return;
    const EvalResult e =
        evaluate_token_file(*model_, *engine_, eval_file_, comm_, cfg_.train.micro_batch_size,
                            cfg_.data.eval_max_samples, static_cast<int>(cfg_.data.prefetch_steps));
    EvalRecord r;
    r.step = step;
    r.epoch = epoch;
    r.eval_loss = e.loss();
    r.eval_ppl = std::exp(r.eval_loss);
    r.eval_samples = e.samples;
    r.eval_samples_per_second = e.samples_per_second();
    metrics_.eval(r);
    if (clock_) clock_->exclude(e.seconds);
  }

  // The forgetting check of data.retention_files; its time is not training time.
  void evaluate_retention(int64_t step, int64_t epoch) {
    if (retention_->empty()) return;
    const double seconds = retention_->evaluate(*model_, *engine_, comm_, cfg_.data,
                                                cfg_.train.micro_batch_size, step, epoch, metrics_);
    if (clock_) clock_->exclude(seconds);
  }

  void save(const TrainingProgress& p, const char* reason) {
    const auto t0 = Clock::now();
    comm::ScopedTimeout slow_io(comm_, std::chrono::seconds(cfg_.comm.checkpoint_timeout_s));
    TrainingProgress with_scale = p;
    with_scale.loss_scale = loss_scaler_.state();
    CheckpointNotes notes;
    notes.reason = reason;
    // save_strategy epoch asks for every epoch's checkpoint: keep_last does not rotate them
    // (the last epoch's is the one saved at the end).
    const std::string why = reason;
    notes.keep = cfg_.checkpoint.save_strategy == "epoch" &&
                 (why == "epoch" || (why == "end" && epoch_complete(p.position)));
    retention_->store(notes.run_state);
    const auto dir =
        save_checkpoint(ctx_.job_dir.checkpoints(), *engine_, with_scale, config::to_yaml(cfg_),
                        static_cast<int>(cfg_.checkpoint.keep_last), comm_, notes);
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
  LossScaler loss_scaler_;
  std::unique_ptr<ops::Backend> backend_;
  std::unique_ptr<ZeroEngine> engine_;
  std::unique_ptr<model::Gpt2Model> model_;
  std::shared_ptr<const data::TokenFile> train_file_, eval_file_;
  std::unique_ptr<data::BatchLoader> train_loader_;
  std::unique_ptr<RetentionCheck> retention_;
  int64_t total_steps_ = 0;
  std::vector<int32_t> targets_;
  std::unique_ptr<LrSchedule> schedule_;
  double grad_norm_ = 0, lr_ = 0;
  int64_t data_seq_len_ = 0;  // the longest row of the train and eval files
  std::filesystem::path resumed_from_;
  RunClock* clock_ = nullptr;  // the run()'s clock while it runs
  bool ended_an_epoch_ = false;
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
