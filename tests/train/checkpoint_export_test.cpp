// `zerotune export` pieces that need no checkpoint: the 16-bit conversions against their
// IEEE encodings, transformers' size strings, and the refusals that protect the user's files.
// The case export_logits is the C++ half of tests/python/test_hf_export.py: it reads the
// checkpoint named in ZEROTUNE_REFERENCE_DIR/checkpoint.txt with the export's reader, runs
// Gpt2<float> on the input_ids of inputs.safetensors and writes the logits, which the script
// compares with transformers running the exported directory. Skipped unless the variable is set.
#include "zerotune/train/checkpoint_export.hpp"

#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "input_error.hpp"
#include "test_support.hpp"
#include "zerotune/model/gpt2.hpp"
#include "zerotune/model/half_float.hpp"
#include "zerotune/model/hf_directory.hpp"
#include "zerotune/model/safetensors.hpp"

using namespace zerotune;
using zerotune::testing::input_error;
namespace fs = std::filesystem;

namespace {

struct ReferenceDirSet {
  boost::test_tools::assertion_result operator()(boost::unit_test::test_unit_id) const {
    boost::test_tools::assertion_result ok(std::getenv("ZEROTUNE_REFERENCE_DIR") != nullptr);
    ok.message() << "ZEROTUNE_REFERENCE_DIR is not set (tests/python/test_hf_export.py sets it)";
    return ok;
  }
};

class ResidentParams : public model::ParameterSource<float> {
 public:
  explicit ResidentParams(std::vector<std::vector<float>>& units) : units_(units) {}
  const float* acquire(int unit, int) override { return units_.at(unit).data(); }
  void release(int) override {}

 private:
  std::vector<std::vector<float>>& units_;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(checkpoint_export)

// Encodings from IEEE 754 binary16 and the bfloat16 definition (the top half of a binary32).
BOOST_AUTO_TEST_CASE(half_conversions_round_to_nearest_even) {
  using model::float_to_bf16;
  using model::float_to_half;
  BOOST_TEST(float_to_half(1.0f) == 0x3c00);
  BOOST_TEST(float_to_half(-2.0f) == 0xc000);
  BOOST_TEST(float_to_half(65504.0f) == 0x7bff);               // largest finite
  BOOST_TEST(float_to_half(65519.0f) == 0x7bff);               // below the halfway point
  BOOST_TEST(float_to_half(65520.0f) == 0x7c00);               // halfway rounds to even: infinity
  BOOST_TEST(float_to_half(std::ldexp(1.0f, -14)) == 0x0400);  // smallest normal
  BOOST_TEST(float_to_half(std::ldexp(1.0f, -24)) == 0x0001);  // smallest subnormal
  BOOST_TEST(float_to_half(std::ldexp(1.0f, -25)) == 0x0000);  // halfway to it: even (0)
  BOOST_TEST(float_to_half(1.0f + std::ldexp(1.0f, -11)) == 0x3c00);      // tie -> even
  BOOST_TEST(float_to_half(1.0f + 3 * std::ldexp(1.0f, -11)) == 0x3c02);  // tie -> even (up)
  BOOST_TEST(float_to_half(0.1f) == 0x2e66);
  BOOST_TEST((float_to_half(std::numeric_limits<float>::quiet_NaN()) & 0x7c00) == 0x7c00);
  BOOST_TEST(float_to_bf16(1.0f) == 0x3f80);
  BOOST_TEST(float_to_bf16(-2.0f) == 0xc000);
  BOOST_TEST(float_to_bf16(0.1f) == 0x3dcd);                             // 0x3dcccccd rounds up
  BOOST_TEST(float_to_bf16(1.0f + std::ldexp(1.0f, -8)) == 0x3f80);      // tie -> even
  BOOST_TEST(float_to_bf16(1.0f + 3 * std::ldexp(1.0f, -8)) == 0x3f82);  // tie -> even (up)
  const uint16_t nan = float_to_bf16(std::numeric_limits<float>::quiet_NaN());
  BOOST_TEST(((nan & 0x7f80) == 0x7f80 && (nan & 0x7f) != 0));
}

BOOST_AUTO_TEST_CASE(shard_sizes_read_as_transformers_does) {
  BOOST_TEST(model::parse_shard_size("5GB", "x") == 5'000'000'000ull);
  BOOST_TEST(model::parse_shard_size("200MiB", "x") == 200ull << 20);
  BOOST_TEST(model::parse_shard_size("20kb", "x") == 20'000ull);
  BOOST_TEST(model::parse_shard_size("4096", "x") == 4096ull);
  BOOST_TEST(
      input_error([] { model::parse_shard_size("big", "command line: --max-shard-size"); }) ==
      "command line: --max-shard-size: expected a positive size such as 5GB, 500MB or "
      "200MiB, got \"big\"");
  BOOST_TEST(input_error([] { model::parse_shard_size("0GB", "x"); }).find("got \"0GB\"") !=
             std::string::npos);
  BOOST_TEST(input_error([] { model::parse_export_dtype("int8", "command line: --dtype"); }) ==
             "command line: --dtype: expected fp32, bf16 or fp16, got \"int8\"");
}

BOOST_AUTO_TEST_CASE(refuses_a_missing_checkpoint_and_a_foreign_out_dir) {
  zerotune::testing::ScratchDir scratch("zt-export");
  const fs::path missing = scratch / "nothing";
  BOOST_TEST(input_error([&] { train::export_checkpoint(missing, scratch / "out", {}); }) ==
             missing.string() + ": checkpoint directory does not exist");
  fs::create_directories(scratch / "empty");
  BOOST_TEST(input_error([&] {
               train::read_checkpoint_weights(scratch / "empty");
             }).find("not a checkpoint") != std::string::npos);
  // A directory with the user's files is never replaced by an export.
  fs::create_directories(scratch / "mine");
  zerotune::testing::write_text_file(scratch / "mine" / "notes.txt", "keep me");
  BOOST_TEST(input_error([&] {
               train::export_checkpoint(scratch / "empty", scratch / "mine", {});
             }).find("is not an earlier export") != std::string::npos);
  BOOST_TEST(zerotune::testing::read_text_file(scratch / "mine" / "notes.txt") == "keep me");
  // A `latest` naming an incomplete checkpoint is an error, not a silent fallback.
  zerotune::testing::write_text_file(scratch / "empty" / "latest", "step-000009\n");
  BOOST_TEST(input_error([&] {
               train::read_checkpoint_weights(scratch / "empty");
             }).find("names step-000009, which is not a complete checkpoint") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(export_logits, *boost::unit_test::precondition(ReferenceDirSet{})) {
  const fs::path dir = std::getenv("ZEROTUNE_REFERENCE_DIR");
  const std::string checkpoint =
      zerotune::testing::read_text_file(dir / "checkpoint.txt").substr(0, std::string::npos);
  train::CheckpointWeights w =
      train::read_checkpoint_weights(checkpoint.substr(0, checkpoint.find_last_not_of("\n") + 1));
  const model::SafetensorsFile inputs(dir / "inputs.safetensors");
  const std::vector<int32_t> ids = inputs.read_i32("input_ids");
  const int64_t B = inputs.at("input_ids").shape.at(0), T = inputs.at("input_ids").shape.at(1);
  model::Gpt2<float> gpt2(w.shape, B);
  ResidentParams params(w.units);
  gpt2.forward(ids.data(), nullptr, B, T, params);
  model::write_safetensors(dir / "ours.safetensors",
                           {{"logits", {B, T, w.shape.vocab_size}, gpt2.logits()}});
}

BOOST_AUTO_TEST_SUITE_END()
