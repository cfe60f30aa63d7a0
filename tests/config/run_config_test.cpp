#include "zerotune/config/run_config.hpp"

#include <boost/test/unit_test.hpp>
#include <filesystem>

#include "input_error.hpp"
#include "test_support.hpp"

using namespace zerotune::config;
using zerotune::testing::input_error;

namespace {

std::filesystem::path source_dir() {
  return std::filesystem::path(ZEROTUNE_TEST_SOURCE_DIR) / "..";
}

// The message parse_run_config gives for `yaml`, read as "t.yaml".
std::string parse_error(const std::string& yaml) {
  return input_error([&] { parse_run_config(yaml, "t.yaml"); });
}

}  // namespace

BOOST_AUTO_TEST_SUITE(run_config)

// Expected values read by hand from configs/demo.yaml; the rest are the struct defaults.
BOOST_AUTO_TEST_CASE(parses_demo_config_to_expected_values) {
  const auto path = (source_dir() / "configs" / "demo.yaml").string();
  const RunConfig c = load_run_config(path);
  BOOST_TEST(c.source == path);
  BOOST_TEST(c.model.arch == "gpt2");
  BOOST_TEST(c.model.n_layer == 4);
  BOOST_TEST(c.model.n_head == 4);
  BOOST_TEST(c.model.n_embd == 128);
  BOOST_TEST(c.model.seq_len == 64);
  BOOST_TEST(c.model.vocab_size == 257);
  BOOST_TEST(c.model.init == "random");
  BOOST_TEST(c.model.init_std == 0.02);
  BOOST_TEST(c.data.train_file == "synthetic");
  BOOST_TEST(c.data.eval_file == "synthetic");
  BOOST_TEST(c.data.shuffle);
  BOOST_TEST(c.data.drop_last);
  BOOST_TEST(c.data.prefetch_steps == 2);
  BOOST_TEST(c.train.micro_batch_size == 16);
  BOOST_TEST(c.train.global_batch_size == 16);
  BOOST_TEST(c.train.epochs == 1);
  BOOST_TEST(c.train.max_steps == 600);
  BOOST_TEST(c.train.lr == 2.0e-3);
  BOOST_TEST(c.train.schedule == "cosine");
  BOOST_TEST(c.train.warmup_steps == 20);
  BOOST_TEST(c.train.min_lr_ratio == 0.1);
  BOOST_TEST(c.train.weight_decay == 0.01);
  BOOST_TEST(c.train.grad_clip == 1.0);
  BOOST_TEST(c.train.seed == 1234u);
  BOOST_TEST(c.train.precision == "fp32");
  BOOST_TEST(c.train.optimizer == "adamw");
  BOOST_TEST(c.train.beta1 == 0.9);
  BOOST_TEST(c.train.beta2 == 0.999);
  BOOST_TEST(c.train.eps == 1e-8);
  BOOST_TEST(c.zero.stage == 0);
  BOOST_TEST(!c.zero.offload);
  BOOST_TEST(c.checkpoint.every_n_steps == 200);
  BOOST_TEST(c.checkpoint.keep_last == 2);
  BOOST_TEST(c.log.every_n_steps == 25);
  BOOST_TEST(c.monitor.interval_ms == 200);
  BOOST_TEST(c.run.root == "runs");
  BOOST_TEST(c.run.name == "demo");
}

BOOST_AUTO_TEST_CASE(empty_text_and_empty_sections_give_defaults) {
  RunConfig defaults;
  defaults.source = "t.yaml";
  BOOST_TEST((parse_run_config("", "t.yaml") == defaults));
  BOOST_TEST((parse_run_config("zero:\n# nothing set\ntrain: ~\n", "t.yaml") == defaults));
}

