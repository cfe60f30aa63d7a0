// The one global: the spdlog logger "zerotune". Rank 0 writes the human story to stdout (the
// SLURM .out file) at info level, plain lines of key=value fields; every rank writes its
// own file logs/rank-NNNNN.log at debug level with timestamps.
#pragma once

#include <spdlog/spdlog.h>

#include <filesystem>

namespace zerotune::runtime {

// Before the job directory exists: stdout only on rank 0, warnings and errors on every rank.
void init_console_logging(int rank);
// Adds the per-rank file sink (and keeps the console sink of rank 0).
void add_rank_log_file(const std::filesystem::path& path, int rank);
// log.level=debug: rank 0's stdout shows debug lines too (other ranks' stdout stays quiet).
void show_debug_on_console();
spdlog::logger& log();

}  // namespace zerotune::runtime
