#include "zerotune/cli/estimate_command.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "zerotune/base/error.hpp"
#include "zerotune/config/deepspeed_config.hpp"
#include "zerotune/embedded_config.hpp"
#include "zerotune/runtime/device_selection.hpp"
#include "zerotune/runtime/host_memory.hpp"

namespace zerotune::cli {

namespace {

constexpr const char* kEstimateUsage =
    R"(usage: zerotune estimate [--config FILE] [--deepspeed FILE] [--set section.key=value]...
                         [--world N] [--ntasks-per-node N] [--gpu-memory GIB]
Prints, per ZeRO stage 0-3 and offload choice (offload=none|cpu|nvme: where the optimizer state
lives; offload_param=cpu|nvme: where stage 3's parameter shards live, when the config asks), the
bytes per rank (rank 0) of parameters, gradients, optimizer state, communication and gather
buffers, activations of the micro batch without and with activation checkpointing, and a 10%
fragmentation margin; then fits / does_not_fit on the GPU memory and the largest micro batch
that fits; host_gib (what the rank holds in host memory: the offloaded state or NVMe slots, the
gradient and parameter copies of the offloaded step, offloaded parameter shards), nvme_gib
(its NVMe file) and host_fits on the host memory per rank. The config's own row says
chosen=true; when it does not fit, a last line names the cheapest change that does. Sizes are
the engine's and the model's own buffers (compute dtype from train.precision, fp32 masters and
optimizer state).
  --world N            ranks (default 1)
  --ntasks-per-node N  ranks sharing a node's host memory (default: SLURM_NTASKS_PER_NODE, else
                       SLURM_TASKS_PER_NODE, else all of --world)
  --gpu-memory GIB     device memory per rank (default: the first visible GPU's; without one,
                       unknown: no verdicts)
Host memory per rank: the node's (SLURM_MEM_PER_NODE, else SLURM_MEM_PER_CPU x
SLURM_CPUS_ON_NODE, else MemAvailable of /proc/meminfo) over the ranks on the node.)";

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot read config file");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string gib_text(double gib) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.2f", gib);
  return text;
}

bool is_chosen(const train::MemoryPlanRow& row, const config::RunConfig& c) {
  return row.stage == c.zero.stage &&
         row.offload == train::parse_state_tier(c.zero.offload_optimizer) &&
         row.offload_param == train::parse_state_tier(c.zero.offload_param);
}

const train::MemoryPlanRow* chosen_row(const std::vector<train::MemoryPlanRow>& rows,
                                       const config::RunConfig& c) {
  for (const auto& r : rows) {
    if (is_chosen(r, c)) return &r;
  }
  return nullptr;
}

// The settings that turn the config into `row`'s choice.
std::string row_settings(const train::MemoryPlanRow& r) {
  std::string text = "zero.stage " + std::to_string(r.stage);
  if (r.offload != train::StateTier::kDevice) {
    text += std::string(" with zero.offload_optimizer: ") + train::offload_name(r.offload);
    if (r.offload == train::StateTier::kNvme) text += " (and zero.nvme_path)";
  }
  if (r.offload_param != train::StateTier::kDevice) {
    text += std::string(" and zero.offload_param: ") + train::offload_name(r.offload_param);
  }
  return text;
}

// Cheapest first: a higher stage with the state on the device, then in host memory, then on
// NVMe (and stage 3's shards in host memory), then the same with activation checkpointing; a
// row whose host memory does not fit is never proposed. The device total of a row counts its
// activations and margin.
std::string cheapest_change(const std::vector<train::MemoryPlanRow>& rows,
                            const train::MemoryPlanInput& in, int world) {
  for (bool checkpointing : {false, true}) {
    for (train::StateTier tier :
         {train::StateTier::kDevice, train::StateTier::kCpu, train::StateTier::kNvme}) {
      for (train::StateTier offload_param :
           {train::StateTier::kDevice, train::StateTier::kCpu, train::StateTier::kNvme}) {
        for (const auto& r : rows) {
          if (r.offload != tier || r.offload_param != offload_param) continue;
          if (r.total_bytes(checkpointing) > in.device_memory_bytes) continue;
          if (!r.host_fits(in, checkpointing)) continue;
          return row_settings(r) +
                 (checkpointing ? " and train.activation_checkpointing: true" : "");
        }
      }
    }
  }
  return "more ranks (no stage fits on " + std::to_string(world) + ")";
}

}  // namespace

