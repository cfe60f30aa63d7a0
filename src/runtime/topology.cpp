#include "zerotune/runtime/topology.hpp"

#include <mpi.h>
#include <unistd.h>

#include <charconv>

#include "zerotune/base/error.hpp"

extern char** environ;

namespace zerotune::runtime {

namespace {

bool has(const EnvMap& env, const std::string& key) { return env.count(key) != 0; }

int env_int(const EnvMap& env, const std::string& key, int fallback) {
  auto it = env.find(key);
  if (it == env.end()) return fallback;
  int value = 0;
  const char* first = it->second.data();
  const char* last = first + it->second.size();
  auto [ptr, ec] = std::from_chars(first, last, value);
  if (ec != std::errc() || ptr != last) {
    throw InputError("environment: " + key + ": expected an integer, got \"" + it->second + "\"");
  }
  return value;
}

std::string env_str(const EnvMap& env, const std::string& key, const std::string& fallback = "") {
  auto it = env.find(key);
  return it == env.end() ? fallback : it->second;
}

// Inside a job step srun sets SLURM_STEP_ID; the batch shell itself has SLURM_JOB_ID but its
// SLURM_PROCID/SLURM_NTASKS describe the allocation, not this process (mpiexec inside sbatch).
bool in_slurm_step(const EnvMap& env, int mpi_world) {
  return has(env, "SLURM_STEP_ID") && has(env, "SLURM_PROCID") &&
         env_int(env, "SLURM_NTASKS", -1) == mpi_world;
}

void check_agrees(const EnvMap& env, const std::string& key, int mpi_value, const char* what) {
  const int slurm_value = env_int(env, key, mpi_value);
  if (slurm_value != mpi_value) {
    throw InputError("environment: " + key + "=" + std::to_string(slurm_value) + " but MPI " +
                     what + " is " + std::to_string(mpi_value) +
                     ": launch with srun --mpi=pmi2/pmix so SLURM and MPI agree");
  }
}

}  // namespace

const char* launcher_name(Launcher launcher) {
  switch (launcher) {
    case Launcher::Single:
      return "single";
    case Launcher::Mpi:
      return "mpi";
    case Launcher::Slurm:
      return "slurm";
  }
  return "?";
}

EnvMap current_environment() {
  EnvMap env;
  for (char** e = environ; e && *e; ++e) {
    std::string entry(*e);
    auto eq = entry.find('=');
    if (eq != std::string::npos) env[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  return env;
}

Topology resolve_topology(const EnvMap& env, const MpiFacts& mpi) {
  Topology t;
  t.rank = mpi.rank;
  t.world_size = mpi.world_size;
  t.local_rank = mpi.local_rank;
  t.local_world_size = mpi.local_world_size;
  t.node_id = mpi.node_id;
  t.num_nodes = mpi.num_nodes;
  t.node_name = mpi.host_name;
  t.launcher = mpi.world_size > 1 ? Launcher::Mpi : Launcher::Single;

  if (has(env, "SLURM_JOB_ID")) {
    t.job_id = env_str(env, "SLURM_JOB_ID");
    if (has(env, "SLURM_ARRAY_JOB_ID") && has(env, "SLURM_ARRAY_TASK_ID")) {
      t.job_id = env_str(env, "SLURM_ARRAY_JOB_ID") + "_" + env_str(env, "SLURM_ARRAY_TASK_ID");
    }
    t.job_name = env_str(env, "SLURM_JOB_NAME");
    t.restart_count = env_int(env, "SLURM_RESTART_COUNT", 0);
  }

  // srun started several tasks but MPI did not join them: each would train alone and all
  // would write the same job directory.
  if (has(env, "SLURM_STEP_ID") && mpi.world_size == 1 && env_int(env, "SLURM_NTASKS", 1) > 1) {
    throw InputError("environment: SLURM_NTASKS=" + env_str(env, "SLURM_NTASKS") +
                     " in this job step but MPI sees one process: srun's --mpi plugin does not "
                     "match this MPI (use srun --mpi=pmi2 or --mpi=pmix)");
  }
  if (in_slurm_step(env, mpi.world_size)) {
    check_agrees(env, "SLURM_PROCID", mpi.rank, "rank");
    t.launcher = Launcher::Slurm;
    // SLURM knows the nodes of the allocation even where several share one host.
    t.local_rank = env_int(env, "SLURM_LOCALID", t.local_rank);
    t.node_id = env_int(env, "SLURM_NODEID", t.node_id);
    t.num_nodes = env_int(env, "SLURM_STEP_NUM_NODES", env_int(env, "SLURM_NNODES", t.num_nodes));
    t.node_name = env_str(env, "SLURMD_NODENAME", t.node_name);
  }
  if (t.rank < 0 || t.rank >= t.world_size) {
    throw InputError("topology: rank " + std::to_string(t.rank) + " outside world of " +
                     std::to_string(t.world_size));
  }
  return t;
}

Topology detect_topology() {
  MpiFacts facts;
  MPI_Comm_rank(MPI_COMM_WORLD, &facts.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &facts.world_size);

  MPI_Comm node_comm;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, facts.rank, MPI_INFO_NULL, &node_comm);
  MPI_Comm_rank(node_comm, &facts.local_rank);
  MPI_Comm_size(node_comm, &facts.local_world_size);
  // Node ids: the local leaders, numbered in rank order.
  MPI_Comm leaders;
  MPI_Comm_split(MPI_COMM_WORLD, facts.local_rank == 0 ? 0 : MPI_UNDEFINED, facts.rank, &leaders);
  int node_id = 0;
  if (leaders != MPI_COMM_NULL) {
    MPI_Comm_rank(leaders, &node_id);
    MPI_Comm_size(leaders, &facts.num_nodes);
    MPI_Comm_free(&leaders);
  }
  MPI_Bcast(&node_id, 1, MPI_INT, 0, node_comm);
  MPI_Bcast(&facts.num_nodes, 1, MPI_INT, 0, node_comm);
  facts.node_id = node_id;
  MPI_Comm_free(&node_comm);

  char host[256] = {0};
  ::gethostname(host, sizeof(host) - 1);
  facts.host_name = host;

  Topology t = resolve_topology(current_environment(), facts);

  // Every rank learns every node's name (for the start line and the two-node checks).
  constexpr int kNameLen = 128;
  std::vector<char> mine(kNameLen, 0), all(static_cast<size_t>(kNameLen) * t.world_size, 0);
  t.node_name.copy(mine.data(), kNameLen - 1);
  std::vector<int> ids(t.world_size, 0);
  MPI_Allgather(mine.data(), kNameLen, MPI_CHAR, all.data(), kNameLen, MPI_CHAR, MPI_COMM_WORLD);
  MPI_Allgather(&t.node_id, 1, MPI_INT, ids.data(), 1, MPI_INT, MPI_COMM_WORLD);
  t.node_names.assign(t.num_nodes, "");
  t.local_world_size = 0;
  for (int r = 0; r < t.world_size; ++r) {
    if (ids[r] == t.node_id) ++t.local_world_size;
    if (ids[r] >= 0 && ids[r] < t.num_nodes && t.node_names[ids[r]].empty()) {
      t.node_names[ids[r]] = std::string(all.data() + static_cast<size_t>(r) * kNameLen);
    }
  }
  return t;
}

}  // namespace zerotune::runtime