BOOST_AUTO_TEST_CASE(rejects_unknown_key) {
  BOOST_TEST(parse_error("model:\n  n_layer: 2\n  n_layr: 3\n") ==
             "t.yaml:3: model.n_layr: unknown key (known: arch, n_layer, n_head, n_embd, "
             "seq_len, vocab_size, init, init_std)");
  BOOST_TEST(
      parse_error("zero:\n  stage: 1\n  offlaod: true\n") ==
      "t.yaml:3: zero.offlaod: unknown key (known: "
      "stage, offload, offload_optimizer, offload_optimizer_ratio, offload_param, nvme_path, "
      "pin_memory, overlap_comm, "
      "reduce_bucket_size, prefetch_bucket_size, param_persistence_threshold, reduce_dtype)");
}

BOOST_AUTO_TEST_CASE(rejects_unknown_section) {
  BOOST_TEST(parse_error("model:\n  n_layer: 2\noptimiser:\n  lr: 1\n") ==
             "t.yaml:3: optimiser: unknown section (known: model, data, train, fp16, zero, "
             "checkpoint, comm, log, monitor, run)");
}

BOOST_AUTO_TEST_CASE(rejects_wrong_type) {
  // The exact line the style guide gives as its example.
  const std::string zero3 =
      "# ZeRO-3\nmodel:\n  n_layer: 2\n  n_head: 2\n  n_embd: 64\n  seq_len: 64\n"
      "  vocab_size: 256\ndata:\n  train_file: synthetic\n  shuffle: true\ntrain:\n  epochs: 1\n"
      "  lr: 3.0e-4\n  micro_batch_size: eight\n";
  BOOST_TEST(
      input_error([&] { parse_run_config(zero3, "configs/zero3.yaml"); }) ==
      "configs/zero3.yaml:14: train.micro_batch_size: expected a positive integer <= 1048576, got "
      "\"eight\"");
  BOOST_TEST(parse_error("train:\n  lr: fast\n") ==
             "t.yaml:2: train.lr: expected a positive number, got \"fast\"");
  BOOST_TEST(parse_error("train:\n  epochs: 1.5\n") ==
             "t.yaml:2: train.epochs: expected a positive integer <= 1000000, got \"1.5\"");
  BOOST_TEST(parse_error("train:\n  micro_batch_size: \"8\"\n") ==
             "t.yaml:2: train.micro_batch_size: expected a positive integer <= 1048576, got \"8\" "
             "(quoted, "
             "so a string)");
  BOOST_TEST(parse_error("zero:\n  offload: yes\n") ==
             "t.yaml:2: zero.offload: expected a boolean (true or false), got \"yes\"");
  BOOST_TEST(parse_error("data:\n  train_file: [a, b]\n") ==
             "t.yaml:2: data.train_file: expected a string, got a sequence");
  BOOST_TEST(parse_error("train:\n  seed: -1\n") ==
             "t.yaml:2: train.seed: expected a non-negative integer, got \"-1\"");
  BOOST_TEST(parse_error("train: 3\n") == "t.yaml:1: train: expected a mapping of keys, got \"3\"");
  BOOST_TEST(parse_error("- model\n") ==
             "t.yaml:1: expected a mapping of sections (model, data, train, fp16, zero, "
             "checkpoint, comm, log, monitor, run), got a sequence");
}

