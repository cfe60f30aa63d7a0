#include "zerotune/cli/report_command.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>

#include "zerotune/base/error.hpp"

namespace zerotune::cli {

namespace {

constexpr const char* kUsage =
    "usage: zerotune report RUN_DIR_OR_OUT_FILE...\n"
    "  Compares runs in a markdown table. Each argument is a run directory (runs/NAME-ID/,\n"
    "  read from its metrics.jsonl), a metrics.jsonl file or a job's .out file.\n";

std::string fixed(double value, int decimals) {
  if (std::isnan(value)) return "nan";
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%.*f", decimals, value);
  return buffer;
}

std::string fixed(const std::optional<double>& value, int decimals) {
  return value ? fixed(*value, decimals) : "-";
}

// "DP, fp32", "ZeRO-3, offload, bf16"; the trainer's name where the stage is not known.
std::string strategy_cell(const RunResults& run) {
  std::string out;
  if (run.zero_stage) {
    out = *run.zero_stage == 0 ? "DP" : "ZeRO-" + std::to_string(*run.zero_stage);
  } else {
    out = run.strategy.empty() ? "-" : run.strategy;
  }
  if (run.offload.value_or(false)) out += ", offload";
  if (!run.precision.empty()) out += ", " + run.precision;
  return out;
}

std::string eval_cell(const RunResults& run) {
  std::string out;
  for (const auto& [epoch, loss] : run.eval_loss_by_epoch) {
    out += (out.empty() ? "" : ", ") + fixed(loss, 4);
  }
  return out.empty() ? "-" : out;
}

// Pads every column to its widest cell so that the table also reads as plain text.
std::string markdown_table(const std::vector<std::vector<std::string>>& rows,
                           const std::vector<bool>& right_aligned) {
  std::vector<size_t> width(rows[0].size(), 3);
  for (const auto& row : rows) {
    for (size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out = "|";
    for (size_t c = 0; c < cells.size(); ++c) {
      const size_t pad = width[c] - cells[c].size();
      out += ' ';
      if (right_aligned[c]) out.append(pad, ' ');
      out += cells[c];
      if (!right_aligned[c]) out.append(pad, ' ');
      out += " |";
    }
    return out + "\n";
  };
  std::string out = line(rows[0]);
  out += "|";
  for (size_t c = 0; c < width.size(); ++c) {
    out += ' ';
    out.append(width[c] - 1, '-');
    out += right_aligned[c] ? ": |" : "- |";
  }
  out += "\n";
  for (size_t r = 1; r < rows.size(); ++r) out += line(rows[r]);
  return out;
}

}  // namespace

std::string render_report(const std::vector<RunResults>& runs) {
  const auto dp =
      std::find_if(runs.begin(), runs.end(), [](const RunResults& r) { return r.zero_stage == 0; });
  const bool with_speed = dp != runs.end();
  const std::optional<double> dp_time = with_speed ? dp->time_per_epoch_s() : std::nullopt;

  std::vector<std::vector<std::string>> rows = {{"run", "strategy", "world_size", "time/epoch (s)",
                                                 "peak memory (GiB)", "final loss", "samples/s",
                                                 "eval loss per epoch"}};
  std::vector<bool> right_aligned = {false, false, true, true, true, true, true, false};
  if (with_speed) {
    rows[0].push_back("speed vs DP");
    right_aligned.push_back(true);
  }
  for (const RunResults& run : runs) {
    std::vector<std::string> row = {run.name + (run.has_summary ? "" : " (no summary)"),
                                    strategy_cell(run),
                                    run.world_size ? std::to_string(*run.world_size) : "-",
                                    fixed(run.time_per_epoch_s(), 1),
                                    fixed(run.peak_mem_gib(), 2),
                                    fixed(run.final_loss, 4),
                                    fixed(run.train_samples_per_s, 1),
                                    eval_cell(run)};
    if (with_speed) {
      const auto time = run.time_per_epoch_s();
      row.push_back(dp_time && time && *time > 0 ? fixed(*dp_time / *time, 2) + "x" : "-");
    }
    rows.push_back(std::move(row));
  }
  std::string out = markdown_table(rows, right_aligned);
  out +=
      "\ntime/epoch: mean of the recorded epoch times, else train_runtime / epochs.\n"
      "peak memory: the summary's peak_mem_gib, else the highest mem_peak_gib of the steps.\n"
      "final loss: training loss at the last logged step.\n"
      "samples/s: train_samples_per_second of the summary (the whole run).";
  if (with_speed) {
    out +=
        "\nspeed vs DP: time/epoch of " + dp->name + " / time/epoch of the run (above 1: faster).";
  }
  return out + "\n";
}

int run_report_command(const std::vector<std::string>& args) {
  std::vector<RunResults> runs;
  for (const std::string& arg : args) {
    if (arg == "-h" || arg == "--help") {
      std::cout << kUsage;
      return kExitOk;
    }
    if (arg.starts_with("-")) throw InputError("report: unknown option " + arg + "\n" + kUsage);
    runs.push_back(read_run_results(arg));
  }
  if (runs.empty()) {
    throw InputError("report: expected at least one run directory or .out file\n" +
                     std::string(kUsage));
  }
  std::cout << render_report(runs);
  return kExitOk;
}

}  // namespace zerotune::cli
