#include "zerotune/cli/report_command.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>

#include "zerotune/base/error.hpp"
#include "zerotune/cli/report_plot.hpp"

namespace zerotune::cli {

namespace {

constexpr const char* kUsage =
    "usage: zerotune report [--format markdown|csv|json] [--plot FILE.png|FILE.svg]\n"
    "                       RUN_DIR_OR_OUT_FILE...\n"
    "  Compares runs: the strategy table and the workshop table (and, for runs with\n"
    "  data.retention_files, the retention table), then what each figure means.\n"
    "  Each argument is a run directory (runs/NAME-ID/, read from its metrics.jsonl and\n"
    "  memory/rank-*.csv), a metrics.jsonl file or a job's .out file. --plot also draws the\n"
    "  loss, memory and tokens/s curves with gnuplot.\n";

const std::string& value_of(const std::vector<std::string>& args, size_t& i) {
  if (i + 1 >= args.size()) throw InputError("report: " + args[i] + ": expected a value");
  return args[++i];
}

}  // namespace

std::string render_report(const std::vector<RunResults>& runs, ReportFormat format) {
  return render(build_report(runs), format);
}

int run_report_command(const std::vector<std::string>& args) {
  std::vector<std::string> paths;
  ReportFormat format = ReportFormat::kMarkdown;
  std::string plot;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "-h" || arg == "--help") {
      std::cout << kUsage;
      return kExitOk;
    }
    if (arg == "--format") {
      format = parse_report_format(value_of(args, i));
    } else if (arg.starts_with("--format=")) {
      format = parse_report_format(arg.substr(9));
    } else if (arg == "--plot") {
      plot = value_of(args, i);
    } else if (arg.starts_with("--plot=")) {
      plot = arg.substr(7);
    } else if (arg.starts_with("-")) {
      throw InputError("report: unknown option " + arg + "\n" + kUsage);
    } else {
      paths.push_back(arg);
    }
  }
  if (paths.empty()) {
    throw InputError("report: expected at least one run directory or .out file\n" +
                     std::string(kUsage));
  }
  std::vector<RunResults> runs;
  for (const auto& p : paths) runs.push_back(read_run_results(p));
  if (!plot.empty()) write_report_plot(runs, plot);
  std::cout << render_report(runs, format);
  return kExitOk;
}

}  // namespace zerotune::cli