BOOST_AUTO_TEST_CASE(rejects_out_of_range) {
  struct Case {
    const char* yaml;
    const char* message;
  };
  const Case cases[] = {
      {"zero:\n  stage: 4\n", "t.yaml:2: zero.stage: expected an integer in 0..3, got \"4\""},
      {"zero:\n  stage: -1\n", "t.yaml:2: zero.stage: expected an integer in 0..3, got \"-1\""},
      {"train:\n  precision: fp64\n",
       "t.yaml:2: train.precision: expected one of fp32, bf16, fp16, got \"fp64\""},
      {"train:\n  optimizer: adam\n",
       "t.yaml:2: train.optimizer: expected one of adamw, sgd, got \"adam\""},
      {"train:\n  schedule: step\n",
       "t.yaml:2: train.schedule: expected one of cosine, linear, constant, got \"step\""},
      {"model:\n  arch: llama\n", "t.yaml:2: model.arch: expected one of gpt2, got \"llama\""},
      {"train:\n  lr: 0\n", "t.yaml:2: train.lr: expected a positive number, got \"0\""},
      {"train:\n  lr: -1e-4\n", "t.yaml:2: train.lr: expected a positive number, got \"-1e-4\""},
      {"train:\n  warmup_steps: -5\n",
       "t.yaml:2: train.warmup_steps: expected a non-negative integer <= 1000000000000, got "
       "\"-5\""},
      {"train:\n  max_steps: -1\n",
       "t.yaml:2: train.max_steps: expected a non-negative integer <= 1000000000000, got \"-1\""},
      {"train:\n  micro_batch_size: 0\n",
       "t.yaml:2: train.micro_batch_size: expected a positive integer <= 1048576, got \"0\""},
      {"train:\n  global_batch_size: 0\n",
       "t.yaml:2: train.global_batch_size: expected a positive integer <= 1073741824, got \"0\""},
      {"train:\n  epochs: 0\n",
       "t.yaml:2: train.epochs: expected a positive integer <= 1000000, got \"0\""},
      {"train:\n  min_lr_ratio: 1.5\n",
       "t.yaml:2: train.min_lr_ratio: expected a number in [0, 1], got \"1.5\""},
      {"train:\n  weight_decay: -0.1\n",
       "t.yaml:2: train.weight_decay: expected a non-negative number, got \"-0.1\""},
      {"train:\n  grad_clip: -1\n",
       "t.yaml:2: train.grad_clip: expected a non-negative number, got \"-1\""},
      {"train:\n  beta1: 1.0\n", "t.yaml:2: train.beta1: expected a number in [0, 1), got \"1.0\""},
      {"train:\n  beta2: -0.5\n",
       "t.yaml:2: train.beta2: expected a number in [0, 1), got \"-0.5\""},
      {"train:\n  eps: 0\n", "t.yaml:2: train.eps: expected a positive number, got \"0\""},
      {"train:\n  momentum: 1\n",
       "t.yaml:2: train.momentum: expected a number in [0, 1), got \"1\""},
      {"model:\n  n_layer: 0\n",
       "t.yaml:2: model.n_layer: expected a positive integer <= 1024, got \"0\""},
      {"model:\n  n_head: 0\n",
       "t.yaml:2: model.n_head: expected a positive integer <= 1024, got \"0\""},
      {"model:\n  n_embd: -64\n",
       "t.yaml:2: model.n_embd: expected a positive integer <= 65536, got \"-64\""},
      {"model:\n  seq_len: 0\n",
       "t.yaml:2: model.seq_len: expected a positive integer <= 1048576, got \"0\""},
      {"model:\n  vocab_size: 0\n",
       "t.yaml:2: model.vocab_size: expected a positive integer <= 16777216, got \"0\""},
      {"model:\n  init: \"\"\n", "t.yaml:2: model.init: expected a non-empty string, got \"\""},
      {"model:\n  init_std: 0\n",
       "t.yaml:2: model.init_std: expected a positive number, got \"0\""},
      {"data:\n  prefetch_steps: -1\n",
       "t.yaml:2: data.prefetch_steps: expected a non-negative integer <= 64, got \"-1\""},
      {"checkpoint:\n  keep_last: 0\n",
       "t.yaml:2: checkpoint.keep_last: expected a positive integer <= 1000000, got \"0\""},
      {"checkpoint:\n  every_n_steps: -10\n",
       "t.yaml:2: checkpoint.every_n_steps: expected a non-negative integer, got \"-10\""},
      {"log:\n  every_n_steps: 0\n",
       "t.yaml:2: log.every_n_steps: expected a positive integer, got \"0\""},
      {"monitor:\n  interval_ms: 0\n",
       "t.yaml:2: monitor.interval_ms: expected a positive integer <= 3600000, got \"0\""},
      {"run:\n  root: \"\"\n", "t.yaml:2: run.root: expected a non-empty string, got \"\""},
      {"run:\n  name: \"\"\n",
       "t.yaml:2: run.name: expected a non-empty string of at most 200 bytes, got \"\""},
  };
  for (const Case& c : cases) {
    BOOST_TEST_CONTEXT(c.yaml) { BOOST_TEST(parse_error(c.yaml) == c.message); }
  }
}