train::MemoryPlanInput memory_plan_input(const config::RunConfig& c, int world) {
  train::MemoryPlanInput in;
  in.shape = {c.model.n_layer, c.model.n_head, c.model.n_embd, c.model.seq_len, c.model.vocab_size};
  in.world = world;
  in.compute_dtype = dtype_from_name(c.train.precision.c_str());
  in.optimizer = train::parse_optimizer_kind(c.train.optimizer);
  in.micro_batch = c.train.micro_batch_size;
  in.micro_batches_per_step = config::grad_accum_steps(c, world);
  in.gpu = c.train.precision != "fp32" || runtime::resolves_to_cuda(c.run.device);
  in.comm = train::comm_settings(c.zero);
  // The config checked that offload_param comes with an offloaded optimizer at stage 3.
  in.offload_param_tier = train::parse_state_tier(c.zero.offload_optimizer);
  if (in.offload_param_tier != train::StateTier::kDevice) {
    in.offload_param = train::parse_state_tier(c.zero.offload_param);
  }
  in.offload_optimizer_ratio = c.zero.offload_optimizer_ratio;
  return in;
}

std::string own_estimate_line(const config::RunConfig& c, int world, int64_t host_bytes_per_rank) {
  train::MemoryPlanInput in = memory_plan_input(c, world);
  in.host_memory_bytes = host_bytes_per_rank;
  const auto rows = train::plan_memory(in);
  if (const train::MemoryPlanRow* own = chosen_row(rows, c)) {
    return train::format_plan_row(*own, in, c.train.activation_checkpointing);
  }
  return "estimate: no row for zero.stage " + std::to_string(c.zero.stage) +
         " with zero.offload_param " + c.zero.offload_param;
}

int64_t host_memory_per_rank(int ranks_on_node) {
  return runtime::node_host_memory(runtime::current_environment()).bytes /
         std::max(1, ranks_on_node);
}

std::string model_states_refusal(const config::RunConfig& c, int world, int64_t device_bytes,
                                 int64_t host_bytes_per_rank) {
  train::MemoryPlanInput in = memory_plan_input(c, world);
  in.device_memory_bytes = device_bytes;
  in.host_memory_bytes = host_bytes_per_rank;
  const auto rows = train::plan_memory(in);
  const train::MemoryPlanRow* own = chosen_row(rows, c);
  if (!own || own->model_state_bytes() <= device_bytes) return "";
  auto gib = [](int64_t b) { return gib_text(static_cast<double>(b) / (1024.0 * 1024 * 1024)); };
  return "memory estimate: model states need " + gib(own->model_state_bytes()) +
         " GiB per rank at zero.stage " + std::to_string(c.zero.stage) +
         (c.zero.offload ? " with offload_optimizer " + c.zero.offload_optimizer : "") +
         ", the GPU has " + gib(device_bytes) +
         " GiB; the cheapest change that fits: " + cheapest_change(rows, in, world);
}

