#include "zerotune/config/yaml_document.hpp"

#include <boost/test/unit_test.hpp>
#include <chrono>

#include "input_error.hpp"

using namespace zerotune::config;
using zerotune::testing::input_error;

BOOST_AUTO_TEST_SUITE(yaml_document)

BOOST_AUTO_TEST_CASE(builds_tree_with_line_and_column_of_keys_and_values) {
  const YamlNode root = parse_yaml(
      "# comment\n"
      "model:\n"
      "  n_layer: 2\n"
      "  name: \"quoted\"\n"
      "list: [a, 'b']\n",
      "t.yaml");
  BOOST_REQUIRE(root.is_mapping());
  BOOST_REQUIRE(root.entries.size() == 2u);
  BOOST_TEST(root.entries[0].key == "model");
  BOOST_TEST(root.entries[0].line == 2);
  const YamlNode* model = root.find("model");
  BOOST_REQUIRE(model);
  BOOST_TEST(model->is_mapping());
  BOOST_TEST(model->entries[0].key == "n_layer");
  BOOST_TEST(model->entries[0].line == 3);
  BOOST_TEST(model->entries[0].column == 3);
  const YamlNode& n_layer = model->entries[0].value;
  BOOST_TEST(n_layer.text == "2");
  BOOST_TEST(n_layer.plain);
  BOOST_TEST(n_layer.line == 3);
  BOOST_TEST(n_layer.column == 12);
  BOOST_TEST(model->find("name")->text == "quoted");
  BOOST_TEST(!model->find("name")->plain);
  const YamlNode* list = root.find("list");
  BOOST_REQUIRE(list);
  BOOST_REQUIRE(list->is_sequence());
  BOOST_REQUIRE(list->items.size() == 2u);
  BOOST_TEST(list->items[0].plain);
  BOOST_TEST(!list->items[1].plain);
  BOOST_TEST(list->items[1].text == "b");
  BOOST_TEST(list->items[1].line == 5);
  BOOST_TEST(root.find("missing") == nullptr);
}

BOOST_AUTO_TEST_CASE(empty_stream_is_null) {
  BOOST_TEST(parse_yaml("", "t.yaml").is_null());
  BOOST_TEST(parse_yaml("# only a comment\n", "t.yaml").is_null());
}

BOOST_AUTO_TEST_CASE(null_forms_follow_the_core_schema) {
  const YamlNode root = parse_yaml("a:\nb: ~\nc: null\nd: 'null'\ne: nil\n", "t.yaml");
  BOOST_TEST(root.find("a")->is_null());
  BOOST_TEST(root.find("b")->is_null());
  BOOST_TEST(root.find("c")->is_null());
  BOOST_TEST(!root.find("d")->is_null());
  BOOST_TEST(!root.find("e")->is_null());
}

BOOST_AUTO_TEST_CASE(str_tag_makes_a_scalar_a_string) {
  const YamlNode root = parse_yaml("a: !!str 8\n", "t.yaml");
  BOOST_TEST(root.find("a")->text == "8");
  BOOST_TEST(!root.find("a")->plain);
}

BOOST_AUTO_TEST_CASE(aliases_copy_the_anchored_node) {
  const YamlNode root = parse_yaml("base: &b {x: 1}\ncopy: *b\n", "t.yaml");
  const YamlNode* copy = root.find("copy");
  BOOST_REQUIRE(copy);
  BOOST_REQUIRE(copy->is_mapping());
  BOOST_TEST(copy->find("x")->text == "1");
  BOOST_TEST(copy->line == 2);
}

BOOST_AUTO_TEST_CASE(rejects_malformed_yaml_with_line_and_column) {
  BOOST_TEST(input_error([] { parse_yaml("model:\n  n_layer: [2\n", "bad.yaml"); }) ==
             "bad.yaml:3:1: did not find expected ',' or ']' (while parsing a flow sequence at "
             "line 2)");
  BOOST_TEST(input_error([] { parse_yaml("model:\n  n_layer: 2\n bad: 1\n", "bad.yaml"); }) ==
             "bad.yaml:3:2: did not find expected key (while parsing a block mapping at line 1)");
  BOOST_TEST(
      input_error([] { parse_yaml("a: \"open\n", "bad.yaml"); }).starts_with("bad.yaml:2:1: "));
  BOOST_TEST(input_error([] { parse_yaml("a: b: c\n", "bad.yaml"); }) ==
             "bad.yaml:1:5: mapping values are not allowed in this context");
}

