// The tables of `zerotune report`, built from runs read back by run_results.hpp, and their
// renderings as markdown, CSV and JSON. Each figure is the one train/run_figures.hpp defines.
//
//   strategy table (the GPT-2 tutorial's comparison): strategy, ranks, model size, precision,
//     micro/global batch, time/epoch, peak memory (and peak allocated / reserved from the
//     memory monitor when known), final loss, final eval loss, samples/s, tokens/s, speed vs
//     DP
//   workshop table: Train Loss (final), Eval Loss per epoch, Training Speed (samples/s),
//     Evaluation Speed (samples/s), Steps per Epoch
//   retention table (runs with data.retention_files only): per run and file, the eval loss
//     before training and after the last epoch, and the retention % of each epoch
//
// Speed vs DP = the reference run's time/epoch / this run's. The reference is the first
// stage-0 run of the same model, data (token file and row length) and global batch; without
// one, the first run given that is comparable. A run with no comparable stage-0 run says so
// in the notes.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "zerotune/cli/run_results.hpp"

namespace zerotune::cli {

struct ReportCell {
  std::string text;      // as the markdown and CSV show it
  nlohmann::json value;  // number, string or null, as the JSON gives it
};

struct ReportColumn {
  std::string header;  // "time/epoch (s)"
  std::string key;     // "time_per_epoch_s": the JSON name
  bool right_aligned = false;
};

struct ReportTable {
  std::string title;
  std::vector<ReportColumn> columns;
  std::vector<std::vector<ReportCell>> rows;
};

struct Report {
  std::vector<ReportTable> tables;
  std::vector<std::string> notes;  // what the figures mean, and which runs were compared
};

Report build_report(const std::vector<RunResults>& runs);

enum class ReportFormat { kMarkdown, kCsv, kJson };
// "markdown" | "csv" | "json"; InputError naming the option otherwise.
ReportFormat parse_report_format(const std::string& name);

std::string render(const Report& report, ReportFormat format);

}  // namespace zerotune::cli
