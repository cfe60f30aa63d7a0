// The `zerotune` executable: train | eval | generate | prep | tokenize | report | config |
// export | estimate | --version. Every error ends as one line on stderr and a documented exit
// code (README "Exit codes"): 2 bad input, 3 library or system failure, 4 a peer rank failed,
// 85 stopped for requeue, 130/143 stopped for good on SIGINT/SIGTERM (both after a checkpoint).
#include <mpi.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "zerotune/base/error.hpp"
#include "zerotune/base/hdf5_handle.hpp"
#include "zerotune/base/quoted.hpp"
#include "zerotune/cli/data_commands.hpp"
#include "zerotune/cli/estimate_command.hpp"
#include "zerotune/cli/eval_command.hpp"
#include "zerotune/cli/export_command.hpp"
#include "zerotune/cli/generate_command.hpp"
#include "zerotune/cli/report_command.hpp"
#include "zerotune/cli/train_command.hpp"
#include "zerotune/comm/communicator.hpp"
#include "zerotune/runtime/logging.hpp"
#include "zerotune/runtime/stop_signal.hpp"

namespace {

constexpr const char* kUsage =
    "usage: zerotune <command> [options]\n"
    "  train     fine-tune a GPT-2 (no options: the built-in CPU demo)\n"
    "  eval      loss, perplexity and samples/s of a checkpoint or a GPT-2 on a token file\n"
    "  generate  continue a prompt with a checkpoint or a GPT-2 (greedy or sampled)\n"
    "  prep      tokenize WikiText or SQuAD into an HDF5 token file\n"
    "  tokenize  print the GPT-2 token ids of each input line (--decode: the reverse)\n"
    "  report    strategy and workshop tables (and --plot) of run directories or .out files\n"
    "  config    print the resolved config (--reference: every field)\n"
    "  export    write a checkpoint as a Hugging Face model directory\n"
    "  estimate  memory per rank for each ZeRO stage before a job starts\n"
    "  --version\n"
    "`zerotune <command> --help` for a command's options.";

int dispatch(const std::string& command, const std::vector<std::string>& args) {
  using namespace zerotune::cli;
  if (command == "train") return run_train_command(args);
  if (command == "eval") return run_eval_command(args);
  if (command == "generate") return run_generate_command(args);
  if (command == "prep") return run_prep_command(args);
  if (command == "tokenize") return run_tokenize_command(args);
  if (command == "report") return run_report_command(args);
  if (command == "config") return run_config_command(args);
  if (command == "export") return run_export_command(args);
  if (command == "estimate") return run_estimate_command(args);
  if (command == "--version" || command == "version") {
    std::printf("zerotune %s\n", ZEROTUNE_VERSION);
    return zerotune::kExitOk;
  }
  if (command == "--help" || command == "-h" || command == "help") {
    std::puts(kUsage);
    return zerotune::kExitOk;
  }
  throw zerotune::UniformInputError(
      "command line: unknown command " + zerotune::quote_value(command) +
      " (train, eval, generate, prep, tokenize, report, config, export, estimate; see zerotune "
      "--help)");
}

// One line on stderr from the rank that saw the error. With several ranks the job must end
// rather than leave the others waiting: rank 0 aborts at once; another rank waits a moment
// (if rank 0 failed the same way, its line is the one printed) and then aborts the job.
int fail(int code, const std::string& message) {
  int rank = 0, world = 1, initialized = 0;
  MPI_Initialized(&initialized);
  if (initialized) {
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &world);
  }
  if (world > 1 && rank != 0) ::sleep(2);
  std::fprintf(stderr, "%szerotune: error: %s\n",
               rank == 0 ? "" : ("rank " + std::to_string(rank) + ": ").c_str(),
               zerotune::one_line(message).c_str());
  std::fflush(stderr);
  if (world > 1) {
    // The launcher forwards each rank's stderr from a pipe; MPI_Abort makes it kill the job and
    // can drop what it has not read yet, which lost this very line now and then (an exit 3
    // with an empty stderr). A moment lets the line through first.
    ::usleep(300 * 1000);
    MPI_Abort(MPI_COMM_WORLD, code);
  }
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  // A stop signal (SLURM's SIGTERM or SIGUSR1, Ctrl-C's SIGINT) during start-up must end a
  // training run with its stop code, not kill it: the handlers only set a flag the trainer reads.
  if (argc >= 2 && std::string(argv[1]) == "train")
    zerotune::runtime::install_stop_signal_handlers();
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
  // Some MPI transports (UCX) install their own SIGTERM/SIGINT handlers in MPI_Init: ours again.
  if (argc >= 2 && std::string(argv[1]) == "train")
    zerotune::runtime::install_stop_signal_handlers();
  int code = zerotune::kExitOk;
  if (argc < 2) {
    std::fprintf(stderr, "%s\n", kUsage);
    MPI_Finalize();
    return zerotune::kExitInputError;
  }
  try {
    code = dispatch(argv[1], std::vector<std::string>(argv + 2, argv + argc));
  } catch (const zerotune::UniformInputError& e) {
    // Every rank saw it: rank 0 says so once and all exit without aborting the job.
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    if (rank == 0)
      std::fprintf(stderr, "zerotune: error: %s\n", zerotune::one_line(e.what()).c_str());
    code = zerotune::kExitInputError;
  } catch (const zerotune::InputError& e) {
    code = fail(zerotune::kExitInputError, e.what());
  } catch (const zerotune::comm::PeerFailure& e) {
    code = fail(zerotune::kExitPeerFailure, e.what());
  } catch (const std::exception& e) {
    code = fail(zerotune::kExitLibraryError, e.what());
  }
  if (code != zerotune::kExitOk && zerotune::hdf5_open_file_count() > 0) {
    // A file HDF5 could not close (a full disk during a checkpoint) would crash HDF5's
    // clean-up inside MPI_Finalize: end with the code already reported instead.
    zerotune::runtime::log().flush();
    std::fflush(nullptr);
    std::_Exit(code);
  }
  MPI_Finalize();
  return code;
}
