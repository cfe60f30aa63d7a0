#include "zerotune/cli/train_command.hpp"

#include <mpi.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string_view>

#include "config_agreement.hpp"
#include "memory_fit.hpp"
#include "zerotune/base/atomic_file.hpp"
#include "zerotune/base/error.hpp"
#include "zerotune/base/quoted.hpp"
#include "zerotune/cli/estimate_command.hpp"
#include "zerotune/comm/agreed_error.hpp"
#include "zerotune/comm/mpi_communicator.hpp"
#include "zerotune/comm/nccl_communicator.hpp"
#include "zerotune/config/deepspeed_config.hpp"
#include "zerotune/config/run_config.hpp"
#include "zerotune/embedded_config.hpp"
#include "zerotune/ops/cpu_threads.hpp"
#include "zerotune/runtime/device.hpp"
#include "zerotune/runtime/device_selection.hpp"
#include "zerotune/runtime/job_dir.hpp"
#include "zerotune/runtime/logging.hpp"
#include "zerotune/runtime/memory_monitor.hpp"
#include "zerotune/runtime/run_status.hpp"
#include "zerotune/runtime/stop_signal.hpp"
#include "zerotune/runtime/topology.hpp"
#include "zerotune/train/checkpoint_discovery.hpp"
#include "zerotune/train/nvme_path_check.hpp"
#include "zerotune/train/trainer.hpp"

