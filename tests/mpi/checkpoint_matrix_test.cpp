// World-size independent checkpoints: a stage-3 run on 4 ranks saves at step 3; resumed on
// 2 ranks at stage 3 and on 1 rank at stage 0, both continue the uninterrupted 4-rank curve.
// Runs at world size 4 (the mpi_np4 test); other world sizes have nothing to check.
#include <mpi.h>

#include <boost/test/unit_test.hpp>
#include <cmath>

#include "training_harness.hpp"
#include "zerotune/comm/mpi_communicator.hpp"

using namespace zerotune;
using namespace zerotune::testing;

BOOST_AUTO_TEST_SUITE(checkpoint_matrix)

BOOST_AUTO_TEST_CASE(stage3_on_4_ranks_resumes_on_2_ranks_and_on_1_rank_stage0) {
  auto world = comm::make_mpi_communicator();
  if (world->size() != 4) {
    BOOST_TEST_MESSAGE("checkpoint matrix needs 4 ranks; this world has " << world->size());
    return;
  }
  const auto full_dir = shared_scratch("matrix-4");
  TrainedRun full = train_in_process(
      *world, {"zero.stage=3", "train.micro_batch_size=3", "checkpoint.every_n_steps=3"}, full_dir);
  const std::string step3 = (full_dir / "checkpoints" / "step-000003").string();

  // Two ranks, stage 3.
  MPI_Comm pair_comm;
  MPI_Comm_split(MPI_COMM_WORLD, world->rank() < 2 ? 0 : MPI_UNDEFINED, world->rank(), &pair_comm);
  TrainedRun two;
  if (pair_comm != MPI_COMM_NULL) {
    auto pair = comm::make_mpi_communicator(pair_comm);
    two = train_in_process(*pair, {"zero.stage=3", "train.micro_batch_size=2"},
                           full_dir.parent_path() / "matrix-2", step3);
    MPI_Comm_free(&pair_comm);
  }
  // One rank, stage 0, no accumulation.
  TrainedRun one;
  if (world->rank() == 0) {
    auto self = comm::make_mpi_communicator(MPI_COMM_SELF);
    one = train_in_process(*self, {"zero.stage=0", "train.micro_batch_size=12"},
                           full_dir.parent_path() / "matrix-1", step3);
  }
  world->barrier();
  if (world->rank() != 0) return;

  BOOST_TEST_REQUIRE(full.losses.size() == 6u);
  for (const TrainedRun* resumed : {&two, &one}) {
    const char* what = resumed == &two ? "2 ranks stage 3" : "1 rank stage 0";
    BOOST_TEST(resumed->exit_code == 0);
    BOOST_TEST_REQUIRE(resumed->losses.size() == 3u, what << " logged steps 4..6");
    for (int64_t step = 4; step <= 6; ++step) {
      const double want = full.losses.at(step), got = resumed->losses.at(step);
      BOOST_TEST(std::abs(got - want) / want < 1e-5,
                 what << " step " << step << ": " << got << " vs " << want);
    }
    BOOST_TEST(max_relative_param_difference(*resumed, full) < 1e-4, what);
  }
}

BOOST_AUTO_TEST_SUITE_END()
