// The refusal `zerotune train` gives on a GPU whose memory cannot hold the model states, and
// the change it proposes. Device sizes are set around the engine's own state bytes
// (estimate_model_states, checked against the engine by test_mpi) so each branch is taken.
#include "zerotune/cli/estimate_command.hpp"

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cstdint>

#include "zerotune/config/run_config.hpp"
#include "zerotune/train/memory_estimate.hpp"

using namespace zerotune;

namespace {

config::RunConfig gpt2_small_bf16(int stage) {
  return config::parse_run_config(
      "model:\n  n_layer: 12\n  n_head: 12\n  n_embd: 768\n  seq_len: 1024\n  vocab_size: "
      "50257\ntrain:\n  precision: bf16\n  micro_batch_size: 1\n  global_batch_size: 8\n"
      "zero:\n  stage: " +
          std::to_string(stage) + "\n",
      "t.yaml");
}

int64_t states(int stage, int world) {
  const auto layout = model::make_gpt2_layout({12, 12, 768, 1024, 50257});
  const auto a = train::estimate_model_states(layout, stage, world, 0, DType::kBFloat16,
                                              train::OptimizerKind::kAdamW);
  return a.parameter_bytes + a.gradient_bytes + a.optimizer_bytes;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(estimate_command)

BOOST_AUTO_TEST_CASE(states_that_fit_are_not_refused) {
  BOOST_TEST(cli::model_states_refusal(gpt2_small_bf16(0), 8, 80ll << 30).empty());
  BOOST_TEST(cli::model_states_refusal(gpt2_small_bf16(0), 8, states(0, 8)).empty());
}

BOOST_AUTO_TEST_CASE(refusal_names_estimate_memory_and_a_change_that_fits) {
  // Stage 0 needs 16 bytes per parameter; 8 ranks at stage 3 need about 2: a device between
  // the two refuses stage 0 and proposes a sharded stage.
  const int64_t device = states(0, 8) / 2;
  const std::string line = cli::model_states_refusal(gpt2_small_bf16(0), 8, device);
  BOOST_TEST(line.rfind("memory estimate: model states need ", 0) == 0);
  BOOST_TEST(line.find("GiB per rank at zero.stage 0, the GPU has") != std::string::npos);
  BOOST_TEST(line.find("the cheapest change that fits: zero.stage ") != std::string::npos);
  BOOST_TEST(line.find("fits: zero.stage 0") == std::string::npos);
  // Nothing fits a 1 MiB device: more ranks.
  BOOST_TEST(cli::model_states_refusal(gpt2_small_bf16(3), 8, 1 << 20)
                 .find("the cheapest change that fits: more ranks (no stage fits on 8)") !=
             std::string::npos);
}

// A device between the totals of the offloaded rows and of the rows without offload: the
// proposal is an offload while the host has the memory for it, and never one when it has not.
BOOST_AUTO_TEST_CASE(refusal_proposes_no_offload_the_host_cannot_hold) {
  const config::RunConfig c = gpt2_small_bf16(0);
  const auto rows = train::plan_memory(cli::memory_plan_input(c, 8));
  int64_t offloaded = INT64_MAX, on_device = INT64_MAX, host = 0;
  for (const auto& r : rows) {
    if (r.offload_param != train::StateTier::kDevice) continue;
    if (r.offload == train::StateTier::kDevice) {
      on_device = std::min(on_device, r.total_bytes(false));
    } else {
      offloaded = std::min(offloaded, r.total_bytes(false));
      host = std::max(host, r.host_bytes);
    }
  }
  BOOST_TEST_REQUIRE(offloaded < on_device);
  const int64_t device = offloaded + (on_device - offloaded) / 2;
  const std::string roomy = cli::model_states_refusal(c, 8, device, 2 * host);
  BOOST_TEST(roomy.find("with zero.offload_optimizer: cpu") != std::string::npos, roomy);
  const std::string cramped = cli::model_states_refusal(c, 8, device, 1 << 20);
  BOOST_TEST(cramped.find("the cheapest change that fits: ") != std::string::npos, cramped);
  BOOST_TEST(cramped.find("offload") == std::string::npos, cramped);
}

BOOST_AUTO_TEST_SUITE_END()
