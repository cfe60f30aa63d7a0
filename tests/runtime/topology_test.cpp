#include "zerotune/runtime/topology.hpp"

#include <boost/test/unit_test.hpp>

#include "zerotune/base/error.hpp"

using namespace zerotune::runtime;

namespace {
MpiFacts facts(int rank, int world, int local = 0, int local_world = 1, int node = 0,
               int nodes = 1) {
  MpiFacts f;
  f.rank = rank;
  f.world_size = world;
  f.local_rank = local;
  f.local_world_size = local_world;
  f.node_id = node;
  f.num_nodes = nodes;
  f.host_name = "host-a";
  return f;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(topology)

BOOST_AUTO_TEST_CASE(single_process_without_slurm_is_rank_zero_of_one) {
  Topology t = resolve_topology({}, facts(0, 1));
  BOOST_TEST(t.rank == 0);
  BOOST_TEST(t.world_size == 1);
  BOOST_TEST((t.launcher == Launcher::Single));
  BOOST_TEST(t.job_id.empty());
  BOOST_TEST(t.node_name == "host-a");
}

BOOST_AUTO_TEST_CASE(mpiexec_without_slurm_uses_mpi_layout) {
  Topology t = resolve_topology({{"PATH", "/bin"}}, facts(3, 4, 1, 2, 1, 2));
  BOOST_TEST((t.launcher == Launcher::Mpi));
  BOOST_TEST(t.rank == 3);
  BOOST_TEST(t.local_rank == 1);
  BOOST_TEST(t.node_id == 1);
  BOOST_TEST(t.num_nodes == 2);
}

BOOST_AUTO_TEST_CASE(srun_step_takes_nodes_from_slurm) {
  EnvMap env = {{"SLURM_JOB_ID", "4242"},     {"SLURM_JOB_NAME", "zero3"},
                {"SLURM_STEP_ID", "0"},       {"SLURM_PROCID", "2"},
                {"SLURM_NTASKS", "4"},        {"SLURM_LOCALID", "0"},
                {"SLURM_NODEID", "1"},        {"SLURM_STEP_NUM_NODES", "2"},
                {"SLURMD_NODENAME", "node2"}, {"SLURM_RESTART_COUNT", "3"}};
  // Both "nodes" share one host here, so MPI alone would see one node.
  Topology t = resolve_topology(env, facts(2, 4, 2, 4, 0, 1));
  BOOST_TEST((t.launcher == Launcher::Slurm));
  BOOST_TEST(t.node_id == 1);
  BOOST_TEST(t.num_nodes == 2);
  BOOST_TEST(t.local_rank == 0);
  BOOST_TEST(t.node_name == "node2");
  BOOST_TEST(t.job_id == "4242");
  BOOST_TEST(t.job_name == "zero3");
  BOOST_TEST(t.restart_count == 3);
}

BOOST_AUTO_TEST_CASE(array_job_id_includes_the_task) {
  EnvMap env = {
      {"SLURM_JOB_ID", "101"}, {"SLURM_ARRAY_JOB_ID", "100"}, {"SLURM_ARRAY_TASK_ID", "7"}};
  BOOST_TEST(resolve_topology(env, facts(0, 1)).job_id == "100_7");
}

BOOST_AUTO_TEST_CASE(mpiexec_inside_batch_script_ignores_allocation_procid) {
  // The batch shell's SLURM_PROCID=0 is inherited by every rank of an mpiexec inside it;
  // without SLURM_STEP_ID it describes the allocation, not the process.
  EnvMap env = {{"SLURM_JOB_ID", "9"}, {"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "4"}};
  Topology t = resolve_topology(env, facts(3, 4));
  BOOST_TEST(t.rank == 3);
  BOOST_TEST((t.launcher == Launcher::Mpi));
  BOOST_TEST(t.job_id == "9");
}

BOOST_AUTO_TEST_CASE(rejects_srun_rank_that_contradicts_mpi) {
  EnvMap env = {{"SLURM_STEP_ID", "0"}, {"SLURM_PROCID", "1"}, {"SLURM_NTASKS", "2"}};
  BOOST_CHECK_EXCEPTION(resolve_topology(env, facts(0, 2)), zerotune::InputError,
                        [](const zerotune::InputError& e) {
                          return std::string(e.what()).find("SLURM_PROCID") != std::string::npos;
                        });
}

BOOST_AUTO_TEST_CASE(rejects_srun_tasks_that_mpi_did_not_join) {
  // srun --mpi=none with an MPI that needs PMI: every task is a world of one.
  EnvMap env = {{"SLURM_STEP_ID", "0"}, {"SLURM_PROCID", "2"}, {"SLURM_NTASKS", "4"}};
  BOOST_CHECK_EXCEPTION(resolve_topology(env, facts(0, 1)), zerotune::InputError,
                        [](const zerotune::InputError& e) {
                          return std::string(e.what()).find("--mpi") != std::string::npos;
                        });
}

BOOST_AUTO_TEST_CASE(rejects_non_numeric_slurm_variable) {
  EnvMap env = {{"SLURM_JOB_ID", "5"}, {"SLURM_RESTART_COUNT", "two"}};
  BOOST_CHECK_THROW(resolve_topology(env, facts(0, 1)), zerotune::InputError);
}

BOOST_AUTO_TEST_SUITE_END()
