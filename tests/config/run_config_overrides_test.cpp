#include <boost/test/unit_test.hpp>

#include "input_error.hpp"
#include "zerotune/config/run_config.hpp"

using namespace zerotune::config;
using zerotune::testing::input_error;

namespace {

const std::string kBase = "train:\n  lr: 1e-4\n  precision: fp32\nzero:\n  stage: 1\n";

std::string override_error(const std::vector<std::string>& overrides) {
  return input_error([&] { parse_run_config(kBase, "base.yaml", overrides); });
}

}  // namespace

BOOST_AUTO_TEST_SUITE(run_config_overrides)

BOOST_AUTO_TEST_CASE(set_override_applies) {
  const RunConfig c = parse_run_config(
      kBase, "base.yaml",
      {"train.lr=3e-5", "zero.stage=3", "zero.offload=true", "train.precision=bf16",
       "data.eval_file=", "run.name=\"ablation 1\"", "model.n_head=8", "model.n_embd=256"});
  BOOST_TEST(c.train.lr == 3e-5);
  BOOST_TEST(c.zero.stage == 3);
  BOOST_TEST(c.zero.offload);
  BOOST_TEST(c.train.precision == "bf16");
  BOOST_TEST(c.data.eval_file == "");
  BOOST_TEST(c.run.name == "ablation 1");
  BOOST_TEST(c.model.n_head == 8);
  BOOST_TEST(c.model.n_embd == 256);
  // Untouched fields keep the file's values.
  BOOST_TEST(c.train.micro_batch_size == 4);
}

// Job scripts pass $SLURM_JOB_NAME as run.name: a string field's --set value is the text
// given, YAML syntax and all; only a value wholly in quotes is read as a quoted YAML string.
BOOST_AUTO_TEST_CASE(string_override_is_the_literal_text) {
  for (const char* name : {"exp #2", "[ablation]", "a: b", "null", "@home", "{x}", "~", "'a' b",
                           "\"a\" b", "-", "a\tb", "*ref"}) {
    BOOST_TEST_CONTEXT(name) {
      const RunConfig c = parse_run_config(kBase, "base.yaml", {std::string("run.name=") + name});
      BOOST_TEST(c.run.name == name);
    }
  }
  BOOST_TEST(parse_run_config(kBase, "base.yaml", {"run.name='it''s'"}).run.name == "it's");
  BOOST_TEST(parse_run_config(kBase, "base.yaml", {"data.eval_file=\"\""}).data.eval_file == "");
  // Other types still read YAML: the literal text "null" is no number.
  BOOST_TEST(override_error({"train.epochs=null"}) ==
             "--set train.epochs: expected a positive integer <= 1000000, got \"null\"");
}

// A malformed --set of any size is quoted by a short prefix.
BOOST_AUTO_TEST_CASE(malformed_override_is_quoted_by_a_prefix) {
  const std::string message = override_error({std::string(200000, 'x')});
  BOOST_TEST(message == "--set \"" + std::string(64, 'x') +
                            "...\" (200000 bytes): expected section.key=value, e.g. --set "
                            "train.lr=3e-5");
}

BOOST_AUTO_TEST_CASE(later_override_wins_and_set_prefix_is_accepted) {
  const RunConfig c =
      parse_run_config(kBase, "base.yaml", {"--set train.lr=1e-3", "--set=train.lr=2e-3"});
  BOOST_TEST(c.train.lr == 2e-3);
}

BOOST_AUTO_TEST_CASE(override_type_error_names_the_override) {
  BOOST_TEST(override_error({"train.lr=fast"}) ==
             "--set train.lr: expected a positive number, got \"fast\"");
  BOOST_TEST(override_error({"zero.stage=5"}) ==
             "--set zero.stage: expected an integer in 0..3, got \"5\"");
  BOOST_TEST(override_error({"train.micro_batch_size='8'"}) ==
             "--set train.micro_batch_size: expected a positive integer <= 1048576, got \"8\" "
             "(quoted, so a "
             "string)");
  BOOST_TEST(override_error({"train.epochs={a: 1}"}) ==
             "--set train.epochs: expected a positive integer <= 1000000, got a mapping");
  BOOST_TEST(override_error({"train.epochs="}) ==
             "--set train.epochs: expected a positive integer <= 1000000, got \"\"");
  // A value that is not even YAML: libyaml's message, placed in the value.
  BOOST_TEST(override_error({"train.lr=[1"}) ==
             "--set train.lr:2:1: did not find expected ',' or ']' (while parsing a flow sequence "
             "at line 1)");
}

BOOST_AUTO_TEST_CASE(override_unknown_key_is_an_error) {
  BOOST_TEST(
      override_error({"zero.stag=2"}) ==
      "--set zero.stag: unknown key (known: "
      "stage, offload, offload_optimizer, offload_optimizer_ratio, offload_param, nvme_path, "
      "pin_memory, overlap_comm, "
      "reduce_bucket_size, prefetch_bucket_size, param_persistence_threshold, reduce_dtype)");
  BOOST_TEST(
      override_error({"optim.lr=2"}) ==
      "--set optim.lr: unknown section (known: model, data, train, fp16, zero, checkpoint, comm, "
      "log, monitor, run)");
}

BOOST_AUTO_TEST_CASE(override_without_section_key_value_is_an_error) {
  for (const char* bad : {"lr=3e-5", "train.lr", "=3", ".lr=1", "train.=1"}) {
    BOOST_TEST_CONTEXT(bad) {
      BOOST_TEST(override_error({bad}) == std::string("--set \"") + bad +
                                              "\": expected section.key=value, e.g. --set "
                                              "train.lr=3e-5");
    }
  }
}

BOOST_AUTO_TEST_CASE(cross_field_errors_point_at_the_override) {
  BOOST_TEST(override_error({"model.n_head=3"}) ==
             "--set model.n_head: model.n_embd 64 is not divisible by model.n_head 3");
  // The override is named rather than the file line of the other field.
  BOOST_TEST(input_error([] {
               parse_run_config("zero:\n  stage: 2\n  offload: true\n", "o.yaml", {"zero.stage=0"});
             }) ==
             "--set zero.stage: zero.offload true needs zero.stage 1, 2 or 3 (offload moves "
             "the optimizer shard to the CPU; stage 0 has no shard)");
  BOOST_TEST(override_error({"zero.stage=0", "zero.offload=true"}) ==
             "--set zero.offload: zero.offload true needs zero.stage 1, 2 or 3 (offload moves the "
             "optimizer shard to the CPU; stage 0 has no shard)");
  BOOST_TEST(override_error({"train.global_batch_size=6"}) ==
             "--set train.global_batch_size: train.global_batch_size 6 is not divisible by "
             "train.micro_batch_size 4");
}

BOOST_AUTO_TEST_SUITE_END()
