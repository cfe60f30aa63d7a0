#include "zerotune/runtime/job_dir.hpp"

#include <boost/test/unit_test.hpp>

#include "zerotune/runtime/topology.hpp"

using zerotune::runtime::job_dir_name;
using zerotune::runtime::run_dir_stem;

BOOST_AUTO_TEST_SUITE(job_dir)

// The rule of docs/config-reference.md (run.name), case by case: letters, digits, '.', '_',
// '-', '+' stay; every other byte becomes '_', and so does a leading '.'.
BOOST_AUTO_TEST_CASE(run_name_is_sanitised_byte_for_byte) {
  BOOST_TEST(run_dir_stem("zero3-2node_v1.2+fix") == "zero3-2node_v1.2+fix");
  BOOST_TEST(run_dir_stem("exp #2") == "exp__2");
  BOOST_TEST(run_dir_stem("[ablation]") == "_ablation_");
  BOOST_TEST(run_dir_stem("a: b") == "a__b");
  BOOST_TEST(run_dir_stem("@home") == "_home");
  BOOST_TEST(run_dir_stem("a/b") == "a_b");
  BOOST_TEST(run_dir_stem("..") == "_.");
  BOOST_TEST(run_dir_stem(".hidden") == "_hidden");
  BOOST_TEST(run_dir_stem("caf\xC3\xA9") == "caf__");
  BOOST_TEST(run_dir_stem("tab\there\n") == "tab_here_");
}

BOOST_AUTO_TEST_CASE(job_dir_name_uses_the_sanitised_name) {
  zerotune::runtime::Topology topology;
  topology.job_id = "4242";
  BOOST_TEST(job_dir_name("exp #2", topology) == "exp__2-4242");
}

BOOST_AUTO_TEST_SUITE_END()