BOOST_AUTO_TEST_CASE(accepts_the_edges_of_each_range) {
  const RunConfig c = parse_run_config(
      "zero:\n  stage: 3\n  offload: true\ntrain:\n  precision: bf16\n  optimizer: sgd\n"
      "  schedule: constant\n  min_lr_ratio: 1\n  beta1: 0\n  warmup_steps: 0\n"
      "  grad_clip: 0\n  seed: 18446744073709551615\ncheckpoint:\n  keep_last: 1\n",
      "t.yaml");
  BOOST_TEST(c.zero.stage == 3);
  BOOST_TEST(c.zero.offload);
  BOOST_TEST(c.train.precision == "bf16");
  BOOST_TEST(c.train.min_lr_ratio == 1.0);
  BOOST_TEST(c.train.seed == 18446744073709551615u);
  BOOST_TEST(c.checkpoint.keep_last == 1);
}

// Values far past any real run end at the field with its documented bound, before anything
// is sized by them; the bounds themselves are accepted.
BOOST_AUTO_TEST_CASE(rejects_values_past_each_upper_bound) {
  struct Case {
    const char* yaml;
    const char* message;
  };
  const Case cases[] = {
      {"model:\n  n_layer: 1099511627776\n",
       "t.yaml:2: model.n_layer: expected a positive integer <= 1024, got \"1099511627776\""},
      {"model:\n  n_embd: 4611686018427387904\n",
       "t.yaml:2: model.n_embd: expected a positive integer <= 65536, got "
       "\"4611686018427387904\""},
      {"model:\n  seq_len: 1048577\n",
       "t.yaml:2: model.seq_len: expected a positive integer <= 1048576, got \"1048577\""},
      {"model:\n  vocab_size: 16777217\n",
       "t.yaml:2: model.vocab_size: expected a positive integer <= 16777216, got \"16777217\""},
      {"train:\n  epochs: 1099511627776\n",
       "t.yaml:2: train.epochs: expected a positive integer <= 1000000, got \"1099511627776\""},
      {"data:\n  prefetch_steps: 1000000000\n",
       "t.yaml:2: data.prefetch_steps: expected a non-negative integer <= 64, got \"1000000000\""},
      {"data:\n  prefetch_steps: 4294967296\n",
       "t.yaml:2: data.prefetch_steps: expected a non-negative integer <= 64, got \"4294967296\""},
      {"checkpoint:\n  keep_last: 4294967296\n",
       "t.yaml:2: checkpoint.keep_last: expected a positive integer <= 1000000, got "
       "\"4294967296\""},
      {"monitor:\n  interval_ms: 9223372036854775000\n",
       "t.yaml:2: monitor.interval_ms: expected a positive integer <= 3600000, got "
       "\"9223372036854775000\""},
      {"train:\n  micro_batch_size: 4611686018427387904\n",
       "t.yaml:2: train.micro_batch_size: expected a positive integer <= 1048576, got "
       "\"4611686018427387904\""},
      {"train:\n  global_batch_size: 4611686018427387904\n",
       "t.yaml:2: train.global_batch_size: expected a positive integer <= 1073741824, got "
       "\"4611686018427387904\""},
  };
  for (const Case& c : cases) {
    BOOST_TEST_CONTEXT(c.yaml) { BOOST_TEST(parse_error(c.yaml) == c.message); }
  }
  const RunConfig edge = parse_run_config(
      "model:\n  n_layer: 1024\n  n_head: 1024\n  n_embd: 65536\n  seq_len: 1048576\n"
      "  vocab_size: 16777216\ndata:\n  prefetch_steps: 64\ncheckpoint:\n  keep_last: 1000000\n"
      "monitor:\n  interval_ms: 3600000\n",
      "t.yaml");
  BOOST_TEST(edge.model.n_layer == 1024);
  BOOST_TEST(edge.data.prefetch_steps == 64);
  BOOST_TEST(edge.monitor.interval_ms == 3600000);
}

