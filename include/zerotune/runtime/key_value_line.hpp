// The key=value log lines rank 0 writes to the .out file, read back:
//   step=120/500 epoch=1 loss=2.8412 lr=4.2e-05 ...
//   eval epoch=1 eval_loss=2.7710 eval_ppl=15.97
//   train_summary train_runtime=61.2 train_samples_per_second=480.1 ...
// Fields are separated by whitespace; a key is letters, digits, '_', '.' or '-'; a value runs
// to the next whitespace, or is double-quoted ("a b", with \" and \\ escapes). The tag is the
// word just before the first field ("eval", "train_summary"; "" when the line starts with a
// field), so that a logger prefix such as "[2024-05-01 12:00:00] [info] " does not matter.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace zerotune::runtime {

struct KeyValueLine {
  std::string tag;
  std::vector<std::pair<std::string, std::string>> fields;  // in line order

  // The value of the first field named `key`; nullptr when there is none.
  const std::string* find(std::string_view key) const;
};

// nullopt when the line has no key=value field (or a quoted value is not closed).
std::optional<KeyValueLine> parse_key_value_line(std::string_view line);

}  // namespace zerotune::runtime
