// Same math at any world size and stage: for one global batch (12 samples), stages 0-3 on
// this mpiexec's world give the single-rank run's loss at every step, and its parameters.
// The reference is a stage-0 run of rank 0 alone, with no accumulation (micro batch 12).
#include <mpi.h>

#include <boost/test/unit_test.hpp>
#include <cmath>

#include "training_harness.hpp"
#include "zerotune/comm/mpi_communicator.hpp"

using namespace zerotune;
using namespace zerotune::testing;

namespace {

constexpr double kLossTolerance = 1e-5;   // relative, fp32
constexpr double kParamTolerance = 1e-4;  // relative to max(1, |p|), after 6 AdamW steps

// The reference, computed once per process by rank 0 over MPI_COMM_SELF.
const TrainedRun& single_rank_reference() {
  static TrainedRun reference = [] {
    TrainedRun r;
    auto world = comm::make_mpi_communicator();
    const auto dir = shared_scratch("reference");
    if (world->rank() == 0) {
      auto self = comm::make_mpi_communicator(MPI_COMM_SELF);
      r = train_in_process(*self, {"train.micro_batch_size=12", "zero.stage=0"}, dir);
    }
    world->barrier();
    return r;
  }();
  return reference;
}

void check_matches_reference(const TrainedRun& run, const std::string& what) {
  const auto& ref = single_rank_reference();
  BOOST_TEST_REQUIRE(run.losses.size() == ref.losses.size(), what << ": step count");
  for (const auto& [step, loss] : ref.losses) {
    const double got = run.losses.at(step);
    BOOST_TEST(std::abs(got - loss) / std::abs(loss) < kLossTolerance,
               what << " step " << step << ": loss " << got << " vs single rank " << loss);
  }
  const double dp = max_relative_param_difference(run, ref);
  BOOST_TEST(dp < kParamTolerance, what << ": final parameters differ by " << dp);
}

void check_stage(int stage, const std::vector<std::string>& extra = {},
                 const std::string& label = "") {
  auto comm = comm::make_mpi_communicator();
  const int64_t per_rank = 12 / comm->size();
  const int64_t micro = per_rank % 2 == 0 ? 2 : 1;  // accumulation: 6, 3, 2, 3 micro-batches
  const auto dir = shared_scratch("stage" + std::to_string(stage) + label);
  std::vector<std::string> overrides = {"zero.stage=" + std::to_string(stage),
                                        "train.micro_batch_size=" + std::to_string(micro)};
  overrides.insert(overrides.end(), extra.begin(), extra.end());
  TrainedRun run = train_in_process(*comm, overrides, dir);
  BOOST_TEST(run.exit_code == 0);
  if (comm->rank() == 0) {
    check_matches_reference(run, "stage " + std::to_string(stage) + label + " on " +
                                     std::to_string(comm->size()) + " ranks");
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(zero_equivalence)

BOOST_AUTO_TEST_CASE(reference_loss_falls) {
  single_rank_reference();
  auto comm = comm::make_mpi_communicator();
  if (comm->rank() != 0) return;
  const auto& losses = single_rank_reference().losses;
  BOOST_TEST_REQUIRE(losses.size() == 6u);
  BOOST_TEST(losses.rbegin()->second < losses.begin()->second);
}

BOOST_AUTO_TEST_CASE(stage0_matches_single_rank) { check_stage(0); }
BOOST_AUTO_TEST_CASE(stage1_matches_single_rank) { check_stage(1); }
BOOST_AUTO_TEST_CASE(stage2_matches_single_rank) { check_stage(2); }
BOOST_AUTO_TEST_CASE(stage3_matches_single_rank) { check_stage(3); }

// The scheduling knobs change when collectives run and what stays gathered, never the math.
BOOST_AUTO_TEST_CASE(collectives_waited_at_issue_match_single_rank) {
  check_stage(1, {"zero.overlap_comm=false"}, " overlap_comm false");
  check_stage(3, {"zero.overlap_comm=false"}, " overlap_comm false");
}
BOOST_AUTO_TEST_CASE(one_gradient_unit_in_flight_matches_single_rank) {
  check_stage(2, {"zero.reduce_bucket_size=1"}, " reduce_bucket_size 1");
}
BOOST_AUTO_TEST_CASE(stage3_without_prefetch_matches_single_rank) {
  check_stage(3, {"zero.prefetch_bucket_size=0"}, " prefetch_bucket_size 0");
}
BOOST_AUTO_TEST_CASE(stage3_with_every_unit_persistent_matches_single_rank) {
  check_stage(3, {"zero.param_persistence_threshold=1000000000"}, " all units persistent");
}

BOOST_AUTO_TEST_CASE(accumulation_two_by_two_equals_micro_four) {
  // On 1 or 2 ranks: global 4 as micro (2 / world) x accum 2 against micro 4 alone.
  auto comm = comm::make_mpi_communicator();
  if (comm->size() > 2) return;
  auto self = comm::make_mpi_communicator(MPI_COMM_SELF);
  TrainedRun whole;
  if (comm->rank() == 0) {
    whole = train_in_process(*self, {"train.global_batch_size=4", "train.micro_batch_size=4"},
                             shared_scratch("accum-whole"));
  }
  comm->barrier();
  TrainedRun accum = train_in_process(
      *comm,
      {"train.global_batch_size=4", "train.micro_batch_size=" + std::to_string(2 / comm->size())},
      shared_scratch("accum-split"));
  if (comm->rank() != 0) return;
  for (const auto& [step, loss] : whole.losses) {
    BOOST_TEST(std::abs(accum.losses.at(step) - loss) / loss < kLossTolerance, "step " << step);
  }
  BOOST_TEST(max_relative_param_difference(accum, whole) < kParamTolerance);
}

BOOST_AUTO_TEST_SUITE_END()
