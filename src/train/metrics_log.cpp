#include "zerotune/train/metrics_log.hpp"

#include <cstdio>

#include "zerotune/base/error.hpp"
#include "zerotune/runtime/logging.hpp"
#include "zerotune/train/run_figures.hpp"

namespace zerotune::train {

namespace {
std::string fmt(const char* format, double value) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), format, value);
  return buf;
}
}  // namespace

std::string format_step_line(const StepRecord& r) {
  return "step=" + std::to_string(r.step) + "/" + std::to_string(r.total_steps) +
         " epoch=" + std::to_string(r.epoch) + " elapsed=" + format_duration(r.train_time_s) +
         " eta=" + format_duration(r.eta_s) + " loss=" + fmt("%.4f", r.loss) +
         " lr=" + fmt("%.3g", r.lr) + " grad_norm=" + fmt("%.4g", r.grad_norm) +
         " step_ms=" + fmt("%.1f", r.step_ms) + " tokens_per_s=" + fmt("%.0f", r.tokens_per_s) +
         " samples_per_s=" + fmt("%.1f", r.samples_per_s) +
         " mem_alloc_gib=" + fmt("%.3f", r.mem_alloc_gib) +
         " mem_peak_gib=" + fmt("%.3f", r.mem_peak_gib) +
         (r.loss_scale > 0 ? " loss_scale=" + fmt("%g", r.loss_scale) : std::string()) +
         (r.offload_update_ms >= 0 ? " offload_update_ms=" + fmt("%.1f", r.offload_update_ms) +
                                         " offload_wait_ms=" + fmt("%.1f", r.offload_wait_ms)
                                   : std::string());
}

std::string format_eval_line(const EvalRecord& r) {
  return "eval epoch=" + std::to_string(r.epoch) + " eval_loss=" + fmt("%.4f", r.eval_loss) +
         " eval_ppl=" + fmt("%.2f", r.eval_ppl) +
         " eval_samples_per_second=" + fmt("%.1f", r.eval_samples_per_second);
}

std::string format_epoch_line(const EpochRecord& r) {
  return "epoch_end epoch=" + std::to_string(r.epoch) + " step=" + std::to_string(r.step) +
         " epoch_time_s=" + fmt("%.2f", r.epoch_time_s) +
         " elapsed=" + format_duration(r.train_time_s);
}

std::string format_summary_line(const SummaryRecord& r) {
  std::string line = "train_summary train_runtime=" + fmt("%.1f", r.train_runtime) +
                     " train_samples_per_second=" + fmt("%.1f", r.train_samples_per_second) +
                     " train_tokens_per_second=" + fmt("%.0f", r.train_tokens_per_second) +
                     " train_steps_per_second=" + fmt("%.2f", r.train_steps_per_second) +
                     " train_loss=" + fmt("%.4f", r.train_loss) +
                     " final_loss=" + fmt("%.4f", r.final_loss) +
                     " global_step=" + std::to_string(r.global_step) +
                     " steps_per_epoch=" + std::to_string(r.steps_per_epoch) +
                     " epochs=" + std::to_string(r.epochs);
  if (r.time_per_epoch_s) {
    line += (r.time_per_epoch_estimated ? " time_per_epoch_s_estimated=" : " time_per_epoch_s=") +
            fmt("%.2f", *r.time_per_epoch_s);
  }
  if (!r.epoch_time_s.empty()) {
    line += " epoch_time_s=";
    for (size_t i = 0; i < r.epoch_time_s.size(); ++i) {
      line += (i ? "," : "") + fmt("%.2f", r.epoch_time_s[i]);
    }
  }
  line += " peak_mem_gib=" + fmt("%.3f", r.peak_mem_gib);
  if (r.peak_reserved_gib > 0) {
    line += " peak_alloc_gib=" + fmt("%.3f", r.peak_alloc_gib) +
            " peak_reserved_gib=" + fmt("%.3f", r.peak_reserved_gib);
  }
  return line + " peak_device_used_gib=" + fmt("%.3f", r.peak_device_used_gib);
}

std::string format_retention_line(const RetentionRecord& r) {
  std::string line = "retention file=" + r.file + " step=" + std::to_string(r.step) +
                     " epoch=" + std::to_string(r.epoch) +
                     " eval_loss=" + fmt("%.4f", r.eval_loss) +
                     " eval_ppl=" + fmt("%.2f", r.eval_ppl);
  if (r.before_eval_loss && r.before_eval_ppl) {
    line += " before_eval_loss=" + fmt("%.4f", *r.before_eval_loss) +
            " before_eval_ppl=" + fmt("%.2f", *r.before_eval_ppl);
  }
  if (r.retention_pct) line += " retention_pct=" + fmt("%.1f", *r.retention_pct);
  return line;
}

MetricsLog::MetricsLog(const std::filesystem::path& jsonl_path, bool enabled) : enabled_(enabled) {
  if (!enabled_) return;
  out_.open(jsonl_path, std::ios::app);
  if (!out_) throw_library_error("posix", "open(" + jsonl_path.string() + ")", "cannot append");
}

