// RUN_DIR/status lines as docs/slurm.md and jobs/common.sh read them.
#include "zerotune/runtime/run_status.hpp"

#include <boost/test/unit_test.hpp>
#include <filesystem>

#include "test_support.hpp"

namespace fs = std::filesystem;
namespace rt = zerotune::runtime;

BOOST_AUTO_TEST_SUITE(run_status)

BOOST_AUTO_TEST_CASE(says_how_the_run_ended_and_whether_to_requeue) {
  const zerotune::testing::ScratchDir scratch("run_status");
  const fs::path dir = scratch.path();
  fs::create_directories(dir / "checkpoints");
  zerotune::testing::write_text_file(dir / "checkpoints" / "latest", "step-000012\n");
  const fs::path ckpt = dir / "checkpoints";
  BOOST_TEST(rt::run_status_line(0, "", ckpt) == "finished step=12");
  BOOST_TEST(rt::run_status_line(85, "", ckpt) == "stopped step=12 exit=85 requeue=yes");
  BOOST_TEST(rt::run_status_line(143, "", ckpt) == "stopped step=12 exit=143 requeue=no");
  BOOST_TEST(rt::run_status_line(130, "", ckpt) == "stopped step=12 exit=130 requeue=no");
  BOOST_TEST(rt::run_status_line(3, "disk full", ckpt) == "failed exit=3 reason=disk full");
  BOOST_TEST(rt::run_status_line(85, "", dir / "none") == "stopped step=0 exit=85 requeue=yes");

  rt::write_run_status(dir, "stopped step=12 exit=143 requeue=no", 0);
  BOOST_TEST(zerotune::testing::read_text_file(dir / "status") ==
             "stopped step=12 exit=143 requeue=no\n");
  BOOST_TEST(!fs::exists(dir / ".status.tmp-0"));
}

BOOST_AUTO_TEST_SUITE_END()
