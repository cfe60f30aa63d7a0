// `zerotune report --plot FILE.png|svg`: one picture of the runs given, drawn by gnuplot (run
// as a subprocess: the program found as "gnuplot" on PATH, or $ZEROTUNE_GNUPLOT), in three
// panels:
//   1. training loss (every step record) and eval loss (each eval) against step, per run
//   2. memory against time from memory/rank-*.csv (device used, allocated and reserved, GiB),
//      for runs given as run directories
//   3. tokens/s against step, per run
// The picture is kPlotWidth x kPlotHeight pixels (png) or points (svg).
#pragma once

#include <filesystem>
#include <vector>

#include "zerotune/cli/run_results.hpp"

namespace zerotune::cli {

inline constexpr int kPlotWidth = 1000;
inline constexpr int kPlotHeight = 1200;

// Throws InputError for an extension other than .png or .svg, when gnuplot cannot be found
// (naming the package that provides it) or when gnuplot fails; the output is written to a
// temporary name and renamed, so a failed plot leaves no file.
void write_report_plot(const std::vector<RunResults>& runs, const std::filesystem::path& out);

}  // namespace zerotune::cli