BOOST_AUTO_TEST_CASE(rejects_duplicate_key) {
  BOOST_TEST(input_error([] { parse_yaml("train:\n  lr: 1\n  epochs: 2\n  lr: 3\n", "d.yaml"); }) ==
             "d.yaml:4:3: duplicate key \"lr\" (first at line 2)");
  // The same key in different mappings is fine.
  BOOST_CHECK_NO_THROW(parse_yaml("a: {x: 1}\nb: {x: 2}\n", "d.yaml"));
}

BOOST_AUTO_TEST_CASE(rejects_second_document_unknown_alias_and_complex_key) {
  BOOST_TEST(input_error([] { parse_yaml("a: 1\n---\nb: 2\n", "m.yaml"); }) ==
             "m.yaml:2:1: expected a single YAML document, found a second one");
  BOOST_TEST(input_error([] { parse_yaml("a: *nowhere\n", "m.yaml"); }) ==
             "m.yaml:1:4: unknown alias *nowhere");
  BOOST_TEST(input_error([] { parse_yaml("? [a, b]\n: 1\n", "m.yaml"); }) ==
             "m.yaml:1:3: mapping keys must be scalars");
}

BOOST_AUTO_TEST_CASE(rejects_nesting_beyond_the_limit) {
  const std::string deep = std::string(100, '[') + std::string(100, ']');
  BOOST_TEST(input_error([&] { parse_yaml(deep, "n.yaml"); }).find("nesting too deep") !=
             std::string::npos);
}

// A mapping of 200k keys (the duplicate check once scanned all earlier keys: 80k took 21 s)
// parses in well under a second; the time budget is loose for slow CI machines.
BOOST_AUTO_TEST_CASE(many_keys_parse_in_n_log_n) {
  std::string text;
  for (int i = 0; i < 200000; ++i) text += "k" + std::to_string(i) + ": 1\n";
  const auto start = std::chrono::steady_clock::now();
  const YamlNode root = parse_yaml(text, "k.yaml");
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  BOOST_TEST(root.entries.size() == 200000u);
  BOOST_TEST(seconds < 5.0);
  BOOST_TEST(input_error([&] { parse_yaml(text + "k17: 2\n", "k.yaml"); }) ==
             "k.yaml:200001:1: duplicate key \"k17\" (first at line 18)");
}

// Aliases of aliases ("billion laughs") would build 10^9 nodes from 600 bytes.
BOOST_AUTO_TEST_CASE(rejects_alias_expansion_past_the_node_limit) {
  std::string text = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  std::string previous = "a";
  for (const char* level : {"b", "c", "d", "e", "f", "g", "h", "i"}) {
    text += std::string(level) + ": &" + level + " [";
    for (int i = 0; i < 10; ++i) text += (i ? ", *" : "*") + previous;
    text += "]\n";
    previous = level;
  }
  BOOST_TEST(input_error([&] { parse_yaml(text, "l.yaml"); }).find("document too large") !=
             std::string::npos);
  // A few aliases of a small node stay fine.
  BOOST_CHECK_NO_THROW(parse_yaml("a: &a {x: 1}\nb: *a\nc: *a\n", "l.yaml"));
}

// A scalar in a message is quoted by its first 64 bytes: a 10 MB value cannot flood stderr.
BOOST_AUTO_TEST_CASE(describe_quotes_a_bounded_prefix) {
  YamlNode node;
  node.text = std::string(1 << 20, 'y') + "\n";
  BOOST_TEST(node.describe() == "\"" + std::string(64, 'y') + "...\" (1048577 bytes)");
  node.text = "two\nlines";
  BOOST_TEST(node.describe() == "\"two\\nlines\"");
}

BOOST_AUTO_TEST_SUITE_END()
