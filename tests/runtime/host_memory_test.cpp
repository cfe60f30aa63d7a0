// Host memory of a node from SLURM's variables (MiB) or a meminfo file (kB), and the tasks per
// node from SLURM's two spellings.
#include "zerotune/runtime/host_memory.hpp"

#include <boost/test/unit_test.hpp>
#include <fstream>

#include "input_error.hpp"
#include "test_support.hpp"

using namespace zerotune;
using zerotune::testing::input_error;
using zerotune::testing::ScratchDir;

namespace {

// A /proc/meminfo look-alike whose MemAvailable is `kib` kB.
std::string meminfo_file(const ScratchDir& dir, long long kib) {
  const std::string path = (dir / "meminfo").string();
  std::ofstream out(path);
  out << "MemTotal:       131072000 kB\nMemFree:         1000 kB\nMemAvailable:   " << kib
      << " kB\nBuffers:          2048 kB\n";
  return path;
}

constexpr int64_t kMiB = 1024 * 1024;

}  // namespace

BOOST_AUTO_TEST_SUITE(host_memory)

BOOST_AUTO_TEST_CASE(slurm_allocation_comes_before_meminfo) {
  ScratchDir dir("zt-meminfo");
  const std::string meminfo = meminfo_file(dir, 4096);
  const auto per_node = runtime::node_host_memory({{"SLURM_MEM_PER_NODE", "128000"}}, meminfo);
  BOOST_TEST(per_node.bytes == 128000 * kMiB);
  BOOST_TEST(per_node.source == "SLURM_MEM_PER_NODE");
  const auto per_cpu = runtime::node_host_memory(
      {{"SLURM_MEM_PER_CPU", "2000"}, {"SLURM_CPUS_ON_NODE", "16"}}, meminfo);
  BOOST_TEST(per_cpu.bytes == 32000 * kMiB);
  BOOST_TEST(per_cpu.source == "SLURM_MEM_PER_CPU");
  // --mem=0 (the whole node) and a per-CPU figure without the CPU count: the kernel's figure.
  for (const runtime::EnvMap& env :
       {runtime::EnvMap{{"SLURM_MEM_PER_NODE", "0"}}, runtime::EnvMap{{"SLURM_MEM_PER_CPU", "8"}},
        runtime::EnvMap{}}) {
    const auto available = runtime::node_host_memory(env, meminfo);
    BOOST_TEST(available.bytes == 4096 * 1024);
    BOOST_TEST(available.source == "MemAvailable");
  }
  const auto unknown = runtime::node_host_memory({}, (dir / "absent").string());
  BOOST_TEST(unknown.bytes == 0);
  BOOST_TEST(unknown.source == "unknown");
}

BOOST_AUTO_TEST_CASE(bad_slurm_memory_names_the_variable) {
  BOOST_TEST(input_error([] {
               runtime::node_host_memory({{"SLURM_MEM_PER_NODE", "4G"}});
             }) == "environment: SLURM_MEM_PER_NODE: expected a whole number, got \"4G\"");
}

BOOST_AUTO_TEST_CASE(tasks_per_node_from_either_spelling) {
  BOOST_TEST(runtime::slurm_tasks_per_node({}, 8) == 8);
  BOOST_TEST(runtime::slurm_tasks_per_node({{"SLURM_NTASKS_PER_NODE", "4"}}, 8) == 4);
  BOOST_TEST(runtime::slurm_tasks_per_node({{"SLURM_TASKS_PER_NODE", "4(x2),2"}}, 8) == 4);
  BOOST_TEST(runtime::slurm_tasks_per_node({{"SLURM_TASKS_PER_NODE", "3"}}, 8) == 3);
  BOOST_TEST(input_error([] {
               runtime::slurm_tasks_per_node({{"SLURM_NTASKS_PER_NODE", "0"}}, 1);
             }) == "environment: SLURM_NTASKS_PER_NODE: expected a positive count, got \"0\"");
}

BOOST_AUTO_TEST_SUITE_END()
