// RUN_DIR/status: the run's state in one line, replaced atomically (temporary file, fsync,
// rename), so a job script decides on a requeue from what the run says rather than from the
// launcher's exit code alone (MPICH's mpiexec has returned 0 after every rank exited 85):
//   running
//   finished step=N
//   stopped step=N exit=85 requeue=yes      (SIGUSR1: requeue to continue)
//   stopped step=N exit=143 requeue=no      (SIGTERM, or exit=130 for SIGINT: stopped for good)
//   failed exit=C reason=<one line>
// N is the step of checkpoints/latest (0 when there is none).
#pragma once

#include <filesystem>
#include <string>

namespace zerotune::runtime {

// Replaces RUN_DIR/status with `line`. Each rank uses its own temporary name, so ranks that
// meet the same failure may all write it. LibraryError when the file cannot be written.
void write_run_status(const std::filesystem::path& run_dir, const std::string& line, int rank);

// The status line for a run that ended with exit `code` (0, a stop's code from
// runtime::stop_exit_code, or an error's code with its message as the reason); the step is
// read from checkpoints_dir/latest.
std::string run_status_line(int code, const std::string& reason,
                            const std::filesystem::path& checkpoints_dir);

}  // namespace zerotune::runtime