void MetricsLog::write(const nlohmann::json& record) {
  if (!enabled_) return;
  out_ << record.dump() << "\n";
  out_.flush();
}

void MetricsLog::config(const nlohmann::json& fields) {
  nlohmann::json r = fields;
  r["type"] = "config";
  write(r);
}

void MetricsLog::step(const StepRecord& r, bool print) {
  if (!enabled_) return;
  nlohmann::json record = {{"type", "step"},
                           {"step", r.step},
                           {"epoch", r.epoch},
                           {"epoch_progress", r.epoch_progress},
                           {"loss", r.loss},
                           {"lr", r.lr},
                           {"grad_norm", r.grad_norm},
                           {"step_ms", r.step_ms},
                           {"tokens_per_s", r.tokens_per_s},
                           {"samples_per_s", r.samples_per_s},
                           {"mem_alloc_gib", r.mem_alloc_gib},
                           {"mem_peak_gib", r.mem_peak_gib},
                           {"train_time_s", r.train_time_s},
                           {"eta_s", r.eta_s},
                           {"train_steps", r.train_steps},
                           {"train_samples", r.train_samples},
                           {"train_tokens", r.train_tokens}};
  if (r.loss_scale > 0) record["loss_scale"] = r.loss_scale;
  if (r.offload_update_ms >= 0) {
    record["offload_update_ms"] = r.offload_update_ms;
    record["offload_wait_ms"] = r.offload_wait_ms;
  }
  write(record);
  if (print) runtime::log().info(format_step_line(r));
}

void MetricsLog::eval(const EvalRecord& r) {
  if (!enabled_) return;
  write({{"type", "eval"},
         {"step", r.step},
         {"epoch", r.epoch},
         {"eval_loss", r.eval_loss},
         {"eval_ppl", r.eval_ppl},
         {"eval_samples_per_second", r.eval_samples_per_second},
         {"eval_samples", r.eval_samples}});
  runtime::log().info(format_eval_line(r));
}

void MetricsLog::epoch(const EpochRecord& r) {
  if (!enabled_) return;
  write({{"type", "epoch"},
         {"epoch", r.epoch},
         {"step", r.step},
         {"epoch_time_s", r.epoch_time_s},
         {"train_time_s", r.train_time_s}});
  runtime::log().info(format_epoch_line(r));
}

void MetricsLog::summary(const SummaryRecord& r) {
  if (!enabled_) return;
  nlohmann::json record = {{"type", "summary"},
                           {"train_runtime", r.train_runtime},
                           {"train_samples_per_second", r.train_samples_per_second},
                           {"train_tokens_per_second", r.train_tokens_per_second},
                           {"train_steps_per_second", r.train_steps_per_second},
                           {"train_loss", r.train_loss},
                           {"final_loss", r.final_loss},
                           {"steps_per_epoch", r.steps_per_epoch},
                           {"epochs", r.epochs},
                           {"global_step", r.global_step},
                           {"train_samples", r.train_samples},
                           {"train_tokens", r.train_tokens},
                           {"peak_mem_gib", r.peak_mem_gib},
                           {"peak_alloc_gib", r.peak_alloc_gib},
                           {"peak_reserved_gib", r.peak_reserved_gib},
                           {"peak_device_used_gib", r.peak_device_used_gib},
                           {"epoch_time_s", r.epoch_time_s}};
  if (r.time_per_epoch_s) {
    record[r.time_per_epoch_estimated ? "time_per_epoch_s_estimated" : "time_per_epoch_s"] =
        *r.time_per_epoch_s;
  }
  write(record);
  runtime::log().info(format_summary_line(r));
}

void MetricsLog::retention(const RetentionRecord& r) {
  if (!enabled_) return;
  const std::string prefix = "retention/" + r.file + "/";
  nlohmann::json record = {{"type", "retention"},
                           {"step", r.step},
                           {"epoch", r.epoch},
                           {"file", r.file},
                           {prefix + "eval_loss", r.eval_loss},
                           {prefix + "eval_ppl", r.eval_ppl},
                           {prefix + "eval_samples", r.eval_samples}};
  if (r.before_eval_loss) record[prefix + "before_eval_loss"] = *r.before_eval_loss;
  if (r.before_eval_ppl) record[prefix + "before_eval_ppl"] = *r.before_eval_ppl;
  if (r.retention_pct) record[prefix + "retention_pct"] = *r.retention_pct;
  write(record);
  runtime::log().info(format_retention_line(r));
  if (r.retention_pct && *r.retention_pct < kRetentionWarningPct) {
    runtime::log().warn(
        "warning: retention of {} is {:.1f}% (below {:.0f}%) after epoch {}: perplexity {:.2f} "
        "against "
        "{:.2f} before training; fine-tuning is overwriting what the model knew of this data "
        "(lower train.lr or train.epochs, or mix some of it into the training data)",
        r.file, *r.retention_pct, kRetentionWarningPct, r.epoch, r.eval_ppl,
        r.before_eval_ppl.value_or(0.0));
  }
}

void MetricsLog::event(const nlohmann::json& fields) { write(fields); }

}  // namespace zerotune::train
