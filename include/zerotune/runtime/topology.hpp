// Where this process sits in the job: rank, world, node, local rank, SLURM job facts.
// SLURM (srun) variables are cross-checked against MPI; MPI is the truth for rank and world.
// Under plain mpiexec or as a single process the node layout comes from MPI's shared-memory
// split, and the job id is empty (the job directory then uses a timestamp).
#pragma once

#include <map>
#include <string>
#include <vector>

namespace zerotune::runtime {

enum class Launcher { Single, Mpi, Slurm };
const char* launcher_name(Launcher launcher);

struct Topology {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  int local_world_size = 1;
  int node_id = 0;
  int num_nodes = 1;
  std::string node_name;  // SLURMD_NODENAME or host name
  std::vector<std::string>
      node_names;  // every node, in node_id order (filled by gather_node_names)
  Launcher launcher = Launcher::Single;
  std::string job_id;     // SLURM_JOB_ID (with array task: <array job>_<task>)
  std::string job_name;   // SLURM_JOB_NAME
  int restart_count = 0;  // SLURM_RESTART_COUNT (requeues)
  bool is_root() const { return rank == 0; }
};

using EnvMap = std::map<std::string, std::string>;
EnvMap current_environment();

// What MPI itself says (from MPI_COMM_WORLD and the shared-memory split).
struct MpiFacts {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  int local_world_size = 1;
  int node_id = 0;
  int num_nodes = 1;
  std::string host_name;
};

// Pure function (tested without MPI): combines the environment with MPI's view.
// Throws InputError when srun's variables contradict MPI (e.g. SLURM_NTASKS=4 but MPI world 2
// inside a job step), naming the variable.
Topology resolve_topology(const EnvMap& env, const MpiFacts& mpi);

// Queries MPI (MPI_Init must have run) and the process environment.
Topology detect_topology();

}  // namespace zerotune::runtime
