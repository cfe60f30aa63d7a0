// Command-line options of the data commands: "--name value", "--name=value" and flags.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace zerotune::cli {

class DataCommandOptions {
 public:
  // `command` names the command in errors ("prep squad"). InputError for an unknown option, a
  // missing value, a repeated option or a stray positional argument.
  DataCommandOptions(const std::vector<std::string>& args, std::string command,
                     const std::set<std::string>& valued, const std::set<std::string>& flags);

  bool help() const { return help_; }
  bool flag(const std::string& name) const { return flags_.count(name) > 0; }
  std::optional<std::string> value(const std::string& name) const;
  std::string required(const std::string& name) const;
  // A positive integer of at most `max` (default when absent); InputError naming the option
  // otherwise.
  int64_t positive_int(const std::string& name, int64_t default_value,
                       int64_t max = INT64_MAX) const;

 private:
  std::string command_;
  bool help_ = false;
  std::map<std::string, std::string> values_;
  std::set<std::string> flags_;
};

}  // namespace zerotune::cli