namespace zerotune::cli {

namespace {

constexpr const char* kTrainUsage =
    "usage: zerotune train [--config FILE] [--deepspeed FILE] [--set section.key=value]... "
    "[--resume auto|DIR] [--run-dir DIR]\n"
    "  no --config: the built-in CPU demo (configs/demo.yaml)\n"
    "  --deepspeed: a DeepSpeed ds_config.json, applied beneath the YAML and --set";

const std::string& value_of(const std::vector<std::string>& args, size_t& i) {
  if (i + 1 >= args.size()) throw InputError("command line: " + args[i] + ": expected a value");
  return args[++i];
}

std::string read_config_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot read config file");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// `notes` receives the DeepSpeed keys accepted without effect, for the info log.
config::RunConfig load_config(const TrainArguments& a, std::vector<std::string>& notes) {
  if (!a.deepspeed_path.empty()) {
    int world = 1;
    MPI_Comm_size(MPI_COMM_WORLD, &world);
    const bool demo = a.config_path.empty();
    const std::string text =
        demo ? std::string(kEmbeddedDemoConfig) : read_config_text(a.config_path);
    return config::parse_run_config_with_deepspeed(text,
                                                   demo ? "<embedded demo config>" : a.config_path,
                                                   a.deepspeed_path, world, a.overrides, notes,
                                                   /*yaml_over_deepspeed=*/!demo);
  }
  if (a.config_path.empty()) {
    return config::parse_run_config(kEmbeddedDemoConfig, "<embedded demo config>", a.overrides);
  }
  return config::load_run_config(a.config_path, a.overrides);
}

// What the config asks of the device that can be checked before a run starts (and by
// `zerotune config`): reduced precision needs a GPU.
void check_device_fits(const config::RunConfig& c, const std::vector<std::string>& overrides) {
  if (c.train.precision != "fp32" && !runtime::resolves_to_cuda(c.run.device)) {
    throw InputError(config::origin_of(c, overrides, "train.precision") +
                     ": train.precision: " + c.train.precision +
                     " needs a CUDA device and run.device resolves to the CPU here (set "
                     "train.precision: fp32, or run on a GPU)");
  }
}

// data.train_file has no default: a run without it names the field, not an empty path.
void check_train_file_set(const config::RunConfig& c, const std::vector<std::string>& overrides) {
  if (c.data.train_file.empty()) {
    throw InputError(config::origin_of(c, overrides, "data.train_file") +
                     ": data.train_file: not set; expected an HDF5 token file from zerotune prep, "
                     "or synthetic for the built-in demo corpus");
  }
}

// Whether the job directory holds anything of a run: a checkpoint or a trained step.
bool holds_a_run(const runtime::JobDir& dir) {
  if (train::holds_checkpoints(dir.checkpoints())) return true;
  std::ifstream metrics(dir.metrics_file());
  std::string line;
  while (std::getline(metrics, line)) {
    if (line.find("\"type\":\"step\"") != std::string::npos) return true;
  }
  return false;
}

int start_in_job_dir(train::RunContext& ctx, runtime::SelectedDevice& selected,
                     const TrainArguments& a, const std::vector<std::string>& deepspeed_notes);

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
// monitor), records the resolved config, and hands over to the trainer. A start that fails
// before its first step removes the job directory it created, so that a mistyped config or
// data path leaves no empty run behind (a directory that held anything before is kept).
int start_run(train::RunContext& ctx, const TrainArguments& a,
              const std::vector<std::string>& deepspeed_notes) {
  const std::string& run_dir = a.run_dir;
  const std::vector<std::string>& overrides = a.overrides;
  ctx.topology = runtime::detect_topology();
  runtime::init_console_logging(ctx.topology.rank);
  if (ctx.config.log.level == "debug") runtime::show_debug_on_console();
  if (!runtime::resolves_to_cuda(ctx.config.run.device)) {
    check_cpu_run_fits(ctx.config, overrides, ctx.topology.world_size,
                       ctx.topology.local_world_size);
  }
  comm::CommOptions comm_options;
  comm_options.timeout = std::chrono::seconds(ctx.config.comm.timeout_s);
  comm_options.nccl_init_report = ctx.config.log.level == "debug";
  auto comm = comm::make_mpi_communicator(MPI_COMM_WORLD, comm_options);
  ctx.comm = comm.get();
  check_ranks_agree_on_config(ctx.config, *comm);
  runtime::SelectedDevice selected =
      runtime::select_device(ctx.config.run.device, ctx.topology.local_rank,
                             config::origin_of(ctx.config, overrides, "run.device"));
  ctx.device = selected.device;
  // Model states that cannot fit the GPU stop the run before its directory is made.
  if (!ctx.device->is_host() && selected.probe) {
    const int64_t device_bytes = selected.probe->sample().device_total_bytes;
    const std::string refusal =
        device_bytes > 0 ? model_states_refusal(ctx.config, ctx.topology.world_size, device_bytes,
                                                host_memory_per_rank(ctx.topology.local_world_size))
                         : "";
    if (!refusal.empty()) throw InputError(refusal);
  }
  // An nvme offload's folder, on every rank, before the run directory is made or touched:
  // all ranks stop on the first one's problem. The ranks of a node share the folder, so each
  // needs room for all of them.
  if (const int64_t bytes =
          train::nvme_bytes_of_rank(ctx.config, ctx.topology.world_size, ctx.topology.rank)) {
    std::string error = train::check_nvme_path(ctx.config.zero.nvme_path,
                                               bytes * std::max(1, ctx.topology.local_world_size));
    if (!error.empty()) {
      error = config::origin_of(ctx.config, overrides, "zero.nvme_path") + ": " + error;
    }
    error = comm::agreed_error(*comm, error);
    if (!error.empty()) throw UniformInputError(error);
  }
  // GPU runs talk NCCL (device buffers; host values still go over MPI underneath).
  std::unique_ptr<comm::Communicator> nccl;
  if (!selected.device->is_host()) {
    nccl = comm::make_nccl_communicator(*comm, *selected.device, comm_options);
    ctx.comm = nccl.get();
  }
  // Rank 0 decides the path (a timestamp differs between ranks) and creates it.
  std::string path, error;
  bool created_here = false;
  if (ctx.topology.is_root()) {
    try {
      const bool given_existed = !run_dir.empty() && std::filesystem::exists(run_dir);
      path = runtime::create_job_dir(ctx.config.run.root, ctx.config.run.name, run_dir,
                                     ctx.resume == "auto", ctx.topology)
                 .root()
                 .string();
      const runtime::JobDir made(path);
      created_here = !given_existed && !std::filesystem::exists(made.metrics_file()) &&
                     !std::filesystem::exists(made.config_file()) &&
                     !train::holds_checkpoints(made.checkpoints());
    } catch (const InputError& e) {
      error = e.what();
    }
  }
  path = comm::broadcast_string(*comm, path);
  error = comm::broadcast_string(*comm, error);
  if (!error.empty()) throw InputError(error);
  ctx.job_dir = runtime::JobDir(path);
  try {
    return start_in_job_dir(ctx, selected, a, deepspeed_notes);
  } catch (...) {
    if (created_here && !holds_a_run(ctx.job_dir)) {
      std::error_code ec;
      std::filesystem::remove_all(ctx.job_dir.root(), ec);
    }
    throw;
  }
}

int start_in_job_dir(train::RunContext& ctx, runtime::SelectedDevice& selected,
                     const TrainArguments& a, const std::vector<std::string>& deepspeed_notes) {
  runtime::add_rank_log_file(ctx.job_dir.log_file(ctx.topology.rank), ctx.topology.rank);
  const int threads = ops::configure_cpu_threads(ctx.topology.local_world_size);
  runtime::log().info("zerotune {} train: config={} run_dir={} cpu_threads_per_rank={}",
                      ZEROTUNE_VERSION, ctx.config.source, ctx.job_dir.root().string(), threads);
  runtime::log().info("device rank={} local_rank={} {}", ctx.topology.rank, ctx.topology.local_rank,
                      selected.description);
  if (std::string_view(ctx.comm->transport()) == "nccl") {
    runtime::log().info("nccl version={} ranks={} timeout_s={}", comm::nccl_version(),
                        ctx.comm->size(), ctx.config.comm.timeout_s);
  }
  runtime::log().info("{}", own_estimate_line(ctx.config, ctx.topology.world_size,
                                              host_memory_per_rank(ctx.topology.local_world_size)));
  if (!deepspeed_notes.empty()) {
    std::string keys;
    for (const auto& n : deepspeed_notes) keys += (keys.empty() ? "" : ", ") + n;
    runtime::log().info("deepspeed {}: accepted, no effect yet: {}", a.deepspeed_path, keys);
  }
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
  runtime::MemoryMonitor monitor(std::move(selected.probe),
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
    } else if (arg == "--deepspeed") {
      a.deepspeed_path = value_of(args, i);
    } else {
      throw InputError("command line: unknown argument " + quote_value(arg) +
                       " (see zerotune train --help)");
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
  std::vector<std::string> deepspeed_notes;
  try {
    // Every rank reads the same command line and config: an error here is everyone's.
    ctx.config = load_config(a, deepspeed_notes);
    int world = 1;
    MPI_Comm_size(MPI_COMM_WORLD, &world);
    // The batch arithmetic for this world size, before anything touches the disk.
    config::grad_accum_steps(ctx.config, world);
    config::resolve_global_batch(ctx.config, world);
    check_device_fits(ctx.config, a.overrides);
    check_train_file_set(ctx.config, a.overrides);
  } catch (const InputError& e) {
    throw UniformInputError(e.what());
  }
  ctx.resume = a.resume;
  return start_run(ctx, a, deepspeed_notes);
}

int run_config_command(const std::vector<std::string>& args) {
  std::vector<std::string> rest;
  bool reference = false;
  for (const auto& arg : args) {
    if (arg == "--help" || arg == "-h") {
      std::puts(
          "usage: zerotune config [--config FILE] [--deepspeed FILE] [--set section.key=value]...\n"
          "       zerotune config --reference\n"
          "Validates a config (with the DeepSpeed file and the overrides applied, as zerotune train\n"
          "would) and prints it resolved as YAML; --reference prints every field, its type,\n"
          "default and meaning as markdown (docs/config-reference.md).");
      return kExitOk;
    }
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
  const TrainArguments a = parse_train_arguments(rest);
  std::vector<std::string> notes;
  const config::RunConfig c = load_config(a, notes);
  check_device_fits(c, a.overrides);
  // A YAML comment, so that the output stays a config that loads.
  for (const auto& n : notes)
    std::cout << "# deepspeed " << a.deepspeed_path << ": accepted, no effect yet: " << n << "\n";
  std::cout << config::to_yaml(c);
  return kExitOk;
}

}  // namespace zerotune::cli
