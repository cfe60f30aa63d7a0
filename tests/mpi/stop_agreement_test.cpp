// A stop request seen by one rank only is agreed by all at the next step boundary: every
// rank checkpoints the same step and returns the requeue exit code.
#include <boost/test/unit_test.hpp>
#include <csignal>

#include "training_harness.hpp"
#include "zerotune/base/error.hpp"
#include "zerotune/comm/mpi_communicator.hpp"
#include "zerotune/runtime/stop_signal.hpp"
#include "zerotune/train/checkpoint.hpp"

using namespace zerotune;
using namespace zerotune::testing;

BOOST_AUTO_TEST_SUITE(stop_agreement)

BOOST_AUTO_TEST_CASE(signal_on_last_rank_stops_every_rank_after_one_step) {
  auto comm = comm::make_mpi_communicator();
  const int micro = 12 / comm->size() % 2 == 0 ? 2 : 1;
  if (comm->rank() == comm->size() - 1) runtime::request_stop(SIGUSR1);
  const auto dir = shared_scratch("stop");
  TrainedRun run =
      train_in_process(*comm, {"train.micro_batch_size=" + std::to_string(micro)}, dir);
  runtime::request_stop(0);
  BOOST_TEST(run.exit_code == kExitRequeue);
  if (comm->rank() == 0) {
    BOOST_TEST(run.losses.size() == 1u);  // stopped after the first step, on every rank
    auto latest = train::latest_checkpoint(dir / "checkpoints");
    BOOST_TEST_REQUIRE(latest.has_value());
    BOOST_TEST(latest->filename().string() == "step-000001");
  }
}

BOOST_AUTO_TEST_SUITE_END()
