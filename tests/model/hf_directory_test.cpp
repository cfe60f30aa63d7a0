// Hugging Face model directories in: a sharded directory with an index, and the errors of a
// broken one. The case import_logits is the C++ half of tests/python/test_hf_import.py: it
// loads ZEROTUNE_REFERENCE_DIR/model (written by transformers' save_pretrained, sharded,
// bf16) with load_hf_directory, runs Gpt2<float> on inputs.safetensors's input_ids and writes
// the logits for the script to compare with transformers. Skipped unless the variable is set.
#include "zerotune/model/hf_directory.hpp"

#include <boost/test/unit_test.hpp>
#include <cstdlib>

#include "input_error.hpp"
#include "test_support.hpp"
#include "zerotune/model/gpt2.hpp"
#include "zerotune/model/gpt2_hf.hpp"

using namespace zerotune;
using namespace zerotune::model;
using zerotune::testing::input_error;
namespace fs = std::filesystem;

namespace {

struct ReferenceDirSet {
  boost::test_tools::assertion_result operator()(boost::unit_test::test_unit_id) const {
    boost::test_tools::assertion_result ok(std::getenv("ZEROTUNE_REFERENCE_DIR") != nullptr);
    ok.message() << "ZEROTUNE_REFERENCE_DIR is not set (tests/python/test_hf_import.py sets it)";
    return ok;
  }
};

class ResidentParams : public ParameterSource<float> {
 public:
  explicit ResidentParams(std::vector<std::vector<float>>& units) : units_(units) {}
  const float* acquire(int unit, int) override { return units_.at(unit).data(); }
  void release(int) override {}

 private:
  std::vector<std::vector<float>>& units_;
};

// Distinct values per element, so a tensor read from the wrong place shows.
std::vector<std::vector<float>> numbered_units(const Gpt2Layout& layout) {
  std::vector<std::vector<float>> units;
  float next = 0.0f;
  for (const auto& u : layout.units) {
    units.emplace_back(u.numel);
    for (auto& v : units.back()) v = (next += 1.0f);
  }
  return units;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(hf_directory)

// The writer's sharded output read back by the loader; the values are distinct integers below
// 2^11, which fp16 holds exactly.
BOOST_AUTO_TEST_CASE(sharded_directory_round_trips) {
  zerotune::testing::ScratchDir scratch("zt-hfdir");
  const Gpt2Shape shape{1, 2, 8, 4, 11};
  const Gpt2Layout layout = make_gpt2_layout(shape);
  const auto units = numbered_units(layout);
  BOOST_TEST_REQUIRE(layout.total_numel() < 2048);
  std::vector<const float*> pointers;
  for (const auto& u : units) pointers.push_back(u.data());
  HfExportOptions options;
  options.dtype = model::DType::kF16;
  options.max_shard_bytes = 300;
  write_hf_directory(scratch / "out", layout, pointers, options);
  BOOST_TEST(fs::exists(scratch / "out" / "model.safetensors.index.json"));
  BOOST_TEST(!fs::exists(scratch / "out" / "model.safetensors"));
  BOOST_TEST(load_hf_directory(scratch / "out", layout) == units);

  // A shard gone: the error names the file.
  fs::path first_shard;
  for (const auto& e : fs::directory_iterator(scratch / "out")) {
    if (e.path().filename().string().starts_with("model-00001-of-")) first_shard = e.path();
  }
  BOOST_TEST_REQUIRE(!first_shard.empty());
  fs::remove(first_shard);
  BOOST_TEST(input_error([&] {
               load_hf_directory(scratch / "out", layout);
             }).find(first_shard.string() + ": cannot open") != std::string::npos);
  // No weights at all.
  fs::remove(scratch / "out" / "model.safetensors.index.json");
  BOOST_TEST(input_error([&] {
               load_hf_directory(scratch / "out", layout);
             }).find("no model.safetensors or model.safetensors.index.json") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(import_logits, *boost::unit_test::precondition(ReferenceDirSet{})) {
  const fs::path dir = std::getenv("ZEROTUNE_REFERENCE_DIR");
  const Gpt2Shape shape = read_gpt2_config_json(dir / "model" / "config.json");
  const Gpt2Layout layout = make_gpt2_layout(shape);
  auto units = load_hf_directory(dir / "model", layout);
  const SafetensorsFile inputs(dir / "inputs.safetensors");
  const std::vector<int32_t> ids = inputs.read_i32("input_ids");
  const int64_t B = inputs.at("input_ids").shape.at(0), T = inputs.at("input_ids").shape.at(1);
  Gpt2<float> gpt2(shape, B);
  ResidentParams params(units);
  gpt2.forward(ids.data(), nullptr, B, T, params);
  write_safetensors(dir / "ours.safetensors",
                    {{"logits", {B, T, shape.vocab_size}, gpt2.logits()}});
}

BOOST_AUTO_TEST_SUITE_END()