// A huge value is quoted by its first 64 bytes and its length, not echoed whole.
BOOST_AUTO_TEST_CASE(quotes_a_prefix_of_a_huge_value) {
  const std::string huge(10 << 20, 'x');
  const std::string message = parse_error("model:\n  arch: " + huge + "\n");
  BOOST_TEST(message == "t.yaml:2: model.arch: expected one of gpt2, got \"" +
                            std::string(64, 'x') + "...\" (10485760 bytes)");
  const std::string name_message = parse_error("run:\n  name: " + std::string(201, 'n') + "\n");
  BOOST_TEST(name_message.starts_with(
      "t.yaml:2: run.name: expected a non-empty string of at most 200 bytes, got \"nnn"));
  BOOST_TEST(name_message.ends_with("...\" (201 bytes)"));
}

// Micro batch x world size past int64 is no divisor of any global batch (it once wrapped to 0
// and every rank died of SIGFPE).
BOOST_AUTO_TEST_CASE(batch_product_overflow_is_an_input_error) {
  RunConfig c;
  c.source = "x.yaml";
  c.train.micro_batch_size = int64_t{1} << 62;
  c.train.global_batch_size = int64_t{1} << 62;
  BOOST_TEST(grad_accum_steps(c, 1) == 1);
  BOOST_TEST(
      input_error([&] {
        grad_accum_steps(c, 4);
      }).starts_with("x.yaml: train.global_batch_size 4611686018427387904 is not divisible"));
}

BOOST_AUTO_TEST_CASE(rejects_n_embd_not_divisible_by_n_head) {
  BOOST_TEST(parse_error("model:\n  n_head: 3\n  n_embd: 100\n") ==
             "t.yaml:3: model.n_embd 100 is not divisible by model.n_head 3");
  // Only n_head set: the line named is n_head's (n_embd's default is 64).
  BOOST_TEST(parse_error("model:\n  n_head: 3\n") ==
             "t.yaml:2: model.n_embd 64 is not divisible by model.n_head 3");
}

BOOST_AUTO_TEST_CASE(rejects_indivisible_global_batch) {
  BOOST_TEST(parse_error("train:\n  micro_batch_size: 4\n  global_batch_size: 10\n") ==
             "t.yaml:3: train.global_batch_size 10 is not divisible by train.micro_batch_size 4");
  // With the world size, at launch.
  const RunConfig c =
      parse_run_config("train:\n  micro_batch_size: 4\n  global_batch_size: 8\n", "configs/x.yaml");
  BOOST_TEST(grad_accum_steps(c, 1) == 2);
  BOOST_TEST(grad_accum_steps(c, 2) == 1);
  BOOST_TEST(input_error([&] { grad_accum_steps(c, 4); }) ==
             "configs/x.yaml: train.global_batch_size 8 is not divisible by micro_batch_size 4 "
             "x world size 4");
  const RunConfig ten = parse_run_config("train:\n  micro_batch_size: 2\n  global_batch_size: 10\n",
                                         "configs/y.yaml", {"train.micro_batch_size=1"});
  BOOST_TEST(grad_accum_steps(ten, 5) == 2);
  BOOST_TEST(input_error([&] { grad_accum_steps(ten, 4); }) ==
             "configs/y.yaml: train.global_batch_size 10 is not divisible by micro_batch_size 1 "
             "x world size 4");
}

