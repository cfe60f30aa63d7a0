// `zerotune report [--format markdown|csv|json] [--plot FILE] RUN_DIR_OR_OUT_FILE...`: the
// strategy and workshop tables of several runs (report_tables.hpp), and a picture of their
// curves (report_plot.hpp).
#pragma once

#include <string>
#include <vector>

#include "zerotune/cli/report_tables.hpp"
#include "zerotune/cli/run_results.hpp"

namespace zerotune::cli {

// The tables, one row per run in the given order, then the notes (markdown).
std::string render_report(const std::vector<RunResults>& runs,
                          ReportFormat format = ReportFormat::kMarkdown);

// `args` are the arguments after "report": options, run directories, metrics.jsonl or .out
// files, or -h / --help. Prints the report on stdout and returns kExitOk; throws InputError
// for bad arguments or unreadable runs (before anything is printed or drawn).
int run_report_command(const std::vector<std::string>& args);

}  // namespace zerotune::cli
