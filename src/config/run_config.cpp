// Reading a run config: YAML text -> RunConfig, strictly. Unknown sections and keys, values of
// the wrong type and values out of range are InputErrors that name the line (or the --set
// override) and the field. The schema itself is in run_config_fields.hpp.
#include "zerotune/config/run_config.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <type_traits>

#include "model_directory.hpp"
#include "run_config_fields.hpp"
#include "zerotune/base/error.hpp"
#include "zerotune/base/quoted.hpp"
#include "zerotune/config/yaml_document.hpp"
#include "zerotune/config/yaml_scalar.hpp"

namespace zerotune::config {

namespace {

// Where each explicitly set field came from, as the start of an error message about it:
// "train.lr" -> "configs/x.yaml:14: " or "--set train.lr: ". Fields left at their default are
// absent.
using Origins = std::map<std::string, std::string>;

constexpr std::string_view kOverrideOrigin = "--set ";

// A run config is a few kB; a file past this is a mistake (a data file, /dev/zero).
constexpr size_t kMaxConfigBytes = size_t{64} << 20;

// Collects the names a visitor is shown: section names, or one section's keys.
struct NameLister {
  std::vector<std::string_view> names;

  template <class S>
  void section(std::string_view name, std::string_view, S&) {
    names.push_back(name);
  }
  template <class T, class Check>
  void field(std::string_view key, T&, std::string_view, const Check&) {
    names.push_back(key);
  }
};

std::vector<std::string_view> section_names() {
  NameLister lister;
  RunConfig probe;
  visit_sections(lister, probe);
  return lister.names;
}

template <class S>
std::vector<std::string_view> field_names() {
  NameLister lister;
  S probe;
  visit_fields(lister, probe);
  return lister.names;
}

bool contains(const std::vector<std::string_view>& names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

std::string join(const std::vector<std::string_view>& names) {
  std::string out;
  for (std::string_view name : names) out += (out.empty() ? "" : ", ") + std::string(name);
  return out;
}

[[noreturn]] void throw_unknown(const std::string& where, const std::string& path, const char* what,
                                const std::vector<std::string_view>& known) {
  throw InputError(where + path + ": unknown " + what + " (known: " + join(known) + ")");
}

// Reads one field's value; throws "<where><path>: expected <what the check accepts>, got ...".
template <class T, class Check>
void read_field(const YamlNode& node, T& value, const Check& check, const std::string& where,
                const std::string& path) {
  T parsed{};
  if (read_scalar(node, parsed) && check.accepts(parsed)) {
    value = parsed;
    return;
  }
  std::string got = node.describe();
  if constexpr (std::is_same_v<T, std::vector<std::string>>) {
    // A list is named by its first item at fault: "got a mapping as item 2".
    for (size_t i = 0; node.is_sequence() && i < node.items.size(); ++i) {
      std::string item;
      if (!read_scalar(node.items[i], item) || !check.accepts(std::vector<std::string>{item})) {
        got = node.items[i].describe() + " as item " + std::to_string(i + 1);
        break;
      }
    }
  } else if constexpr (!std::is_same_v<T, std::string>) {
    if (node.is_scalar() && !node.plain) got += " (quoted, so a string)";
  }
  throw InputError(where + path + ": expected " + with_article(check.describe(type_noun<T>())) +
                   ", got " + got);
}

// Visitor: reads every section of a YAML document into the config.
class DocumentReader {
 public:
  DocumentReader(const YamlNode& root, const std::string& source, Origins& origins)
      : root_(root), source_(source), origins_(origins) {
    if (root.is_null()) return;
    const auto known = section_names();
    if (!root.is_mapping()) {
      throw InputError(at(root.line) + "expected a mapping of sections (" + join(known) +
                       "), got " + root.describe());
    }
    for (const YamlEntry& entry : root.entries) {
      if (!contains(known, entry.key)) throw_unknown(at(entry.line), entry.key, "section", known);
    }
  }

  template <class S>
  void section(std::string_view name, std::string_view, S& s) {
    const YamlNode* node = root_.find(name);
    if (!node || node->is_null()) return;  // "zero:" with nothing under it: all defaults
    section_ = std::string(name);
    if (!node->is_mapping()) {
      throw InputError(at(node->line) + section_ + ": expected a mapping of keys, got " +
                       node->describe());
    }
    const auto known = field_names<S>();
    for (const YamlEntry& entry : node->entries) {
      if (!contains(known, entry.key)) {
        throw_unknown(at(entry.line), section_ + "." + entry.key, "key", known);
      }
    }
    mapping_ = node;
    visit_fields(*this, s);
  }

  template <class T, class Check>
  void field(std::string_view key, T& value, std::string_view, const Check& check) {
    for (const YamlEntry& entry : mapping_->entries) {
      if (entry.key != key) continue;
      const std::string path = section_ + "." + entry.key;
      read_field(entry.value, value, check, at(entry.line), path);
      origins_[path] = at(entry.line);
    }
  }

 private:
  std::string at(int line) const { return source_ + ":" + std::to_string(line) + ": "; }

  const YamlNode& root_;
  const std::string& source_;
  Origins& origins_;
  std::string section_;
  const YamlNode* mapping_ = nullptr;
};

// A --set value as a node of type T. For a string field the value is the literal text given
// (a job name such as `exp #2`, `[ablation]`, `a: b` or `null` stays what it is), unless it is
// wholly in YAML quotes ("..." or '...'), which are read as YAML (so "" is the empty string).
// Other types read the text as a YAML scalar, as in a file.
// A list field takes comma-separated items, each taken literally with the spaces around it
// dropped (`--set data.retention_files=a.h5,b.h5`; nothing after `=`: the empty list), or a
// YAML flow sequence (`[a.h5, "b,c.h5"]`).
template <class T>
YamlNode override_value(const std::string& text, const std::string& source) {
  if constexpr (std::is_same_v<T, std::vector<std::string>>) {
    auto trim = [](std::string_view s) {
      const size_t first = s.find_first_not_of(" \t");
      if (first == std::string_view::npos) return std::string();
      return std::string(s.substr(first, s.find_last_not_of(" \t") - first + 1));
    };
    const std::string whole = trim(text);
    if (!whole.starts_with('[')) {
      YamlNode list;
      list.kind = YamlNode::Kind::kSequence;
      for (size_t start = 0; !whole.empty() && start <= whole.size();) {
        const size_t comma = std::min(whole.find(',', start), whole.size());
        YamlNode item;
        item.text = trim(std::string_view(whole).substr(start, comma - start));
        item.plain = false;
        list.items.push_back(std::move(item));
        start = comma + 1;
      }
      return list;
    }
  }
  if constexpr (std::is_same_v<T, std::string>) {
    const bool quoted_yaml = text.size() >= 2 && (text.front() == '"' || text.front() == '\'') &&
                             text.back() == text.front();
    if (!quoted_yaml) {
      YamlNode literal;
      literal.text = text;
      literal.plain = false;
      return literal;
    }
  }
  return parse_yaml(text, source);
}

// Visitor: applies one "section.key=value" override.
class OverrideApplier {
 public:
  OverrideApplier(std::string section, std::string key, std::string value, Origins& origins)
      : section_(std::move(section)),
        key_(std::move(key)),
        value_(std::move(value)),
        origins_(origins) {}

  template <class S>
  void section(std::string_view name, std::string_view, S& s) {
    if (name != section_) return;
    found_section_ = true;
    const auto known = field_names<S>();
    if (!contains(known, key_)) throw_unknown(std::string(kOverrideOrigin), path(), "key", known);
    visit_fields(*this, s);
  }

  template <class T, class Check>
  void field(std::string_view key, T& value, std::string_view, const Check& check) {
    if (key != key_) return;
    const YamlNode node = override_value<T>(value_, std::string(kOverrideOrigin) + path());
    read_field(node, value, check, std::string(kOverrideOrigin), path());
    origins_[path()] = std::string(kOverrideOrigin) + path() + ": ";
  }

  bool found_section() const { return found_section_; }

 private:
  std::string path() const { return section_ + "." + key_; }

  std::string section_;
  std::string key_;
  std::string value_;
  Origins& origins_;
  bool found_section_ = false;
};

// "train.lr=3e-5" (a leading "--set " or "--set=" is allowed): the value is read as a YAML
// scalar with the same checks as in a file.
void apply_override(const std::string& text, RunConfig& config, Origins& origins) {
  std::string_view spec = text;
  for (std::string_view prefix : {"--set=", "--set "}) {
    if (spec.starts_with(prefix)) spec.remove_prefix(prefix.size());
  }
  const size_t eq = spec.find('=');
  const size_t dot = spec.find('.');
  if (eq == std::string_view::npos || dot == std::string_view::npos || dot > eq || dot == 0 ||
      dot + 1 == eq) {
    throw InputError(std::string(kOverrideOrigin) + quote_value(spec) +
                     ": expected section.key=value, e.g. --set train.lr=3e-5");
  }
  const std::string section(spec.substr(0, dot));
  const std::string key(spec.substr(dot + 1, eq - dot - 1));
  OverrideApplier applier(section, key, std::string(spec.substr(eq + 1)), origins);
  visit_sections(applier, config);
  if (!applier.found_section()) {
    throw_unknown(std::string(kOverrideOrigin), section + "." + key, "section", section_names());
  }
}

// The start of an error about a rule between fields: where one of them was set, an override
// first (the likelier culprit), else the file line, else just the source.
std::string where_set(const RunConfig& config, const Origins& origins,
                      std::initializer_list<const char*> paths) {
  for (bool want_override : {true, false}) {
    for (const char* path : paths) {
      auto it = origins.find(path);
      if (it != origins.end() && it->second.starts_with(kOverrideOrigin) == want_override) {
        return it->second;
      }
    }
  }
  return config.source + ": ";
}

// 0.25 rather than std::to_string's 0.250000.
std::string shortest(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

void check_cross_fields(const RunConfig& c, const Origins& origins) {
  if (c.model.n_embd % c.model.n_head != 0) {
    throw InputError(where_set(c, origins, {"model.n_embd", "model.n_head"}) + "model.n_embd " +
                     std::to_string(c.model.n_embd) + " is not divisible by model.n_head " +
                     std::to_string(c.model.n_head));
  }
  if (c.train.gradient_accumulation_steps > 0 && origins.count("train.global_batch_size")) {
    throw InputError(
        where_set(c, origins, {"train.gradient_accumulation_steps", "train.global_batch_size"}) +
        "train.global_batch_size and train.gradient_accumulation_steps are both set: set one of "
        "them (the global batch is micro_batch_size x world size x gradient accumulation steps)");
  }
  if (c.train.gradient_accumulation_steps == 0 &&
      c.train.global_batch_size % c.train.micro_batch_size != 0) {
    throw InputError(where_set(c, origins, {"train.global_batch_size", "train.micro_batch_size"}) +
                     "train.global_batch_size " + std::to_string(c.train.global_batch_size) +
                     " is not divisible by train.micro_batch_size " +
                     std::to_string(c.train.micro_batch_size));
  }
  if (c.train.eval_strategy == "steps" && c.train.eval_steps < 1) {
    throw InputError(where_set(c, origins, {"train.eval_steps", "train.eval_strategy"}) +
                     "train.eval_strategy steps needs train.eval_steps >= 1");
  }
  if (c.zero.offload && c.zero.stage == 0) {
    const bool named_device = origins.count("zero.offload_optimizer") > 0;
    throw InputError(
        where_set(c, origins,
                  {named_device ? "zero.offload_optimizer" : "zero.offload", "zero.stage"}) +
        (named_device ? "zero.offload_optimizer " + c.zero.offload_optimizer
                      : "zero.offload true") +
        " needs zero.stage 1, 2 or 3 (offload moves the optimizer shard to the " +
        (c.zero.offload_optimizer == "nvme" ? "NVMe" : "CPU") + "; stage 0 has no shard)");
  }
  if (c.zero.reduce_dtype != "fp32" && c.zero.reduce_dtype != c.train.precision) {
    throw InputError(where_set(c, origins, {"zero.reduce_dtype", "train.precision"}) +
                     "zero.reduce_dtype " + c.zero.reduce_dtype + " with train.precision " +
                     c.train.precision +
                     ": gradient collectives run in fp32 or in the compute dtype");
  }
  if (c.zero.offload_param != "none" && c.zero.stage != 3) {
    throw InputError(where_set(c, origins, {"zero.offload_param", "zero.stage"}) +
                     "zero.offload_param " + c.zero.offload_param +
                     " needs zero.stage 3 (only stage 3 shards the parameters)");
  }
  if (c.zero.offload_param != "none" && !c.zero.offload) {
    throw InputError(where_set(c, origins, {"zero.offload_param", "zero.offload_optimizer"}) +
                     "zero.offload_param " + c.zero.offload_param +
                     " needs zero.offload_optimizer cpu or nvme (the update then writes the "
                     "parameters where they live)");
  }
  if (c.zero.offload_optimizer_ratio < 1.0 &&
      (!c.zero.offload || c.zero.offload_param != "none" || c.zero.offload_optimizer_ratio <= 0)) {
    throw InputError(
        where_set(c, origins,
                  {"zero.offload_optimizer_ratio", "zero.offload_optimizer", "zero.offload_param"}) +
        "zero.offload_optimizer_ratio " + shortest(c.zero.offload_optimizer_ratio) +
        " needs zero.offload_optimizer cpu or nvme, zero.offload_param none and a ratio above 0 "
        "(0 is offload_optimizer: none)");
  }
  if ((c.zero.offload_optimizer == "nvme" || c.zero.offload_param == "nvme") &&
      c.zero.nvme_path.empty()) {
    throw InputError(
        where_set(c, origins, {"zero.nvme_path", "zero.offload_optimizer", "zero.offload_param"}) +
        "zero.nvme_path: an nvme offload needs a folder for its files (a local NVMe mount)");
  }
}

// `zero.offload` (the older switch) and `zero.offload_optimizer` name one choice: whichever
// was set decides; an override beats the file; both set in the same place must agree.
void reconcile_offload(RunConfig& c, const Origins& origins) {
  auto origin = [&](const char* path) -> const std::string* {
    auto it = origins.find(path);
    return it == origins.end() ? nullptr : &it->second;
  };
  const std::string* flag = origin("zero.offload");
  const std::string* device = origin("zero.offload_optimizer");
  const bool device_offloads = c.zero.offload_optimizer != "none";
  if (flag && device && c.zero.offload != device_offloads) {
    const bool flag_overridden = flag->starts_with(kOverrideOrigin);
    if (flag_overridden == device->starts_with(kOverrideOrigin)) {
      throw InputError(*flag + "zero.offload " + (c.zero.offload ? "true" : "false") +
                       " disagrees with zero.offload_optimizer " + c.zero.offload_optimizer +
                       "; set only zero.offload_optimizer (none, cpu or nvme)");
    }
    if (!flag_overridden) flag = nullptr;  // the override of offload_optimizer decides
  }
  if (flag && (!device || c.zero.offload != device_offloads)) {
    c.zero.offload_optimizer = c.zero.offload ? "cpu" : "none";
  }
  c.zero.offload = c.zero.offload_optimizer != "none";
}

}  // namespace

std::vector<std::string> cross_field_rules() {
  return {"`model.n_embd` is divisible by `model.n_head`.",
          "`train.global_batch_size` is divisible by `train.micro_batch_size`, and at launch by "
          "`train.micro_batch_size` x world size (the quotient is the number of gradient "
          "accumulation steps).",
          "At most one of `train.global_batch_size` and `train.gradient_accumulation_steps` is "
          "set; with the latter, the global batch is `train.micro_batch_size` x world size x "
          "`train.gradient_accumulation_steps`.",
          "`train.eval_strategy: steps` needs `train.eval_steps` >= 1.",
          "`zero.reduce_dtype` is `fp32` or equals `train.precision`.",
          "`zero.offload: true` is `zero.offload_optimizer: cpu`; both set must agree.",
          "`zero.offload_optimizer` other than `none` needs `zero.stage` 1, 2 or 3.",
          "`zero.offload_param` other than `none` needs `zero.stage` 3 and "
          "`zero.offload_optimizer` other than `none`.",
          "`zero.offload_optimizer_ratio` below 1 needs `zero.offload_optimizer` other than "
          "`none`, `zero.offload_param: none`, and is above 0.",
          "An `nvme` offload needs `zero.nvme_path`."};
}

RunConfig parse_run_config(const std::string& yaml_text, const std::string& source,
                           const std::vector<std::string>& overrides) {
  RunConfig config;
  config.source = source;
  Origins origins;
  const YamlNode root = parse_yaml(yaml_text, source);
  DocumentReader reader(root, source, origins);
  visit_sections(reader, config);
  for (const std::string& override_text : overrides) {
    apply_override(override_text, config, origins);
  }
  adopt_model_directory_shape(config.model, origins);
  reconcile_offload(config, origins);
  check_cross_fields(config, origins);
  return config;
}

RunConfig load_run_config(const std::string& path, const std::vector<std::string>& overrides) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    throw InputError(path + ": is a directory, expected a YAML config file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot read config file: " + std::strerror(errno));
  // Read at most one byte past the limit: /dev/zero or a multi-GB file is not a config.
  std::string text;
  char block[65536];
  while (text.size() <= kMaxConfigBytes && in.read(block, sizeof(block)).gcount() > 0) {
    text.append(block, static_cast<size_t>(in.gcount()));
  }
  if (in.bad()) throw InputError(path + ": cannot read config file: " + std::strerror(errno));
  if (text.size() > kMaxConfigBytes) {
    throw InputError(path + ": larger than " + std::to_string(kMaxConfigBytes >> 20) +
                     " MiB, too large for a run config");
  }
  return parse_run_config(text, path, overrides);
}

std::string origin_of(const RunConfig& config, const std::vector<std::string>& overrides,
                      const std::string& key) {
  std::string origin = config.source;
  for (std::string o : overrides) {  // the last override of the key wins, as when applied
    for (const char* prefix : {"--set ", "--set="}) {
      if (o.rfind(prefix, 0) == 0) o = o.substr(std::string(prefix).size());
    }
    if (o.rfind(key + "=", 0) == 0) origin = "--set " + key;
  }
  return origin;
}

int64_t grad_accum_steps(const RunConfig& config, int world_size) {
  if (world_size < 1) {
    throw std::invalid_argument("grad_accum_steps: world size " + std::to_string(world_size));
  }
  if (config.train.gradient_accumulation_steps > 0) return config.train.gradient_accumulation_steps;
  // A product past int64 is larger than any global batch, so not a divisor of it (and never a
  // division by the wrapped value).
  int64_t per_step = 0;
  const bool overflow =
      __builtin_mul_overflow(config.train.micro_batch_size, int64_t{world_size}, &per_step);
  if (overflow || per_step <= 0 || config.train.global_batch_size % per_step != 0) {
    throw InputError(config.source + ": train.global_batch_size " +
                     std::to_string(config.train.global_batch_size) +
                     " is not divisible by micro_batch_size " +
                     std::to_string(config.train.micro_batch_size) + " x world size " +
                     std::to_string(world_size));
  }
  return config.train.global_batch_size / per_step;
}

void resolve_global_batch(RunConfig& config, int world_size) {
  if (config.train.gradient_accumulation_steps > 0) {
    config.train.global_batch_size =
        config.train.micro_batch_size * world_size * config.train.gradient_accumulation_steps;
  }
}

}  // namespace zerotune::config
