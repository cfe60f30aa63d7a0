// Typed reading and writing of YAML scalars (YAML 1.2 core schema, strict): what a plain
// scalar means as an integer, a number, a boolean, and how to write a value so that reading
// it back gives the same value.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "zerotune/config/yaml_document.hpp"

namespace zerotune::config {

// Each returns false, leaving `out` alone, when the node is not a scalar of that type.
// Integers and numbers are plain decimal scalars ("8", "-3", "3e-5", "2.0", ".5"); quoted
// scalars, hex, .inf and .nan are not. Booleans are plain true / True / TRUE / false / ...
// A string is any scalar; null (empty, "~", "null") reads as "".
bool read_scalar(const YamlNode& node, int64_t& out);
bool read_scalar(const YamlNode& node, uint64_t& out);
bool read_scalar(const YamlNode& node, double& out);
bool read_scalar(const YamlNode& node, bool& out);
bool read_scalar(const YamlNode& node, std::string& out);
// A list of strings: a sequence of scalars (block `- a` lines or flow `[a, b]`); null reads as
// the empty list. A lone scalar, a mapping or a sequence holding one is not a list of strings.
bool read_scalar(const YamlNode& node, std::vector<std::string>& out);

// The value as a YAML scalar that read_scalar reads back exactly: doubles in the shortest form
// that round-trips ("0.0003", "1e-08", "2.0"), strings plain where that cannot be misread as
// another type, else double-quoted with escapes.
std::string format_scalar(int64_t value);
std::string format_scalar(uint64_t value);
std::string format_scalar(double value);
std::string format_scalar(bool value);
std::string format_scalar(const std::string& value);
// A flow sequence "[a.h5, \"b,c.h5\"]" ("[]" when empty), each item as format_scalar writes
// it.
std::string format_scalar(const std::vector<std::string>& values);

}  // namespace zerotune::config
