// A stop request seen by one rank only is agreed by all: a request that arrived during
// start-up ends every rank before the first step with the requeue exit code and no
// checkpoint (there is nothing new to save).
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

BOOST_AUTO_TEST_CASE(signal_on_last_rank_during_start_up_stops_every_rank_before_a_step) {
  auto comm = comm::make_mpi_communicator();
  const int micro = 12 / comm->size() % 2 == 0 ? 2 : 1;
  if (comm->rank() == comm->size() - 1) runtime::request_stop(SIGUSR1);
  const auto dir = shared_scratch("stop");
  TrainedRun run =
      train_in_process(*comm, {"train.micro_batch_size=" + std::to_string(micro)}, dir);
  runtime::request_stop(0);
  BOOST_TEST(run.exit_code == kExitRequeue);  // on every rank, not only the signalled one
  BOOST_TEST(run.losses.empty());
  if (comm->rank() == 0) {
    BOOST_TEST(!train::latest_checkpoint(dir / "checkpoints").has_value());
  }
}

// SIGTERM on one rank and SIGUSR1 on another (a preempted job: SLURM's SIGTERM, the job
// script's SIGUSR1) end every rank with the requeue code; SIGTERM alone with 128 + 15.
BOOST_AUTO_TEST_CASE(every_rank_takes_the_stop_that_asks_for_a_requeue) {
  auto comm = comm::make_mpi_communicator();
  const int micro = 12 / comm->size() % 2 == 0 ? 2 : 1;
  const std::vector<std::string> overrides = {"train.micro_batch_size=" + std::to_string(micro)};
  if (comm->rank() == 0) runtime::request_stop(SIGTERM);
  if (comm->rank() == comm->size() - 1) runtime::request_stop(SIGUSR1);
  TrainedRun both = train_in_process(*comm, overrides, shared_scratch("stop_both"));
  runtime::request_stop(0);
  BOOST_TEST(both.exit_code == kExitRequeue);

  if (comm->rank() == comm->size() - 1) runtime::request_stop(SIGTERM);
  TrainedRun term = train_in_process(*comm, overrides, shared_scratch("stop_term"));
  runtime::request_stop(0);
  BOOST_TEST(term.exit_code == 128 + SIGTERM);  // the shell's code for SIGTERM, on every rank
  BOOST_TEST(term.losses.empty());
}

BOOST_AUTO_TEST_SUITE_END()
