// zerotune estimate's model-state bytes against what the ZeRO engine allocates: at every
// stage, optimizer and offload choice, on every rank of this world (np 1..4, so uneven shards
// too), each field of ZeroEngine::memory_account() must equal the estimate exactly.
#include "zerotune/train/memory_estimate.hpp"

#include <mpi.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>

#include "zerotune/comm/mpi_communicator.hpp"
#include "zerotune/ops/backend.hpp"

using namespace zerotune;

namespace {

// Every field of the engine's account equals the estimate's.
void check_equal_accounts(const train::MemoryAccount& got, const train::MemoryAccount& want) {
  BOOST_TEST(got.model_parameters == want.model_parameters);
  BOOST_TEST(got.parameter_bytes == want.parameter_bytes);
  BOOST_TEST(got.gradient_bytes == want.gradient_bytes);
  BOOST_TEST(got.optimizer_bytes == want.optimizer_bytes);
  BOOST_TEST(got.scratch_bytes == want.scratch_bytes);
  BOOST_TEST(got.master_bytes == want.master_bytes);
  BOOST_TEST(got.host_optimizer_bytes == want.host_optimizer_bytes);
  BOOST_TEST(got.nvme_optimizer_bytes == want.nvme_optimizer_bytes);
  BOOST_TEST(got.host_parameter_bytes == want.host_parameter_bytes);
  BOOST_TEST(got.nvme_parameter_bytes == want.nvme_parameter_bytes);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(memory_estimate)

BOOST_AUTO_TEST_CASE(model_states_equal_the_engine_account) {
  auto comm = comm::make_mpi_communicator();
  auto backend = ops::make_cpu_backend(DType::kFloat32);
  // Units of different sizes (embeddings largest, then blocks), none a multiple of 128.
  const model::Gpt2Layout layout = model::make_gpt2_layout({2, 2, 24, 13, 37});
  // Default settings; one gradient unit in flight and every unit but the embeddings persistent.
  train::CommSettings tight;
  tight.reduce_bucket_size = 1;
  tight.param_persistence_threshold = layout.units[1].numel + 1;
  for (const train::CommSettings& settings : {train::CommSettings{}, tight})
    for (auto kind : {train::OptimizerKind::kAdamW, train::OptimizerKind::kSgd}) {
      train::OptimizerSettings optimizer;
      optimizer.kind = kind;
      for (int stage = 0; stage <= 3; ++stage) {
        BOOST_TEST_CONTEXT("stage " << stage << " rank " << comm->rank() << " of " << comm->size()
                                    << (kind == train::OptimizerKind::kSgd ? " sgd" : " adamw")
                                    << " bucket " << settings.reduce_bucket_size) {
          auto engine =
              train::ZeroEngine::create(stage, layout, optimizer, *comm, *backend, settings);
          const train::MemoryAccount got = engine->memory_account();
          const train::MemoryAccount want = train::estimate_model_states(
              layout, stage, comm->size(), comm->rank(), DType::kFloat32, kind, 1, settings);
          check_equal_accounts(got, want);
        }
      }
    }
}

// Offload: the optimizer state in host memory or on NVMe at stages 1-3, and stage 3's
// parameter shards in host memory; the device bytes as well as the host bytes (the state, the
// offloaded step's gradient and compute copies, the shards) and the nvme file's size.
BOOST_AUTO_TEST_CASE(offloaded_states_equal_the_engine_account) {
  auto comm = comm::make_mpi_communicator();
  auto backend = ops::make_cpu_backend(DType::kFloat32);
  const model::Gpt2Layout layout = model::make_gpt2_layout({2, 2, 24, 13, 37});
  const std::filesystem::path nvme =
      std::filesystem::temp_directory_path() /
      ("zt-estimate-" + std::to_string(::getpid()) + "-" + std::to_string(comm->rank()));
  std::filesystem::create_directories(nvme);
  for (auto kind : {train::OptimizerKind::kAdamW, train::OptimizerKind::kSgd}) {
    train::OptimizerSettings optimizer;
    optimizer.kind = kind;
    for (int stage = 1; stage <= 3; ++stage) {
      for (auto tier : {train::StateTier::kCpu, train::StateTier::kNvme}) {
        for (auto [parameter_tier, ratio] : {std::pair{train::StateTier::kDevice, 1.0},
                                             {train::StateTier::kDevice, 0.4},
                                             {train::StateTier::kCpu, 1.0},
                                             {train::StateTier::kNvme, 1.0}}) {
          if (parameter_tier != train::StateTier::kDevice && stage != 3) continue;
          BOOST_TEST_CONTEXT("stage " << stage << " rank " << comm->rank() << " of " << comm->size()
                                      << " " << train::state_tier_name(tier) << " offload_param "
                                      << train::state_tier_name(parameter_tier) << " ratio "
                                      << ratio
                                      << (kind == train::OptimizerKind::kSgd ? " sgd" : " adamw")) {
            train::OffloadSettings offload;
            offload.optimizer_tier = tier;
            offload.parameter_tier = parameter_tier;
            offload.optimizer_ratio = ratio;
            offload.nvme_path = nvme;
            auto engine =
                train::ZeroEngine::create(stage, layout, optimizer, *comm, *backend, {}, offload);
            const train::MemoryAccount got = engine->memory_account();
            const train::MemoryAccount want = train::estimate_model_states(
                layout, stage, comm->size(), comm->rank(), DType::kFloat32, kind, 1, {}, offload);
            check_equal_accounts(got, want);
          }
        }
      }
    }
  }
  std::filesystem::remove_all(nvme);
}

// On one rank sharding saves nothing, so stages 2 and 3 must not cost more than data parallel:
// no gradient scratch, no gather buffers (they once held a third more than stage 0 on small
// models, whose embeddings dominate).
BOOST_AUTO_TEST_CASE(one_rank_stages_hold_no_more_than_data_parallel) {
  auto self = comm::make_mpi_communicator(MPI_COMM_SELF);
  auto backend = ops::make_cpu_backend(DType::kFloat32);
  const model::Gpt2Layout layout = model::make_gpt2_layout({2, 2, 24, 13, 37});
  train::OptimizerSettings optimizer;
  auto total = [&](int stage) {
    const auto a =
        train::ZeroEngine::create(stage, layout, optimizer, *self, *backend)->memory_account();
    return a.parameter_bytes + a.gradient_bytes + a.optimizer_bytes + a.scratch_bytes;
  };
  const int64_t data_parallel = total(0);
  // Stage 1 keeps the full gradient and its shard (padded): it may exceed stage 0 by those.
  BOOST_TEST(total(2) <= data_parallel + 4 * 2 * 128 * static_cast<int64_t>(layout.units.size()));
  BOOST_TEST(total(3) <= data_parallel + 4 * 2 * 128 * static_cast<int64_t>(layout.units.size()));
}

BOOST_AUTO_TEST_SUITE_END()
