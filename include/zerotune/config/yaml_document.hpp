// A YAML document as a small tree of mappings, sequences and scalars, read with libyaml's event
// parser. Every node and every mapping key keeps its 1-based line and column, so that readers
// built on it (the run config) can name the line of a bad value. Anchors and aliases are
// resolved by copying; tags other than !!str are ignored (a scalar's type comes from its text).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace zerotune::config {

struct YamlEntry;

struct YamlNode {
  enum class Kind { kScalar, kMapping, kSequence };

  Kind kind = Kind::kScalar;
  int line = 1;    // 1-based, where the node starts
  int column = 1;  // 1-based
  // kScalar: the text, and whether it was written plain (unquoted, no !!str tag). Only plain
  // scalars are numbers, booleans or null; "8" and '8' are strings.
  std::string text;
  bool plain = true;
  std::vector<YamlNode> items;     // kSequence
  std::vector<YamlEntry> entries;  // kMapping, in document order, keys unique

  bool is_scalar() const { return kind == Kind::kScalar; }
  bool is_mapping() const { return kind == Kind::kMapping; }
  bool is_sequence() const { return kind == Kind::kSequence; }
  // A plain empty scalar, "~" or null / Null / NULL (YAML 1.2 core schema).
  bool is_null() const;
  // The value of `key` in a mapping; nullptr when absent or when this is not a mapping.
  const YamlNode* find(std::string_view key) const;
  // "a mapping", "a sequence" or the scalar text in double quotes: for "got ..." in messages.
  std::string describe() const;
};

struct YamlEntry {
  std::string key;
  int line = 1;  // of the key
  int column = 1;
  YamlNode value;
};

// Parses one YAML document. `source` names the text in errors. An empty stream gives a null
// scalar. Throws InputError "source:line:column: <problem>" for malformed YAML (libyaml's own
// message), duplicate keys, non-scalar keys, unknown aliases and more than one document.
YamlNode parse_yaml(std::string_view text, const std::string& source);

}  // namespace zerotune::config
