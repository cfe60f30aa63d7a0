// List fields of the run config (data.retention_files): YAML flow and block sequences, --set
// with comma-separated items or a flow sequence, the resolved YAML and the DeepSpeed path, and
// one-line errors naming the file, line and field.
#include <boost/test/unit_test.hpp>

#include "input_error.hpp"
#include "test_support.hpp"
#include "zerotune/config/deepspeed_config.hpp"
#include "zerotune/config/run_config.hpp"

using namespace zerotune::config;
using zerotune::testing::fixture_dir;
using zerotune::testing::input_error;

namespace {

using Files = std::vector<std::string>;

Files files_of(const std::string& yaml, const std::vector<std::string>& overrides = {}) {
  return parse_run_config(yaml, "list.yaml", overrides).data.retention_files;
}

std::string error_of(const std::string& yaml, const std::vector<std::string>& overrides = {}) {
  return input_error([&] { parse_run_config(yaml, "list.yaml", overrides); });
}

}  // namespace

BOOST_AUTO_TEST_SUITE(run_config_list)

BOOST_AUTO_TEST_CASE(yaml_flow_and_block_sequences_read_as_lists) {
  BOOST_TEST(files_of("") == Files{});
  BOOST_TEST(files_of("data:\n  retention_files: [a.h5, 'b c.h5']\n") == (Files{"a.h5", "b c.h5"}));
  BOOST_TEST(files_of("data:\n  retention_files:\n    - /d/wiki.h5\n    - \"x,y.h5\"\n") ==
             (Files{"/d/wiki.h5", "x,y.h5"}));
  BOOST_TEST(files_of("data:\n  retention_files: []\n") == Files{});
  BOOST_TEST(files_of("data:\n  retention_files:\n") == Files{});
  // Items are strings whatever they look like: a file may be called 1 or true.
  BOOST_TEST(files_of("data:\n  retention_files: [1, true]\n") == (Files{"1", "true"}));
}

BOOST_AUTO_TEST_CASE(set_takes_comma_separated_items_or_a_flow_sequence) {
  const std::string yaml = "data:\n  retention_files: [x.h5]\n";
  BOOST_TEST(files_of(yaml, {"data.retention_files=a.h5,b.h5"}) == (Files{"a.h5", "b.h5"}));
  BOOST_TEST(files_of(yaml, {"data.retention_files= a.h5 , dir/b c.h5 "}) ==
             (Files{"a.h5", "dir/b c.h5"}));
  BOOST_TEST(files_of(yaml, {"data.retention_files=one.h5"}) == Files{"one.h5"});
  BOOST_TEST(files_of(yaml, {"data.retention_files=[p.h5, \"q,r.h5\"]"}) ==
             (Files{"p.h5", "q,r.h5"}));
  BOOST_TEST(files_of(yaml, {"data.retention_files="}) == Files{});
  BOOST_TEST(files_of(yaml, {"data.retention_files=[]"}) == Files{});
  BOOST_TEST(files_of(yaml, {"--set data.retention_files=a.h5",
                             "--set=data.retention_files=b.h5"}) == Files{"b.h5"});
}

BOOST_AUTO_TEST_CASE(bad_lists_name_the_line_field_and_item) {
  const std::string want = "data.retention_files: expected a list of non-empty strings, got ";
  BOOST_TEST(error_of("data:\n  retention_files: a.h5\n") == "list.yaml:2: " + want + "\"a.h5\"");
  BOOST_TEST(error_of("data:\n  retention_files: {a: 1}\n") ==
             "list.yaml:2: " + want + "a mapping");
  BOOST_TEST(error_of("data:\n  retention_files: [a.h5, {b: 1}]\n") ==
             "list.yaml:2: " + want + "a mapping as item 2");
  BOOST_TEST(error_of("data:\n  retention_files:\n    - a.h5\n    - [b.h5]\n") ==
             "list.yaml:2: " + want + "a sequence as item 2");
  BOOST_TEST(error_of("data:\n  retention_files: [a.h5, \"\"]\n") ==
             "list.yaml:2: " + want + "\"\" as item 2");
  BOOST_TEST(error_of("", {"data.retention_files=a.h5,,b.h5"}) ==
             "--set " + want + "\"\" as item 2");
  BOOST_TEST(error_of("", {"data.retention_files=a.h5,"}) == "--set " + want + "\"\" as item 2");
  BOOST_TEST(error_of("", {"data.retention_files=[a.h5, [b]]"}) ==
             "--set " + want + "a sequence as item 2");
}

BOOST_AUTO_TEST_CASE(resolved_yaml_reads_back_the_same_list) {
  RunConfig c;
  c.source = "resolved.yaml";
  c.data.retention_files = {"plain.h5", "with space.h5", "a,b.h5", "[x].h5", "null", "#c.h5"};
  const std::string yaml = to_yaml(c);
  BOOST_TEST(yaml.find("  retention_files: [plain.h5, \"with space.h5\", \"a,b.h5\"") !=
             std::string::npos);
  BOOST_TEST(parse_run_config(yaml, c.source).data.retention_files == c.data.retention_files);
  c.data.retention_files.clear();
  BOOST_TEST(to_yaml(c).find("  retention_files: []\n") != std::string::npos);
}

// A DeepSpeed file has no list of its own; the YAML's list and a --set list pass through it.
BOOST_AUTO_TEST_CASE(list_survives_a_deepspeed_file) {
  std::vector<std::string> notes;
  const std::string ds = (fixture_dir() / "deepspeed" / "ds_zero2.json").string();
  const RunConfig from_yaml = parse_run_config_with_deepspeed(
      "data:\n  retention_files: [w.h5, s.h5]\n", "t.yaml", ds, 2, {}, notes);
  BOOST_TEST(from_yaml.data.retention_files == (Files{"w.h5", "s.h5"}));
  const RunConfig from_set = parse_run_config_with_deepspeed(
      "run:\n  name: t\n", "t.yaml", ds, 2, {"data.retention_files=a.h5,b.h5"}, notes);
  BOOST_TEST(from_set.data.retention_files == (Files{"a.h5", "b.h5"}));
}

BOOST_AUTO_TEST_SUITE_END()
