// zerotune estimate's model-state bytes against what the ZeRO engine allocates: at every
// stage and optimizer, on every rank of this world (np 1..4, so uneven shards too), each
// field of ZeroEngine::memory_account() must equal the estimate exactly.
#include "zerotune/train/memory_estimate.hpp"

#include <boost/test/unit_test.hpp>

#include "zerotune/comm/mpi_communicator.hpp"
#include "zerotune/ops/backend.hpp"

using namespace zerotune;

BOOST_AUTO_TEST_SUITE(memory_estimate)

BOOST_AUTO_TEST_CASE(model_states_equal_the_engine_account) {
  auto comm = comm::make_mpi_communicator();
  auto backend = ops::make_cpu_backend(DType::kFloat32);
  // Units of different sizes (embeddings largest, then blocks), none a multiple of 128.
  const model::Gpt2Layout layout = model::make_gpt2_layout({2, 2, 24, 13, 37});
  for (auto kind : {train::OptimizerKind::kAdamW, train::OptimizerKind::kSgd}) {
    train::OptimizerSettings optimizer;
    optimizer.kind = kind;
    for (int stage = 0; stage <= 3; ++stage) {
      BOOST_TEST_CONTEXT("stage " << stage << " rank " << comm->rank() << " of " << comm->size()
                                  << (kind == train::OptimizerKind::kSgd ? " sgd" : " adamw")) {
        auto engine = train::ZeroEngine::create(stage, layout, optimizer, *comm, *backend);
        const train::MemoryAccount got = engine->memory_account();
        const train::MemoryAccount want = train::estimate_model_states(
            layout, stage, comm->size(), comm->rank(), DType::kFloat32, kind);
        BOOST_TEST(got.parameter_bytes == want.parameter_bytes);
        BOOST_TEST(got.gradient_bytes == want.gradient_bytes);
        BOOST_TEST(got.optimizer_bytes == want.optimizer_bytes);
        BOOST_TEST(got.scratch_bytes == want.scratch_bytes);
        BOOST_TEST(got.master_bytes == want.master_bytes);
        BOOST_TEST(got.model_parameters == want.model_parameters);
      }
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
