// parse_run_config_with_deepspeed: the DeepSpeed file's settings beneath the YAML and --set.
#include <set>

#include "zerotune/base/error.hpp"
#include "zerotune/config/deepspeed_config.hpp"  // declares it
#include "zerotune/config/yaml_document.hpp"

namespace zerotune::config {

RunConfig parse_run_config_with_deepspeed(const std::string& yaml_text, const std::string& source,
                                          const std::string& deepspeed_path, int world_size,
                                          const std::vector<std::string>& overrides,
                                          std::vector<std::string>& notes,
                                          bool yaml_over_deepspeed) {
  const DeepSpeedMapping mapping = read_deepspeed_config(deepspeed_path, world_size);
  // "section.key" of every field the YAML sets (its own errors come from parse_run_config).
  std::set<std::string> in_yaml;
  if (yaml_over_deepspeed) {
    const YamlNode root = parse_yaml(yaml_text, source);
    for (const YamlEntry& section : root.entries) {
      for (const YamlEntry& field : section.value.entries) {
        in_yaml.insert(section.key + "." + field.key);
      }
    }
  }
  std::vector<std::string> all;
  std::set<std::string> from_file;
  for (const std::string& setting : mapping.settings) {
    const std::string key = setting.substr(0, setting.find('='));
    if (!in_yaml.count(key)) {
      all.push_back(setting);
      from_file.insert(key);
    }
  }
  for (const std::string& o : overrides) from_file.erase(o.substr(0, o.find('=')));
  all.insert(all.end(), overrides.begin(), overrides.end());
  notes.insert(notes.end(), mapping.notes.begin(), mapping.notes.end());
  try {
    return parse_run_config(yaml_text, source, all);
  } catch (const InputError& e) {
    // parse_run_config names the settings passed to it "--set section.key"; those that came
    // from the DeepSpeed file are named by it instead.
    const std::string message = e.what();
    const std::string prefix = "--set ";
    const size_t colon = message.find(':');
    if (message.rfind(prefix, 0) == 0 && colon != std::string::npos &&
        from_file.count(message.substr(prefix.size(), colon - prefix.size()))) {
      throw InputError(deepspeed_path + ": " + message.substr(prefix.size()));
    }
    throw;
  }
}

}  // namespace zerotune::config