// DeepSpeed's rule: the global batch or the accumulation steps, not both; with the steps the
// global batch follows the world size (4 x 2 ranks x 3 = 24, 4 x 8 x 3 = 96).
BOOST_AUTO_TEST_CASE(gradient_accumulation_steps_instead_of_global_batch) {
  RunConfig c = parse_run_config(
      "train:\n  micro_batch_size: 4\n  gradient_accumulation_steps: 3\n", "a.yaml");
  BOOST_TEST(grad_accum_steps(c, 2) == 3);
  BOOST_TEST(grad_accum_steps(c, 8) == 3);
  resolve_global_batch(c, 2);
  BOOST_TEST(c.train.global_batch_size == 24);
  resolve_global_batch(c, 8);
  BOOST_TEST(c.train.global_batch_size == 96);
  // The resolved config reads back (the derived global batch is a comment in it).
  const RunConfig again = parse_run_config(to_yaml(c), "config.yaml");
  BOOST_TEST(again.train.gradient_accumulation_steps == 3);
  BOOST_TEST(parse_error("train:\n  global_batch_size: 8\n  gradient_accumulation_steps: 2\n") ==
             "t.yaml:3: train.global_batch_size and train.gradient_accumulation_steps are both "
             "set: set one of them (the global batch is micro_batch_size x world size x gradient "
             "accumulation steps)");
  // Without the steps nothing changes.
  RunConfig g =
      parse_run_config("train:\n  micro_batch_size: 4\n  global_batch_size: 16\n", "b.yaml");
  resolve_global_batch(g, 2);
  BOOST_TEST(g.train.global_batch_size == 16);
  BOOST_TEST(grad_accum_steps(g, 2) == 2);
}

BOOST_AUTO_TEST_CASE(rejects_offload_without_sharding) {
  BOOST_TEST(parse_error("zero:\n  stage: 0\n  offload: true\n") ==
             "t.yaml:3: zero.offload true needs zero.stage 1, 2 or 3 (offload moves the optimizer "
             "shard to the CPU; stage 0 has no shard)");
}

BOOST_AUTO_TEST_CASE(offload_true_is_offload_optimizer_cpu) {
  const RunConfig old_switch = parse_run_config("zero:\n  stage: 1\n  offload: true\n", "t.yaml");
  BOOST_TEST(old_switch.zero.offload_optimizer == "cpu");
  const RunConfig nvme = parse_run_config(
      "zero:\n  stage: 2\n  offload_optimizer: nvme\n  nvme_path: /local\n", "t.yaml");
  BOOST_TEST(nvme.zero.offload);
  BOOST_TEST(nvme.zero.pin_memory);
  // Both set and agreeing, and an override of either one deciding.
  BOOST_TEST(
      parse_run_config("zero:\n  stage: 1\n  offload: true\n  offload_optimizer: cpu\n", "t.yaml")
          .zero.offload);
  BOOST_TEST(parse_run_config("zero:\n  stage: 1\n  offload: true\n  offload_optimizer: cpu\n",
                              "t.yaml", {"zero.offload=false"})
                 .zero.offload_optimizer == "none");
  const RunConfig overridden =
      parse_run_config("zero:\n  stage: 1\n  offload: true\n  offload_optimizer: cpu\n", "t.yaml",
                       {"zero.offload_optimizer=none"});
  BOOST_TEST(!overridden.zero.offload);
}

