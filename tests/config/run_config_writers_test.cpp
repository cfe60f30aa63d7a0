#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <sstream>

#include "test_support.hpp"
#include "zerotune/config/run_config.hpp"
#include "zerotune/config/yaml_document.hpp"

using namespace zerotune::config;

namespace {

// Every field set away from its default, by hand from run_config.hpp, so that a field the
// reader or the writer skipped comes back different.
RunConfig all_fields_changed() {
  RunConfig c;
  c.source = "changed.yaml";
  c.model = {"gpt2", 12, 12, 768, 1024, 50257, "weights/gpt2.safetensors", 0.015};
  c.data = {"data/wiki train.h5",
            "data/wiki.valid.h5",
            500,
            {"wiki test.h5", "b,c.h5", "[x].h5", "null", "- dash.h5"},
            false,
            false,
            0};
  c.train.micro_batch_size = 8;
  c.train.global_batch_size = 64;
  c.train.epochs = 3;
  c.train.max_steps = 1000;
  c.train.lr = 6.25e-5;
  c.train.schedule = "linear";
  c.train.warmup_steps = 100;
  c.train.min_lr_ratio = 0.1;
  c.train.weight_decay = 0.1;
  c.train.grad_clip = 0.0;
  c.train.seed = 18446744073709551615u;
  c.train.precision = "fp16";
  c.train.optimizer = "sgd";
  c.train.beta1 = 0.8;
  c.train.beta2 = 0.95;
  c.train.eps = 1e-6;
  c.train.momentum = 0.5;
  c.zero = {3, true, "nvme", 0.75, "none", "/local nvme/zerotune", false};
  c.train.activation_checkpointing = true;
  c.fp16 = {128, 8, 100, 3, 2};
  c.checkpoint = {250, 5, "epoch", true};
  c.log = {1, "debug"};
  c.monitor = {50};
  c.run = {"/scratch/runs", "true", "cpu"};
  return c;
}

// Field count per section, from run_config.hpp by hand.
const std::map<std::string, size_t> kFieldsPerSection = {
    {"model", 8},      {"data", 7}, {"train", 21}, {"fp16", 5},    {"zero", 12},
    {"checkpoint", 4}, {"comm", 2}, {"log", 2},    {"monitor", 1}, {"run", 3}};

// The rows of each "## section" table of the reference: section -> keys in order.
std::map<std::string, std::vector<std::string>> reference_rows(const std::string& markdown) {
  std::map<std::string, std::vector<std::string>> rows;
  std::istringstream in(markdown);
  std::string line, section;
  while (std::getline(in, line)) {
    if (line.starts_with("## ")) section = line.substr(3);
    if (line.starts_with("| `")) {
      const size_t end = line.find('`', 3);
      rows[section].push_back(line.substr(3, end - 3));
    }
  }
  return rows;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(run_config_writers)

BOOST_AUTO_TEST_CASE(to_yaml_round_trip_is_equal) {
  const RunConfig changed = all_fields_changed();
  const RunConfig back = parse_run_config(to_yaml(changed), changed.source);
  BOOST_TEST((back == changed));
  BOOST_TEST(back.data.train_file == "data/wiki train.h5");
  BOOST_TEST(back.run.name == "true");
  BOOST_TEST(back.train.lr == 6.25e-5);

  RunConfig defaults;
  defaults.source = "defaults.yaml";
  BOOST_TEST((parse_run_config(to_yaml(defaults), defaults.source) == defaults));
}

BOOST_AUTO_TEST_CASE(to_yaml_writes_every_field) {
  const YamlNode doc = parse_yaml(to_yaml(RunConfig{}), "resolved.yaml");
  BOOST_REQUIRE(doc.is_mapping());
  BOOST_TEST(doc.entries.size() == kFieldsPerSection.size());
  for (const auto& [section, count] : kFieldsPerSection) {
    BOOST_TEST_CONTEXT(section) {
      const YamlNode* node = doc.find(section);
      BOOST_REQUIRE(node);
      BOOST_TEST(node->entries.size() == count);
    }
  }
}

BOOST_AUTO_TEST_CASE(reference_table_lists_every_field_of_every_section) {
  // The fields, counted from the YAML writer's output rather than from the schema.
  const YamlNode doc = parse_yaml(to_yaml(RunConfig{}), "resolved.yaml");
  const auto rows = reference_rows(reference_markdown());
  BOOST_TEST(rows.size() == doc.entries.size());
  size_t total = 0;
  for (const YamlEntry& section : doc.entries) {
    BOOST_TEST_CONTEXT(section.key) {
      auto it = rows.find(section.key);
      BOOST_REQUIRE(it != rows.end());
      BOOST_REQUIRE(it->second.size() == section.value.entries.size());
      for (size_t i = 0; i < it->second.size(); ++i) {
        BOOST_TEST(it->second[i] == section.value.entries[i].key);
      }
      total += it->second.size();
    }
  }
  BOOST_TEST(total == 65u);
}

BOOST_AUTO_TEST_CASE(reference_row_shows_type_default_and_meaning) {
  const std::string md = reference_markdown();
  BOOST_TEST(md.find("| `stage` | integer in 0..3 | `0` | ZeRO stage:") != std::string::npos);
  BOOST_TEST(md.find("| `precision` | one of fp32, bf16, fp16 | `fp32` |") != std::string::npos);
  BOOST_TEST(md.find("| `lr` | positive number | `3e-04` | peak learning rate |") !=
             std::string::npos);
  BOOST_TEST(md.find("| `eval_file` | string | `\"\"` |") != std::string::npos);
  BOOST_TEST(md.find("| `retention_files` | list of non-empty strings | `[]` |") !=
             std::string::npos);
}

// docs/config-reference.md is reference_markdown()'s output, committed. When they differ the
// current output is written to the build directory to copy over.
BOOST_AUTO_TEST_CASE(docs_config_reference_is_up_to_date) {
  namespace fs = std::filesystem;
  const char* env = std::getenv("ZEROTUNE_SOURCE_DIR");
  const fs::path source = env ? fs::path(env) : fs::path(ZEROTUNE_TEST_SOURCE_DIR) / "..";
  const fs::path doc = source / "docs" / "config-reference.md";
  const std::string expected = reference_markdown();
  const std::string committed =
      fs::exists(doc) ? zerotune::testing::read_text_file(doc) : std::string();
  if (committed != expected) {
    const char* build = std::getenv("ZEROTUNE_BUILD_DIR");
    const fs::path fresh =
        (build ? fs::path(build) : fs::temp_directory_path()) / "config-reference.md";
    zerotune::testing::write_text_file(fresh, expected);
    BOOST_ERROR(doc.string() + " is out of date with the config schema: copy " + fresh.string() +
                " over it");
  }
}

BOOST_AUTO_TEST_SUITE_END()
