#include "zerotune/cli/train_command.hpp"

#include <mpi.h>

#include <cstdio>
#include <iostream>

#include "config_agreement.hpp"
#include "zerotune/base/atomic_file.hpp"
#include "zerotune/base/error.hpp"
#include "zerotune/comm/mpi_communicator.hpp"
#include "zerotune/config/run_config.hpp"
#include "zerotune/embedded_config.hpp"
#include "zerotune/ops/cpu_threads.hpp"
#include "zerotune/runtime/device.hpp"
#include "zerotune/runtime/job_dir.hpp"
#include "zerotune/runtime/logging.hpp"
#include "zerotune/runtime/memory_monitor.hpp"
#include "zerotune/runtime/run_status.hpp"
#include "zerotune/runtime/stop_signal.hpp"
#include "zerotune/runtime/topology.hpp"
#include "zerotune/train/checkpoint_discovery.hpp"
#include "zerotune/train/trainer.hpp"

namespace zerotune::cli {

namespace {

constexpr const char* kTrainUsage =
    "usage: zerotune train [--config FILE] [--set section.key=value]... [--resume auto|DIR] "
    "[--run-dir DIR]\n"
    "  no --config: the built-in CPU demo (configs/demo.yaml)";

const std::string& value_of(const std::vector<std::string>& args, size_t& i) {
  if (i + 1 >= args.size()) throw InputError("command line: " + args[i] + ": expected a value");
  return args[++i];
}

config::RunConfig load_config(const TrainArguments& a) {
  if (a.config_path.empty()) {
    return config::parse_run_config(kEmbeddedDemoConfig, "<embedded demo config>", a.overrides);
  }
  return config::load_run_config(a.config_path, a.overrides);
}

// RUN_DIR/status after a failure; never replaces the error being reported by another.
void write_failed_status(const train::RunContext& ctx, int code, const std::string& reason) {
  try {
    runtime::write_run_status(ctx.job_dir.root(),
                              runtime::run_status_line(code, reason, ctx.job_dir.checkpoints()),
                              ctx.topology.rank);
  } catch (const std::exception&) {
  }
}

// Builds the run context once (topology, communicator, device, job directory, logs, memory
// monitor), records the resolved config, and hands over to the trainer.
int start_run(train::RunContext& ctx, const std::string& run_dir) {
  ctx.topology = runtime::detect_topology();
  runtime::init_console_logging(ctx.topology.rank);
  comm::CommOptions comm_options;
  comm_options.timeout = std::chrono::seconds(ctx.config.comm.timeout_s);
  auto comm = comm::make_mpi_communicator(MPI_COMM_WORLD, comm_options);
  ctx.comm = comm.get();
  ctx.device = &runtime::cpu_device();
  check_ranks_agree_on_config(ctx.config, *comm);
  // Rank 0 decides the path (a timestamp differs between ranks) and creates it.
  std::string path, error;
  if (ctx.topology.is_root()) {
    try {
      path = runtime::create_job_dir(ctx.config.run.root, ctx.config.run.name, run_dir,
                                     ctx.resume == "auto", ctx.topology)
                 .root()
                 .string();
    } catch (const InputError& e) {
      error = e.what();
    }
  }
  path = comm::broadcast_string(*comm, path);
  error = comm::broadcast_string(*comm, error);
  if (!error.empty()) throw InputError(error);
  ctx.job_dir = runtime::JobDir(path);
  runtime::add_rank_log_file(ctx.job_dir.log_file(ctx.topology.rank), ctx.topology.rank);
  const int threads = ops::configure_cpu_threads(ctx.topology.local_world_size);
  runtime::log().info("zerotune {} train: config={} run_dir={} cpu_threads_per_rank={}",
                      ZEROTUNE_VERSION, ctx.config.source, ctx.job_dir.root().string(), threads);
  // A fresh run must not overwrite an earlier run's config or interleave its checkpoints.
  // Any step-* directory or `latest` counts, complete or not, so that nothing of an earlier
  // run is rotated away by a run that started over.
  if (ctx.resume.empty() && train::holds_checkpoints(ctx.job_dir.checkpoints())) {
    throw InputError(ctx.job_dir.root().string() +
                     ": already holds checkpoints: continue with --resume auto, or choose "
                     "another run.name or --run-dir");
  }
  if (ctx.topology.is_root()) {
    write_file_atomically(ctx.job_dir.config_file(), config::to_yaml(ctx.config));
  }
  runtime::MemoryMonitor monitor(runtime::make_cpu_memory_probe(),
                                 ctx.job_dir.memory_file(ctx.topology.rank),
                                 ctx.config.monitor.interval_ms);
  ctx.monitor = &monitor;
  runtime::install_stop_signal_handlers();
  if (ctx.topology.is_root()) runtime::write_run_status(ctx.job_dir.root(), "running", 0);
  int code = kExitOk;
  try {
    code = train::run_training(ctx);
  } catch (const comm::PeerFailure& e) {
    // Rank 0 may be the one that stopped answering, so every rank that fails writes.
    write_failed_status(ctx, kExitPeerFailure, e.what());
    throw;
  } catch (const InputError& e) {
    write_failed_status(ctx, kExitInputError, e.what());
    throw;
  } catch (const std::exception& e) {
    write_failed_status(ctx, kExitLibraryError, e.what());
    throw;
  }
  if (ctx.topology.is_root()) {
    runtime::write_run_status(ctx.job_dir.root(),
                              runtime::run_status_line(code, "", ctx.job_dir.checkpoints()), 0);
  }
  return code;
}

}  // namespace

TrainArguments parse_train_arguments(const std::vector<std::string>& args) {
  TrainArguments a;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--config") {
      a.config_path = value_of(args, i);
    } else if (arg == "--set") {
      a.overrides.push_back(value_of(args, i));
    } else if (arg.rfind("--set=", 0) == 0) {
      a.overrides.push_back(arg.substr(6));
    } else if (arg == "--resume") {
      a.resume = value_of(args, i);
    } else if (arg == "--run-dir") {
      a.run_dir = value_of(args, i);
    } else {
      throw InputError("command line: unknown argument \"" + arg +
                       "\" (see zerotune train --help)");
    }
  }
  return a;
}

int run_train_command(const std::vector<std::string>& args) {
  for (const auto& a : args) {
    if (a == "--help" || a == "-h") {
      std::puts(kTrainUsage);
      return kExitOk;
    }
  }
  TrainArguments a;
  try {
    a = parse_train_arguments(args);
  } catch (const InputError& e) {
    throw UniformInputError(e.what());
  }
  train::RunContext ctx;
  try {
    // Every rank reads the same command line and config: an error here is everyone's.
    ctx.config = load_config(a);
    int world = 1;
    MPI_Comm_size(MPI_COMM_WORLD, &world);
    // The batch arithmetic for this world size, before anything touches the disk.
    config::grad_accum_steps(ctx.config, world);
  } catch (const InputError& e) {
    throw UniformInputError(e.what());
  }
  ctx.resume = a.resume;
  return start_run(ctx, a.run_dir);
}

int run_config_command(const std::vector<std::string>& args) {
  std::vector<std::string> rest;
  bool reference = false;
  for (const auto& arg : args) {
    if (arg == "--reference") {
      reference = true;
    } else {
      rest.push_back(arg);
    }
  }
  if (reference) {
    std::cout << config::reference_markdown();
    return kExitOk;
  }
  std::cout << config::to_yaml(load_config(parse_train_arguments(rest)));
  return kExitOk;
}

}  // namespace zerotune::cli
