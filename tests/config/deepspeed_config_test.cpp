// --deepspeed: DeepSpeed's config keys onto the run config. The expected values are what
// DeepSpeed's documentation says each key means (https://www.deepspeed.ai/docs/config-json/),
// worked out by hand for the five workshop-style files in tests/data/deepspeed/.
#include "zerotune/config/deepspeed_config.hpp"

#include <algorithm>
#include <boost/test/unit_test.hpp>

#include "input_error.hpp"
#include "test_support.hpp"

using namespace zerotune::config;
using zerotune::testing::fixture_dir;
using zerotune::testing::input_error;

namespace {

const std::string kYaml = "run:\n  name: t\n";

RunConfig resolve(const std::string& file, int world, std::vector<std::string>* notes = nullptr,
                  const std::string& yaml = kYaml, const std::vector<std::string>& overrides = {}) {
  std::vector<std::string> local;
  return parse_run_config_with_deepspeed(yaml, "t.yaml",
                                         (fixture_dir() / "deepspeed" / file).string(), world,
                                         overrides, notes ? *notes : local);
}

std::string error_of(const std::string& json, int world = 2) {
  return input_error([&] { map_deepspeed_config(json, "t.json", world); });
}

bool has(const std::vector<std::string>& notes, const std::string& key) {
  return std::find(notes.begin(), notes.end(), key) != notes.end();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(deepspeed_config)

BOOST_AUTO_TEST_CASE(stage1_bf16_adamw) {
  std::vector<std::string> notes;
  const RunConfig c = resolve("ds_zero1.json", 2, &notes);
  BOOST_TEST(c.train.global_batch_size == 16);
  BOOST_TEST(c.train.micro_batch_size == 4);
  BOOST_TEST(grad_accum_steps(c, 2) == 2);  // "auto": 16 / (4 x 2)
  BOOST_TEST(c.train.grad_clip == 1.0);
  BOOST_TEST(c.train.precision == "bf16");
  BOOST_TEST(c.zero.stage == 1);
  BOOST_TEST(!c.zero.offload);
  BOOST_TEST(c.train.optimizer == "adamw");
  BOOST_TEST(c.train.lr == 3e-5);
  BOOST_TEST(c.train.beta1 == 0.9);
  BOOST_TEST(c.train.beta2 == 0.95);
  BOOST_TEST(c.train.eps == 1e-8);
  BOOST_TEST(c.train.weight_decay == 0.01);
  BOOST_TEST(c.log.every_n_steps == 10);
  BOOST_TEST(c.zero.reduce_bucket_size == 500000000);  // written 5e8, a JSON float
  BOOST_TEST(!has(notes, "zero_optimization.reduce_bucket_size"));
  BOOST_TEST(has(notes, "wall_clock_breakdown"));
}

BOOST_AUTO_TEST_CASE(stage2_fp16_warmup_lr) {
  std::vector<std::string> notes;
  const RunConfig c = resolve("ds_zero2.json", 2, &notes);
  BOOST_TEST(c.train.micro_batch_size == 8);
  BOOST_TEST(c.train.global_batch_size == 32);  // 8 x 2 accumulation x 2 ranks
  BOOST_TEST(c.train.precision == "fp16");
  BOOST_TEST(c.fp16.loss_scale == 0.0);
  BOOST_TEST(c.fp16.initial_scale_power == 12);
  BOOST_TEST(c.fp16.loss_scale_window == 500);
  BOOST_TEST(c.fp16.hysteresis == 2);
  BOOST_TEST(c.fp16.min_loss_scale == 1.0);
  BOOST_TEST(c.zero.stage == 2);
  BOOST_TEST(c.train.schedule == "constant");  // WarmupLR holds warmup_max_lr after warmup
  BOOST_TEST(c.train.lr == 1e-4);
  BOOST_TEST(c.train.warmup_steps == 100);
  BOOST_TEST(c.zero.overlap_comm);
  BOOST_TEST(c.zero.reduce_bucket_size == 200000000);
  BOOST_TEST(!has(notes, "zero_optimization.overlap_comm"));
  BOOST_TEST(has(notes, "zero_optimization.contiguous_gradients"));
}

BOOST_AUTO_TEST_CASE(stage3_bf16_warmup_cosine) {
  const RunConfig c = resolve("ds_zero3.json", 4);
  BOOST_TEST(c.train.global_batch_size == 32);
  BOOST_TEST(c.train.micro_batch_size == 8);  // 32 / (1 x 4)
  BOOST_TEST(c.zero.stage == 3);
  BOOST_TEST(c.train.precision == "bf16");
  BOOST_TEST(c.train.schedule == "cosine");
  BOOST_TEST(c.train.max_steps == 1000);
  BOOST_TEST(c.train.warmup_steps == 50);
  BOOST_TEST(c.train.min_lr_ratio == 0.1);
  BOOST_TEST(c.train.lr == 2e-5);  // WarmupCosineLR peaks at the optimizer's lr
  BOOST_TEST(c.zero.prefetch_bucket_size == 50000000);
  BOOST_TEST(c.zero.param_persistence_threshold == 100000);
}

BOOST_AUTO_TEST_CASE(offload_warmup_decay) {
  const RunConfig defaults;
  const RunConfig c = resolve("ds_offload.json", 2);
  BOOST_TEST(c.train.micro_batch_size == 4);
  BOOST_TEST(c.train.global_batch_size == 8);  // "auto": 4 x 1 x 2
  BOOST_TEST(c.zero.stage == 2);
  BOOST_TEST(c.zero.offload);
  BOOST_TEST(c.zero.offload_optimizer_ratio == 0.3);
  BOOST_TEST(c.train.weight_decay == 0.1);
  BOOST_TEST(c.train.schedule == "linear");
  BOOST_TEST(c.train.max_steps == 200);
  BOOST_TEST(c.train.warmup_steps == 10);
  BOOST_TEST(c.train.min_lr_ratio == 0.0);
  BOOST_TEST(c.train.lr == 5e-5);
}

BOOST_AUTO_TEST_CASE(infinity_maps_nvme_offload) {
  std::vector<std::string> notes;
  const RunConfig c = resolve("ds_infinity.json", 2, &notes);
  BOOST_TEST(c.train.global_batch_size == 8);
  BOOST_TEST(c.train.micro_batch_size == 2);
  BOOST_TEST(c.zero.stage == 3);
  BOOST_TEST(c.zero.offload);
  BOOST_TEST(c.train.precision == "fp16");
  BOOST_TEST(c.fp16.initial_scale_power == 16);
  BOOST_TEST(c.train.optimizer == "sgd");
  BOOST_TEST(c.train.lr == 0.01);
  BOOST_TEST(c.train.momentum == 0.8);
  BOOST_TEST(c.zero.offload_optimizer == "nvme");
  BOOST_TEST(c.zero.offload_param == "nvme");
  BOOST_TEST(c.zero.nvme_path == "/local_nvme");
  BOOST_TEST(has(notes, "aio"));
}

// The example of DeepSpeed's "Getting Started" page, as published.
BOOST_AUTO_TEST_CASE(deepspeed_getting_started_example) {
  const RunConfig c = resolve("ds_getting_started.json", 2);
  BOOST_TEST(c.train.global_batch_size == 8);
  BOOST_TEST(c.train.micro_batch_size == 4);  // 8 / (1 x 2)
  BOOST_TEST(c.train.optimizer == "adamw");
  BOOST_TEST(c.train.lr == 0.00015);
  BOOST_TEST(c.train.precision == "fp16");
  BOOST_TEST(c.zero.stage == 1);  // "zero_optimization": true
}

BOOST_AUTO_TEST_CASE(yaml_and_set_apply_on_top) {
  const RunConfig c = resolve("ds_zero1.json", 2, nullptr,
                              "train:\n  lr: 1.0e-3\n  micro_batch_size: 2\n", {"zero.stage=2"});
  BOOST_TEST(c.train.lr == 1e-3);               // the YAML over the file
  BOOST_TEST(c.train.micro_batch_size == 2);    // the YAML over the file
  BOOST_TEST(c.train.global_batch_size == 16);  // the file where the YAML is silent
  BOOST_TEST(c.zero.stage == 2);                // --set over both
  BOOST_TEST(c.train.beta2 == 0.95);
}

BOOST_AUTO_TEST_CASE(defaults_yaml_gives_way_and_errors_name_the_file) {
  // A YAML of defaults only (the built-in demo) gives way to the file.
  std::vector<std::string> notes;
  const auto path = (fixture_dir() / "deepspeed" / "ds_zero3.json").string();
  const RunConfig c =
      parse_run_config_with_deepspeed("zero:\n  stage: 0\n", "demo", path, 4, {}, notes, false);
  BOOST_TEST(c.zero.stage == 3);
  // A rule between fields broken by the file's values names the file, not --set.
  const auto offload = (fixture_dir() / "deepspeed" / "ds_offload.json").string();
  BOOST_TEST(input_error([&] {
               parse_run_config_with_deepspeed("zero:\n  stage: 0\n", "t.yaml", offload, 2, {},
                                               notes);
             }).rfind(offload + ": zero.offload_optimizer: ", 0) == 0);
}

BOOST_AUTO_TEST_CASE(mismatches_name_key_and_value) {
  BOOST_TEST(error_of(R"({"train_batch_size": 10, "train_micro_batch_size_per_gpu": 4,
                          "gradient_accumulation_steps": 1})") ==
             "t.json: train_batch_size: 10 is not train_micro_batch_size_per_gpu 4 x "
             "gradient_accumulation_steps 1 x world size 2 = 8");
  BOOST_TEST(error_of(R"({"train_batch_size": 12, "train_micro_batch_size_per_gpu": 4})") ==
             "t.json: train_batch_size: 12 is not divisible by train_micro_batch_size_per_gpu 4 "
             "x world size 2");
  BOOST_TEST(error_of(R"({"gradient_accumulation_steps": 4})") ==
             "t.json: gradient_accumulation_steps: 4 alone: give train_batch_size or "
             "train_micro_batch_size_per_gpu as well");
  BOOST_TEST(error_of(R"({"zero_optimisation": {"stage": 2}})") ==
             "t.json: zero_optimisation: is not a DeepSpeed config key zerotune knows (misspelt?)");
  BOOST_TEST(error_of(R"({"zero_optimization": {"stage": 4}})") ==
             "t.json: zero_optimization.stage: 4 is not a ZeRO stage zerotune runs (0, 1, 2 or 3)");
  BOOST_TEST(error_of(R"({"zero_optimization": {"stage3_prefech_bucket_size": 1}})") ==
             "t.json: zero_optimization.stage3_prefech_bucket_size: is not a key of DeepSpeed's "
             "zero_optimization block (misspelt?)");
  BOOST_TEST(error_of(R"({"zero_optimization": {"offload_optimizer": {"device": "gpu"}}})") ==
             "t.json: zero_optimization.offload_optimizer.device: \"gpu\" is not an offload device "
             "(cpu, nvme or none)");
  BOOST_TEST(error_of(R"({"optimizer": {"type": "Lamb", "params": {"lr": 1e-3}}})") ==
             "t.json: optimizer.type: \"Lamb\" is not available (Adam, AdamW or SGD)");
  BOOST_TEST(error_of(R"({"optimizer": {"type": "Adam", "params": {"adam_w_mode": false}}})") ==
             "t.json: optimizer.params.adam_w_mode: false (Adam with L2 weight decay) is not "
             "available");
  BOOST_TEST(error_of(R"({"scheduler": {"type": "OneCycle", "params": {}}})") ==
             "t.json: scheduler.type: \"OneCycle\" is not available (WarmupLR, WarmupDecayLR, "
             "WarmupCosineLR)");
  BOOST_TEST(error_of(R"({"scheduler": {"type": "WarmupLR", "params": {"warmup_type": "log"}}})") ==
             "t.json: scheduler.params.warmup_type: \"log\": zerotune warms up linearly (set "
             "\"linear\")");
  BOOST_TEST(
      error_of(R"({"scheduler": {"type": "WarmupLR", "params": {"warmup_min_lr": 1e-6}}})") ==
      "t.json: scheduler.params.warmup_min_lr: 1e-06: warmup starts from 0 in zerotune (set 0)");
  BOOST_TEST(error_of(R"({"fp16": {"enabled": true}, "bf16": {"enabled": true}})") ==
             "t.json: fp16.enabled: true together with bf16.enabled true: choose one precision");
  BOOST_TEST(error_of(R"({"fp16": {"enabled": "yes"}})") ==
             "t.json: fp16.enabled: expected true or false, got \"yes\"");
  BOOST_TEST(error_of(R"({"gradient_clipping": -1})") ==
             "t.json: gradient_clipping: expected a non-negative number, got -1");
  BOOST_TEST(error_of("{\"stage\": }").rfind("t.json: not valid JSON: ", 0) == 0);
  BOOST_TEST(error_of(R"({"zero_optimization": {"reduce_bucket_size": 2.5}})") ==
             "t.json: zero_optimization.reduce_bucket_size: expected a positive whole number of "
             "elements, got 2.5");
  BOOST_TEST(error_of(R"({"communication_data_type": "int8"})") ==
             "t.json: communication_data_type: \"int8\" is not a communication dtype zerotune has "
             "(fp32, bf16, fp16)");
}

BOOST_AUTO_TEST_CASE(communication_knobs_map_to_zero_fields) {
  const auto m = map_deepspeed_config(R"({"train_batch_size": 8, "bf16": {"enabled": true},
      "communication_data_type": "bf16",
      "zero_optimization": {"stage": 3, "overlap_comm": false, "reduce_bucket_size": 3e7,
                            "stage3_prefetch_bucket_size": 0,
                            "stage3_param_persistence_threshold": 1e6}})",
                                      "t.json", 2);
  for (const char* want :
       {"zero.reduce_dtype=bf16", "zero.overlap_comm=false", "zero.reduce_bucket_size=30000000",
        "zero.prefetch_bucket_size=0", "zero.param_persistence_threshold=1000000"}) {
    BOOST_TEST(std::count(m.settings.begin(), m.settings.end(), want) == 1, want);
  }
}

BOOST_AUTO_TEST_CASE(comments_and_trailing_commas_as_hjson) {
  BOOST_TEST(strip_json_comments("{\"a\": 1, // one\n \"b\": \"//#/*\", # two\n /* c */ }") ==
             "{\"a\": 1, \n \"b\": \"//#/*\" \n   }");
  const auto m = map_deepspeed_config("{\"steps_per_print\": 5, /* x */ }", "t.json", 1);
  BOOST_TEST(m.settings == std::vector<std::string>{"log.every_n_steps=5"});
}

BOOST_AUTO_TEST_SUITE_END()
