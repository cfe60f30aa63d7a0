#include "data_command_options.hpp"

#include <charconv>

#include "zerotune/base/error.hpp"
#include "zerotune/base/quoted.hpp"

namespace zerotune::cli {

DataCommandOptions::DataCommandOptions(const std::vector<std::string>& args, std::string command,
                                       const std::set<std::string>& valued,
                                       const std::set<std::string>& flags)
    : command_(std::move(command)) {
  const std::string see = " (see zerotune " + command_ + " --help)";
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--help" || arg == "-h") {
      help_ = true;
      continue;
    }
    if (!arg.starts_with("--")) {
      throw InputError(command_ + ": unexpected argument " + quote_value(arg) + see);
    }
    std::string name = arg;
    std::optional<std::string> inline_value;
    if (const size_t eq = arg.find('='); eq != std::string::npos) {
      name = arg.substr(0, eq);
      inline_value = arg.substr(eq + 1);
    }
    if (flags.count(name)) {
      if (inline_value) throw InputError(command_ + ": " + name + " takes no value" + see);
      flags_.insert(name);
    } else if (valued.count(name)) {
      std::string value;
      if (inline_value) {
        value = *inline_value;
      } else if (i + 1 < args.size() && !args[i + 1].starts_with("--")) {
        value = args[++i];
      } else {
        throw InputError(command_ + ": " + name + " needs a value" + see);
      }
      if (!values_.emplace(name, value).second) {
        throw InputError(command_ + ": " + name + " is given twice");
      }
    } else {
      throw InputError(command_ + ": unknown option " + name + see);
    }
  }
}

std::optional<std::string> DataCommandOptions::value(const std::string& name) const {
  const auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::string DataCommandOptions::required(const std::string& name) const {
  const auto found = value(name);
  if (!found || found->empty()) {
    throw InputError(command_ + ": " + name + " is required (see zerotune " + command_ +
                     " --help)");
  }
  return *found;
}

int64_t DataCommandOptions::positive_int(const std::string& name, int64_t default_value,
                                         int64_t max) const {
  const auto text = value(name);
  if (!text) return default_value;
  int64_t result = 0;
  const auto [end, error] = std::from_chars(text->data(), text->data() + text->size(), result);
  if (error != std::errc() || end != text->data() + text->size() || result <= 0 || result > max) {
    const std::string bound = max == INT64_MAX ? "" : " <= " + std::to_string(max);
    throw InputError(command_ + ": " + name + ": expected a positive integer" + bound + ", got " +
                     quote_value(*text));
  }
  return result;
}

}  // namespace zerotune::cli
