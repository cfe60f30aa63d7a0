#include "config_agreement.hpp"

#include <filesystem>
#include <sstream>

#include "zerotune/base/error.hpp"
#include "zerotune/comm/agreed_error.hpp"

namespace zerotune::cli {

namespace {

std::string key_of(const std::string& line) { return line.substr(0, line.find(':')); }

std::string file_size_line(const std::string& key, const std::string& path) {
  if (path.empty() || path == "synthetic") return key + ".bytes: -";
  std::error_code ec;
  const auto bytes = std::filesystem::file_size(path, ec);
  return key + ".bytes: " + (ec ? std::string("missing") : std::to_string(bytes));
}

}  // namespace

std::vector<std::string> config_fingerprint(const config::RunConfig& config) {
  std::vector<std::string> lines;
  std::istringstream yaml(config::to_yaml(config));
  std::string section;
  for (std::string line; std::getline(yaml, line);) {
    if (line.empty() || line[0] == '#') continue;
    if (line[0] != ' ') {
      section = line.substr(0, line.find(':'));
      continue;
    }
    const auto start = line.find_first_not_of(' ');
    lines.push_back(section + "." + line.substr(start));
  }
  lines.push_back(file_size_line("data.train_file", config.data.train_file));
  lines.push_back(file_size_line("data.eval_file", config.data.eval_file));
  // Each rank evaluates its share of every retention file: another file on one node would
  // leave the ranks in different collectives.
  for (size_t i = 0; i < config.data.retention_files.size(); ++i) {
    lines.push_back(file_size_line("data.retention_files[" + std::to_string(i) + "]",
                                   config.data.retention_files[i]));
  }
  return lines;
}

std::vector<std::string> differing_keys(const std::vector<std::string>& mine,
                                        const std::vector<std::string>& reference) {
  std::vector<std::string> keys;
  auto add = [&](const std::string& key) {
    for (const auto& k : keys)
      if (k == key) return;
    keys.push_back(key);
  };
  for (const auto& line : mine) {
    bool found = false;
    for (const auto& ref : reference) found = found || ref == line;
    if (!found) add(key_of(line));
  }
  for (const auto& ref : reference) {
    bool found = false;
    for (const auto& line : mine) found = found || ref == line;
    if (!found) add(key_of(ref));
  }
  return keys;
}

void check_ranks_agree_on_config(const config::RunConfig& config, comm::Communicator& comm) {
  const auto mine = config_fingerprint(config);
  std::string text;
  for (const auto& l : mine) text += l + "\n";
  const std::string reference_text = comm::broadcast_string(comm, text);
  std::string error;
  if (reference_text != text) {
    std::vector<std::string> reference;
    std::istringstream in(reference_text);
    for (std::string line; std::getline(in, line);) reference.push_back(line);
    std::string keys;
    for (const auto& k : differing_keys(mine, reference)) keys += (keys.empty() ? "" : ", ") + k;
    error = "rank " + std::to_string(comm.rank()) +
            " was started with another config than rank 0 (" + config.source + "): " + keys +
            " differ; every rank must run the same config and token files";
  }
  error = comm::agreed_error(comm, error);
  if (!error.empty()) throw UniformInputError(error);
}

}  // namespace zerotune::cli
