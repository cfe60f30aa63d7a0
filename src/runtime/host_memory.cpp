#include "zerotune/runtime/host_memory.hpp"

#include <charconv>
#include <fstream>
#include <sstream>

#include "zerotune/base/error.hpp"

namespace zerotune::runtime {

namespace {

constexpr int64_t kMiB = 1024 * 1024;

// The leading whole number of the variable's value, or -1 when it is not set. `whole`: the
// value must be that number and nothing else.
int64_t leading_number(const EnvMap& env, const std::string& key, bool whole) {
  auto it = env.find(key);
  if (it == env.end()) return -1;
  const std::string& text = it->second;
  int64_t value = -1;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || value < 0 || (whole && ptr != text.data() + text.size())) {
    throw InputError("environment: " + key + ": expected a whole number, got \"" + text + "\"");
  }
  return value;
}

// MemAvailable of a /proc/meminfo-style file, in bytes; 0 when absent.
int64_t mem_available(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string key, unit;
    int64_t value = 0;
    if (fields >> key >> value && key == "MemAvailable:") {
      fields >> unit;
      return unit == "kB" ? value * 1024 : value;
    }
  }
  return 0;
}

}  // namespace

NodeHostMemory node_host_memory(const EnvMap& env, const std::string& meminfo) {
  const int64_t per_node = leading_number(env, "SLURM_MEM_PER_NODE", true);
  if (per_node > 0) return {per_node * kMiB, "SLURM_MEM_PER_NODE"};
  const int64_t per_cpu = leading_number(env, "SLURM_MEM_PER_CPU", true);
  if (per_cpu > 0) {
    const int64_t cpus = leading_number(env, "SLURM_CPUS_ON_NODE", true);
    if (cpus > 0) return {per_cpu * cpus * kMiB, "SLURM_MEM_PER_CPU"};
  }
  const int64_t available = mem_available(meminfo);
  if (available > 0) return {available, "MemAvailable"};
  return {0, "unknown"};
}

int slurm_tasks_per_node(const EnvMap& env, int fallback) {
  for (const char* key : {"SLURM_NTASKS_PER_NODE", "SLURM_TASKS_PER_NODE"}) {
    // SLURM_TASKS_PER_NODE lists counts per node group: "4(x2),2".
    const bool list = std::string(key) == "SLURM_TASKS_PER_NODE";
    const int64_t tasks = leading_number(env, key, !list);
    if (tasks == 0 || tasks > (1 << 20)) {
      throw InputError("environment: " + std::string(key) + ": expected a positive count, got \"" +
                       env.at(key) + "\"");
    }
    if (tasks > 0) return static_cast<int>(tasks);
  }
  return fallback;
}

}  // namespace zerotune::runtime
