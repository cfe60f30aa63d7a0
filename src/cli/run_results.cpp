// Reading runs back for `zerotune report`. Both formats become the same records: a .out line
// "eval epoch=1 eval_loss=2.77" is read as the metrics.jsonl record
// {"type":"eval","epoch":1,"eval_loss":2.77}, and one function takes the records in.
#include "zerotune/cli/run_results.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <numeric>

#include "zerotune/base/error.hpp"
#include "zerotune/runtime/key_value_line.hpp"

namespace zerotune::cli {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Reads typed fields of one record; errors name the file, line and field.
class Record {
 public:
  // where: "file:line"; type: the record's type, which prefixes field names in errors.
  Record(const json& object, std::string where, std::string type)
      : object_(object), where_(std::move(where)), type_(std::move(type)) {}

  // Numbers; null (how JSON writers spell NaN) reads as NaN.
  std::optional<double> number(const char* key) const {
    const json* v = get(key);
    if (!v) return std::nullopt;
    if (v->is_null()) return std::numeric_limits<double>::quiet_NaN();
    if (!v->is_number()) fail(key, "a number", *v);
    return v->get<double>();
  }

  std::optional<int> integer(const char* key) const {
    const json* v = get(key);
    if (!v) return std::nullopt;
    if (v->is_number_integer()) return v->get<int>();
    if (v->is_number() && std::floor(v->get<double>()) == v->get<double>()) {
      return static_cast<int>(v->get<double>());
    }
    fail(key, "an integer", *v);
  }

  std::optional<bool> boolean(const char* key) const {
    const json* v = get(key);
    if (!v) return std::nullopt;
    if (!v->is_boolean()) fail(key, "true or false", *v);
    return v->get<bool>();
  }

  std::optional<std::string> string(const char* key) const {
    const json* v = get(key);
    if (!v) return std::nullopt;
    if (!v->is_string()) fail(key, "a string", *v);
    return v->get<std::string>();
  }

  std::vector<double> numbers(const char* key) const {
    const json* v = get(key);
    if (!v) return {};
    if (!v->is_array()) fail(key, "a list of numbers", *v);
    std::vector<double> out;
    for (const json& item : *v) {
      if (!item.is_number()) fail(key, "a list of numbers", *v);
      out.push_back(item.get<double>());
    }
    return out;
  }

  [[noreturn]] void fail(const std::string& key, const char* expected, const json& got) const {
    throw InputError(where_ + ": " + type_ + "." + key + ": expected " + expected + ", got " +
                     got.dump());
  }

 private:
  const json* get(const char* key) const {
    auto it = object_.find(key);
    return it == object_.end() ? nullptr : &*it;
  }