int run_estimate_command(const std::vector<std::string>& args) {
  std::string config_path, deepspeed_path;
  std::vector<std::string> overrides;
  int world = 1, tasks_per_node = 0;
  double gpu_gib = 0;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--help" || arg == "-h") {
      std::puts(kEstimateUsage);
      return kExitOk;
    }
    if (arg != "--config" && arg != "--deepspeed" && arg != "--set" && arg != "--world" &&
        arg != "--ntasks-per-node" && arg != "--gpu-memory") {
      throw InputError("command line: unknown argument \"" + arg +
                       "\" (see zerotune estimate --help)");
    }
    if (i + 1 >= args.size()) throw InputError("command line: " + arg + ": expected a value");
    const std::string& value = args[++i];
    try {
      size_t used = 0;
      if (arg == "--world" || arg == "--ntasks-per-node") {
        const int ranks = std::stoi(value, &used);
        if (ranks < 1 || used != value.size()) throw std::invalid_argument(value);
        (arg == "--world" ? world : tasks_per_node) = ranks;
      } else if (arg == "--gpu-memory") {
        gpu_gib = std::stod(value, &used);
        if (gpu_gib <= 0 || used != value.size()) throw std::invalid_argument(value);
      }
    } catch (const std::logic_error&) {
      throw InputError("command line: " + arg + ": expected a positive number, got \"" + value +
                       "\"");
    }
    if (arg == "--config") config_path = value;
    if (arg == "--deepspeed") deepspeed_path = value;
    if (arg == "--set") overrides.push_back(value);
  }
  const bool demo = config_path.empty();
  const std::string text = demo ? std::string(kEmbeddedDemoConfig) : read_text(config_path);
  const std::string source = demo ? "<embedded demo config>" : config_path;
  std::vector<std::string> notes;
  const config::RunConfig c =
      deepspeed_path.empty() ? config::parse_run_config(text, source, overrides)
                             : config::parse_run_config_with_deepspeed(
                                   text, source, deepspeed_path, world, overrides, notes, !demo);
  config::grad_accum_steps(c, world);

  train::MemoryPlanInput in = memory_plan_input(c, world);
  if (gpu_gib <= 0 && runtime::resolves_to_cuda("auto")) {
    // No --gpu-memory: the memory of the GPU this process sees first.
    runtime::SelectedDevice gpu = runtime::select_device("cuda", 0, "zerotune estimate");
    if (gpu.probe)
      gpu_gib =
          static_cast<double>(gpu.probe->sample().device_total_bytes) / (1024.0 * 1024 * 1024);
  }
  in.device_memory_bytes = static_cast<int64_t>(gpu_gib * 1024 * 1024 * 1024);
  // The node's host memory, shared by the ranks the job places on it.
  const runtime::EnvMap env = runtime::current_environment();
  if (tasks_per_node == 0) tasks_per_node = runtime::slurm_tasks_per_node(env, world);
  const int ranks_on_node = std::min(world, tasks_per_node);
  const runtime::NodeHostMemory host = runtime::node_host_memory(env);
  in.host_memory_bytes = host.bytes / ranks_on_node;
  const double host_gib = static_cast<double>(in.host_memory_bytes) / (1024.0 * 1024 * 1024);
  std::printf(
      "estimate config=%s params=%lld world_size=%d precision=%s optimizer=%s "
      "micro_batch_size=%lld seq_len=%lld activation_checkpointing=%s sizing=%s "
      "gpu_memory_gib=%s ntasks_per_node=%d host_memory_gib=%s host_memory_source=%s\n",
      source.c_str(), static_cast<long long>(model::make_gpt2_layout(in.shape).total_numel()),
      world, c.train.precision.c_str(), c.train.optimizer.c_str(),
      static_cast<long long>(in.micro_batch), static_cast<long long>(c.model.seq_len),
      c.train.activation_checkpointing ? "true" : "false", in.gpu ? "gpu" : "cpu",
      gpu_gib > 0 ? gib_text(gpu_gib).c_str() : "unknown", ranks_on_node,
      host.bytes > 0 ? gib_text(host_gib).c_str() : "unknown", host.source.c_str());
  const auto rows = train::plan_memory(in);
  for (const auto& row : rows) {
    std::printf("%s%s\n", train::format_plan_row(row, in, c.train.activation_checkpointing).c_str(),
                is_chosen(row, c) ? " chosen=true" : "");
  }
  const train::MemoryPlanRow* own = chosen_row(rows, c);
  const bool ckpt = c.train.activation_checkpointing;
  if (own && ((in.device_memory_bytes > 0 && own->total_bytes(ckpt) > in.device_memory_bytes) ||
              !own->host_fits(in, ckpt))) {
    train::MemoryPlanInput known = in;
    if (known.device_memory_bytes <= 0) known.device_memory_bytes = INT64_MAX;
    std::printf("estimate the chosen row does not fit; the cheapest change that fits: %s\n",
                cheapest_change(rows, known, world).c_str());
  }
  return kExitOk;
}

}  // namespace zerotune::cli
