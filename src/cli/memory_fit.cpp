#include "memory_fit.hpp"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "zerotune/base/error.hpp"
#include "zerotune/train/memory_report.hpp"

namespace zerotune::cli {

namespace {

// Model-state bytes per parameter per rank, fp32 everywhere, for ZeRO `stage` over `world`
// ranks: parameters p, gradients g, optimizer state k (ZeRO paper, table 1).
double model_state_bytes_per_param(int64_t stage, int world, bool adamw) {
  return train::zero_bytes_per_param(stage, world, 4, 4, adamw ? 8 : 4);
}

std::string gib(double bytes) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.1f GiB", bytes / (1024.0 * 1024.0 * 1024.0));
  return text;
}

// The cgroup v2 limit (memory.max of the process's own cgroup mounted at /sys/fs/cgroup), or 0.
double cgroup_memory_limit() {
  std::ifstream in("/sys/fs/cgroup/memory.max");
  std::string text;
  if (!(in >> text) || text == "max") return 0;
  try {
    return std::stod(text);
  } catch (const std::exception&) {
    return 0;
  }
}

}  // namespace

double gpt2_parameter_count(const config::ModelConfig& m) {
  const double V = m.vocab_size, T = m.seq_len, C = m.n_embd, L = m.n_layer;
  return V * C + T * C + L * (12 * C * C + 13 * C) + 2 * C;
}

double cpu_run_min_bytes_per_node(const config::RunConfig& c, int world_size,
                                  int local_world_size) {
  const double states =
      gpt2_parameter_count(c.model) *
      model_state_bytes_per_param(c.zero.stage, world_size, c.train.optimizer == "adamw");
  const double logits = 4.0 * static_cast<double>(c.train.micro_batch_size) *
                        static_cast<double>(c.model.seq_len) *
                        static_cast<double>(c.model.vocab_size);
  return (states + logits) * local_world_size;
}

double usable_host_memory_bytes() {
  const long pages = ::sysconf(_SC_PHYS_PAGES);
  const long page_bytes = ::sysconf(_SC_PAGESIZE);
  double bytes = pages > 0 && page_bytes > 0 ? static_cast<double>(pages) * page_bytes : 0;
  const double limit = cgroup_memory_limit();
  if (limit > 0 && (bytes == 0 || limit < bytes)) bytes = limit;
  return bytes;
}

void check_cpu_run_fits(const config::RunConfig& c, const std::vector<std::string>& overrides,
                        int world_size, int local_world_size) {
  const double needed = cpu_run_min_bytes_per_node(c, world_size, local_world_size);
  const double usable = usable_host_memory_bytes();
  if (usable <= 0 || needed <= usable) return;
  // Name the field set last by an override if any, else the file: where to look first.
  std::string origin = c.source;
  for (const char* key : {"model.n_layer", "model.n_embd", "model.vocab_size", "model.seq_len",
                          "train.micro_batch_size"}) {
    const std::string o = config::origin_of(c, overrides, key);
    if (o != c.source) origin = o;
  }
  char params[32];
  std::snprintf(params, sizeof(params), "%.3g", gpt2_parameter_count(c.model));
  throw InputError(origin + ": model.n_layer " + std::to_string(c.model.n_layer) +
                   ", model.n_embd " + std::to_string(c.model.n_embd) + ", model.vocab_size " +
                   std::to_string(c.model.vocab_size) + ", model.seq_len " +
                   std::to_string(c.model.seq_len) + ", train.micro_batch_size " +
                   std::to_string(c.train.micro_batch_size) + ": " + params +
                   " parameters; a CPU run needs at least " + gib(needed) + " per node (" +
                   std::to_string(local_world_size) + " ranks, model states at zero.stage " +
                   std::to_string(c.zero.stage) + " and logits), this node has " + gib(usable));
}

}  // namespace zerotune::cli
