// `zerotune report RUN_DIR_OR_OUT_FILE...`: the comparison table of several runs (strategy,
// world size, time per epoch, peak memory, final loss, throughput, eval loss per epoch and
// speed against the data-parallel run), as markdown on stdout.
#pragma once

#include <string>
#include <vector>

#include "zerotune/cli/run_results.hpp"

namespace zerotune::cli {

// The markdown table, one row per run in the given order, then a note on what the columns
// mean. The "speed vs DP" column (the DP run's time per epoch over this run's) is there when
// a run has zero stage 0; the first such run is the reference.
std::string render_report(const std::vector<RunResults>& runs);

// `args` are the arguments after "report": run directories, metrics.jsonl or .out files, or
// -h / --help. Prints the table on stdout and returns kExitOk; throws InputError for bad
// arguments or unreadable runs.
int run_report_command(const std::vector<std::string>& args);

}  // namespace zerotune::cli
