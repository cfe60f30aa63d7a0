// Writing a run config: the resolved config as YAML (config.yaml of a run directory) and the
// reference table of every field (docs/config-reference.md). Both walk the schema in
// run_config_fields.hpp.
#include <string>

#include "run_config_fields.hpp"
#include "zerotune/config/run_config.hpp"
#include "zerotune/config/yaml_scalar.hpp"

namespace zerotune::config {

namespace {

class YamlWriter {
 public:
  template <class S>
  void section(std::string_view name, std::string_view, S& s) {
    text += std::string(name) + ":\n";
    visit_fields(*this, s);
  }

  template <class T, class Check>
  void field(std::string_view key, T& value, std::string_view, const Check&) {
    // Written as a comment when derived: reading the file back must not find both set.
    const bool derived = key == "global_batch_size" && accumulation_given;
    text += std::string(derived ? "  # " : "  ") + std::string(key) + ": " + format_scalar(value) +
            (derived ? "  (micro_batch_size x world size x gradient_accumulation_steps)" : "") +
            "\n";
  }

  std::string text;
  bool accumulation_given = false;
};

// Table cells are on one line and may not hold a bare '|'.
std::string table_cell(std::string_view text) {
  std::string out;
  for (char c : text) out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out;
}

class ReferenceWriter {
 public:
  template <class S>
  void section(std::string_view name, std::string_view meaning, S& s) {
    text += "\n## " + std::string(name) + "\n\n" + std::string(meaning) + "\n\n";
    text += "| key | type | default | meaning |\n";
    text += "| --- | --- | --- | --- |\n";
    visit_fields(*this, s);
  }

  template <class T, class Check>
  void field(std::string_view key, T& value, std::string_view meaning, const Check& check) {
    text += "| `" + std::string(key) + "` | " + table_cell(check.describe(type_noun<T>())) +
            " | `" + table_cell(format_scalar(value)) + "` | " + table_cell(meaning) + " |\n";
  }

  std::string text;
};

}  // namespace

std::string to_yaml(const RunConfig& config) {
  YamlWriter writer;
  writer.text = "# zerotune run config resolved from " + config.source + ": every field.\n";
  writer.accumulation_given = config.train.gradient_accumulation_steps > 0;
  RunConfig fields = config;  // the visitors take mutable sections; writing changes nothing
  visit_sections(writer, fields);
  return writer.text;
}

std::string reference_markdown() {
  ReferenceWriter writer;
  writer.text =
      "# Run config reference\n\n"
      "A run config is a YAML file with the sections below (`zerotune train --config FILE`);\n"
      "`--set section.key=value` overrides one field from the command line: the value is\n"
      "read as YAML for numbers and booleans and taken literally for strings (`--set\n"
      "run.name=exp #2` is the name `exp #2`; a value wholly in quotes is a quoted YAML\n"
      "string, so `--set data.eval_file=\"\"` is empty). A list field takes a YAML sequence\n"
      "(`[a.h5, b.h5]` or one `- item` line each) and, with `--set`, comma-separated items\n"
      "(`--set data.retention_files=a.h5,b.h5`; nothing after `=` is the empty list) or a\n"
      "flow sequence. Every key is optional and falls back\n"
      "to its default; unknown sections and keys, values of the wrong type and values out of\n"
      "range are errors that name the line. Upper bounds (`<= N`) sit far above any real run\n"
      "and stop values that would exhaust memory or overflow before anything is allocated;\n"
      "a CPU run also checks the memory its model and batch need against the node's. The run\n"
      "directory's `config.yaml` holds the resolved config, every field included.\n\n"
      "This page is generated from the schema in `src/config/run_config_fields.hpp`\n"
      "(`reference_markdown()`); a test fails when the two differ.\n";
  RunConfig defaults;
  visit_sections(writer, defaults);
  writer.text += "\n## Rules between fields\n\n";
  for (const std::string& rule : cross_field_rules()) writer.text += "- " + rule + "\n";
  return writer.text;
}

}  // namespace zerotune::config