  const json& object_;
  std::string where_;
  std::string type_;
};

// "dp" / "ddp" / "baseline" / "zero<N>...": the stage when the record does not give it.
std::optional<int> stage_from_strategy(const std::string& strategy) {
  if (strategy == "dp" || strategy == "ddp" || strategy == "baseline") return 0;
  if (strategy.size() >= 5 && strategy.starts_with("zero") && strategy[4] >= '0' &&
      strategy[4] <= '3') {
    return strategy[4] - '0';
  }
  return std::nullopt;
}

void take_config(const Record& r, RunResults& run) {
  if (auto s = r.string("strategy")) run.strategy = *s;
  run.zero_stage = r.integer("zero_stage");
  if (!run.zero_stage) run.zero_stage = stage_from_strategy(run.strategy);
  run.offload = r.boolean("offload");
  if (auto p = r.string("precision")) run.precision = *p;
  run.world_size = r.integer("world_size");
}

void take_step(const Record& r, RunResults& run) {
  if (auto loss = r.number("loss")) run.final_loss = loss;
  if (auto epoch = r.number("epoch")) run.last_epoch = std::max(run.last_epoch, *epoch);
  if (auto peak = r.number("mem_peak_gib")) {
    run.step_peak_mem_gib = std::max(run.step_peak_mem_gib.value_or(*peak), *peak);
  }
}

void take_eval(const Record& r, RunResults& run) {
  const double epoch = r.number("epoch").value_or(0.0);
  run.last_epoch = std::max(run.last_epoch, epoch);
  if (auto loss = r.number("eval_loss")) run.eval_loss_by_epoch[epoch] = *loss;
}

void take_summary(const Record& r, RunResults& run) {
  run.has_summary = true;
  run.train_runtime_s = r.number("train_runtime");
  run.train_samples_per_s = r.number("train_samples_per_second");
  run.summary_peak_mem_gib = r.number("peak_mem_gib");
  run.summary_epochs = r.number("epochs");
  run.epoch_time_s = r.numbers("epoch_time_s");
}

// Takes one record in; returns false for a type the report does not use.
bool take_record(const json& object, const std::string& where, RunResults& run) {
  auto type = object.find("type");
  if (type == object.end() || !type->is_string()) {
    throw InputError(where + ": expected a \"type\" field (config, step, eval, summary, ...)");
  }
  const std::string& t = type->get_ref<const std::string&>();
  const Record record(object, where, t);
  if (t == "config") {
    take_config(record, run);
  } else if (t == "step") {
    take_step(record, run);
  } else if (t == "eval") {
    take_eval(record, run);
  } else if (t == "summary") {
    take_summary(record, run);
  } else {
    return false;
  }
  return true;
}

// A key=value value as JSON: integer, number (nan and inf included), boolean, a list of
// numbers ("60.1,59.8"), else a string.
json value_as_json(const std::string& text) {
  int64_t i = 0;
  auto [iend, iec] = std::from_chars(text.data(), text.data() + text.size(), i);
  if (iec == std::errc() && iend == text.data() + text.size()) return i;
  double d = 0;
  auto [dend, dec] = std::from_chars(text.data(), text.data() + text.size(), d);
  if (dec == std::errc() && dend == text.data() + text.size()) return d;
  if (text == "true" || text == "false") return text == "true";
  if (text.find(',') != std::string::npos) {
    json list = json::array();
    size_t start = 0;
    for (;;) {
      const size_t comma = text.find(',', start);
      const json item = value_as_json(text.substr(start, comma - start));
      if (!item.is_number()) return text;
      list.push_back(item);
      if (comma == std::string::npos) return list;
      start = comma + 1;
    }
  }
  return text;
}

// The record a key=value line stands for; null for lines that are not the trainer's.
json key_value_record(const runtime::KeyValueLine& line) {
  std::string type;
  if (line.tag == "run") {
    type = "config";
  } else if (line.tag == "eval") {
    type = "eval";
  } else if (line.tag == "train_summary") {
    type = "summary";
  } else if (line.find("step") && line.find("loss")) {
    type = "step";
  } else {
    return nullptr;
  }
  json record = {{"type", type}};
  for (const auto& [key, value] : line.fields) record[key] = value_as_json(value);
  return record;
}

// The record a metrics.jsonl line holds; null for a blank line.
json jsonl_line_record(const std::string& line, const std::string& where) {
  if (line.find_first_not_of(" \t\r") == std::string::npos) return nullptr;
  json object;
  try {
    object = json::parse(line);
  } catch (const json::parse_error& e) {
    // e.what(): "[json.exception.parse_error.101] parse error at line 1, column 43: <detail>"
    const std::string what = e.what();
    const size_t detail = what.find(": ", what.find("parse error"));
    throw InputError(where + ":" + std::to_string(e.byte) + ": malformed JSON: " +
                     (detail == std::string::npos ? what : what.substr(detail + 2)));
  }
  if (!object.is_object()) throw InputError(where + ": expected a JSON object");
  return object;
}

// The record a .out line stands for; null for lines that are not the trainer's.
json out_line_record(const std::string& line, const std::string&) {
  const auto fields = runtime::parse_key_value_line(line);
  return fields ? key_value_record(*fields) : nullptr;
}

// Takes in the record of every line of a file, as `line_record(line, "file:line")` reads it;
// returns how many records the report used.
int read_records(const fs::path& path, RunResults& run,
                 json (*line_record)(const std::string& line, const std::string& where)) {
  std::ifstream in(path);
  if (!in) throw InputError(path.string() + ": cannot read");
  int used = 0;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    const std::string where = path.string() + ":" + std::to_string(number);
    const json record = line_record(line, where);
    if (!record.is_null()) used += take_record(record, where, run);
  }
  return used;
}

// "runs/zero3-77/" -> "zero3-77"; "runs/zero3-77/metrics.jsonl" -> "zero3-77"
std::string run_name(const fs::path& path, bool is_directory) {
  fs::path p = path.lexically_normal();
  if (!p.has_filename()) p = p.parent_path();
  if (is_directory) return p.filename().string();
  if (p.extension() == ".jsonl") return fs::absolute(p).parent_path().filename().string();
  return p.stem().string();
}

}  // namespace

std::optional<double> RunResults::time_per_epoch_s() const {
  if (!epoch_time_s.empty()) {
    return std::accumulate(epoch_time_s.begin(), epoch_time_s.end(), 0.0) /
           static_cast<double>(epoch_time_s.size());
  }
  if (!train_runtime_s) return std::nullopt;
  double epochs = summary_epochs.value_or(std::ceil(last_epoch));
  if (!(epochs > 0)) epochs = 1;
  return *train_runtime_s / epochs;
}

std::optional<double> RunResults::peak_mem_gib() const {
  return summary_peak_mem_gib ? summary_peak_mem_gib : step_peak_mem_gib;
}

RunResults read_run_results(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw InputError(path.string() + ": no such file or directory");
  const bool is_directory = fs::is_directory(path, ec);
  RunResults run;
  run.name = run_name(path, is_directory);
  const fs::path file = is_directory ? path / "metrics.jsonl" : path;
  if (is_directory && !fs::exists(file, ec)) {
    throw InputError(path.string() +
                     ": no metrics.jsonl (expected a run directory of zerotune train, or its "
                     ".out file)");
  }
  const bool jsonl = file.extension() == ".jsonl";
  const int used = read_records(file, run, jsonl ? jsonl_line_record : out_line_record);
  if (used == 0) {
    throw InputError(file.string() +
                     ": no run records found (expected metrics.jsonl records or the trainer's "
                     "key=value lines: run, step=..., eval, train_summary)");
  }
  return run;
}

}  // namespace zerotune::cli