BOOST_AUTO_TEST_CASE(rejects_inconsistent_offload_settings) {
  BOOST_TEST(parse_error("zero:\n  stage: 1\n  offload: true\n  offload_optimizer: none\n") ==
             "t.yaml:3: zero.offload true disagrees with zero.offload_optimizer none; set only "
             "zero.offload_optimizer (none, cpu or nvme)");
  BOOST_TEST(parse_error("zero:\n  stage: 1\n  offload_optimizer: nvme\n") ==
             "t.yaml:3: zero.nvme_path: an nvme offload needs a folder for its files (a local "
             "NVMe mount)");
  BOOST_TEST(parse_error("zero:\n  stage: 2\n  offload_param: cpu\n") ==
             "t.yaml:3: zero.offload_param cpu needs zero.stage 3 (only stage 3 shards the "
             "parameters)");
  BOOST_TEST(parse_error("zero:\n  stage: 2\n  offload_optimizer_ratio: 0.5\n") ==
             "t.yaml:3: zero.offload_optimizer_ratio 0.5 needs zero.offload_optimizer cpu or "
             "nvme, zero.offload_param none and a ratio above 0 (0 is offload_optimizer: none)");
  BOOST_TEST(parse_error("zero:\n  stage: 3\n  offload_optimizer: cpu\n  offload_param: cpu\n"
                         "  offload_optimizer_ratio: 0.5\n")
                 .starts_with("t.yaml:5: zero.offload_optimizer_ratio 0.5 needs"));
  BOOST_TEST(parse_error("zero:\n  stage: 1\n  offload_optimizer: cpu\n"
                         "  offload_optimizer_ratio: 0\n")
                 .starts_with("t.yaml:4: zero.offload_optimizer_ratio 0 needs"));
  BOOST_TEST(parse_error("zero:\n  stage: 3\n  offload_param: cpu\n") ==
             "t.yaml:3: zero.offload_param cpu needs zero.offload_optimizer cpu or nvme (the "
             "update then writes the parameters where they live)");
  BOOST_TEST(parse_error("zero:\n  offload_optimizer: nvme\n  nvme_path: /x\n") ==
             "t.yaml:2: zero.offload_optimizer nvme needs zero.stage 1, 2 or 3 (offload moves the "
             "optimizer shard to the NVMe; stage 0 has no shard)");
  BOOST_TEST(parse_error("zero:\n  stage: 1\n  offload_optimizer: gpu\n") ==
             "t.yaml:3: zero.offload_optimizer: expected one of none, cpu, nvme, got \"gpu\"");
}

BOOST_AUTO_TEST_CASE(rejects_malformed_yaml) {
  BOOST_TEST(parse_error("train:\n  lr: [1e-4\n  epochs: 2\n") ==
             "t.yaml:3:9: did not find expected ',' or ']' (while parsing a flow sequence at "
             "line 2)");
}

BOOST_AUTO_TEST_CASE(rejects_duplicate_key) {
  BOOST_TEST(parse_error("train:\n  lr: 1e-4\n  lr: 2e-4\n") ==
             "t.yaml:3:3: duplicate key \"lr\" (first at line 2)");
  BOOST_TEST(parse_error("zero:\n  stage: 1\nzero:\n  stage: 2\n") ==
             "t.yaml:3:1: duplicate key \"zero\" (first at line 1)");
}

BOOST_AUTO_TEST_CASE(load_names_missing_or_unreadable_file) {
  zerotune::testing::ScratchDir dir("zt-config");
  const std::string missing = (dir / "nope.yaml").string();
  BOOST_TEST(input_error([&] { load_run_config(missing); }) ==
             missing + ": cannot read config file: No such file or directory");
  BOOST_TEST(input_error([&] { load_run_config(dir.path().string()); }) ==
             dir.path().string() + ": is a directory, expected a YAML config file");
  // The path is the source of every later message.
  const auto bad = dir / "bad.yaml";
  zerotune::testing::write_text_file(bad, "train:\n  lr: x\n");
  BOOST_TEST(input_error([&] { load_run_config(bad.string()); }) ==
             bad.string() + ":2: train.lr: expected a positive number, got \"x\"");
}

BOOST_AUTO_TEST_SUITE_END()
