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
#include "zerotune/train/run_figures.hpp"

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
    const auto v = integer64(key);
    return v ? std::optional<int>(static_cast<int>(*v)) : std::nullopt;
  }

  std::optional<int64_t> integer64(const char* key) const {
    const json* v = get(key);
    if (!v) return std::nullopt;
    if (v->is_number_integer()) return v->get<int64_t>();
    if (v->is_number() && std::floor(v->get<double>()) == v->get<double>()) {
      return static_cast<int64_t>(v->get<double>());
    }
    fail(key, "an integer", *v);
  }

  // A duration as the .out prints it ("1:02:03"), or seconds.
  std::optional<double> duration(const char* key) const {
    const json* v = get(key);
    if (!v) return std::nullopt;
    if (v->is_number()) return v->get<double>();
    if (v->is_string()) {
      if (auto d = train::parse_duration(v->get<std::string>())) return d;
    }
    fail(key, "a duration H:MM:SS", *v);
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

  // A list of numbers; a single number is a list of one (the .out prints "60.1" for one epoch).
  std::vector<double> numbers(const char* key) const {
    const json* v = get(key);
    if (!v) return {};
    if (v->is_number()) return {v->get<double>()};
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

// Each config record starts a segment (one start of the run).
void take_config(const Record& r, RunResults& run) {
  RunSegment seg;
  if (auto s = r.string("strategy")) seg.strategy = *s;
  seg.zero_stage = r.integer("zero_stage");
  if (!seg.zero_stage) seg.zero_stage = stage_from_strategy(seg.strategy);
  seg.offload = r.boolean("offload");
  if (auto s = r.string("offload_optimizer")) seg.offload_optimizer = *s;
  if (auto s = r.string("offload_param")) seg.offload_param = *s;
  seg.offload_optimizer_ratio = r.number("offload_optimizer_ratio");
  if (auto p = r.string("precision")) seg.precision = *p;
  seg.world_size = r.integer("world_size");
  seg.micro_batch_size = r.integer64("micro_batch_size");
  seg.global_batch_size = r.integer64("global_batch_size");
  run.segments.push_back(seg);

  if (auto p = r.integer64("parameters")) run.parameters = p;
  if (auto p = r.integer64("params")) run.parameters = p;  // the .out's run line
  std::string shape;
  for (const char* key : {"n_layer", "n_head", "n_embd", "seq_len", "vocab_size"}) {
    if (auto v = r.integer64(key)) {
      shape += (shape.empty() ? "" : " ") + std::string(key) + "=" + std::to_string(*v);
    }
  }
  if (!shape.empty()) run.model_shape = shape;
  if (auto f = r.string("train_file")) run.train_file = *f;
  if (auto t = r.integer64("data_seq_len")) run.data_seq_len = t;
  if (auto n = r.integer64("steps_per_epoch")) run.steps_per_epoch = n;
}

void take_step(const Record& r, RunResults& run) {
  const auto step = r.integer64("step");
  const auto loss = r.number("loss");
  if (loss) run.final_loss = loss;
  if (step && loss) run.loss_by_step[*step] = *loss;
  if (step) run.last_step = step;
  if (auto tps = r.number("tokens_per_s"); tps && step) run.tokens_per_s_by_step[*step] = *tps;
  if (auto sps = r.number("samples_per_s")) run.step_samples_per_s.push_back(*sps);
  if (auto epoch = r.number("epoch")) run.last_epoch = std::max(run.last_epoch, *epoch);
  if (auto peak = r.number("mem_peak_gib")) {
    run.step_peak_mem_gib = std::max(run.step_peak_mem_gib.value_or(*peak), *peak);
  }
  if (auto t = r.number("train_time_s")) {
    run.step_train_time_s = t;
    run.step_train_steps = r.integer64("train_steps");
    run.step_train_samples = r.integer64("train_samples");
    run.step_train_tokens = r.integer64("train_tokens");
  } else if (auto elapsed = r.duration("elapsed")) {
    run.step_train_time_s = elapsed;
    run.step_train_steps = step;
  }
}

void take_eval(const Record& r, RunResults& run) {
  const double epoch = r.number("epoch").value_or(0.0);
  run.last_epoch = std::max(run.last_epoch, epoch);
  const auto loss = r.number("eval_loss");
  if (loss) run.eval_loss_by_epoch[epoch] = *loss;
  if (auto sps = r.number("eval_samples_per_second")) {
    run.eval_samples_per_s_by_epoch[epoch] = *sps;
  }
  // The .out's eval line has no step: it follows the last step line.
  const auto step = r.integer64("step");
  if (loss && (step || run.last_step)) run.eval_loss_by_step[step.value_or(*run.last_step)] = *loss;
}

// metrics.jsonl names the figures retention/<file>/<figure>; a .out line is read into the
// same names (key_value_record).
void take_retention(const Record& r, RunResults& run) {
  const auto file = r.string("file");
  if (!file) return;
  const std::string prefix = "retention/" + *file + "/";
  auto number = [&](const char* figure) { return r.number((prefix + figure).c_str()); };
  RetentionFigures& f = run.retention[*file];
  const double epoch = r.number("epoch").value_or(0.0);
  const auto loss = number("eval_loss");
  if (epoch == 0) {  // before the first step
    if (loss) f.before_eval_loss = loss;
    if (auto ppl = number("eval_ppl")) f.before_eval_ppl = ppl;
    return;
  }
  if (loss) f.eval_loss_by_epoch[epoch] = *loss;
  if (auto pct = number("retention_pct")) f.retention_pct_by_epoch[epoch] = *pct;
  // A resumed run's .out may lack the line from before the first step: the later ones carry it.
  if (auto before = number("before_eval_loss"); before && !f.before_eval_loss) {
    f.before_eval_loss = before;
  }
  if (auto before = number("before_eval_ppl"); before && !f.before_eval_ppl) {
    f.before_eval_ppl = before;
  }
}

void take_epoch(const Record& r, RunResults& run) {
  const auto epoch = r.integer64("epoch");
  const auto seconds = r.number("epoch_time_s");
  if (epoch && seconds) run.epoch_time_by_epoch[*epoch] = *seconds;
}

void take_summary(const Record& r, RunResults& run) {
  run.has_summary = true;
  run.train_runtime_s = r.number("train_runtime");
  run.train_samples_per_s = r.number("train_samples_per_second");
  run.train_tokens_per_s = r.number("train_tokens_per_second");
  run.summary_peak_mem_gib = r.number("peak_mem_gib");
  run.summary_epochs = r.number("epochs");
  run.summary_global_step = r.integer64("global_step");
  if (auto n = r.integer64("steps_per_epoch")) run.steps_per_epoch = n;
  if (auto loss = r.number("final_loss")) run.final_loss = loss;
  run.summary_epoch_time_s = r.numbers("epoch_time_s");
  run.summary_time_per_epoch_estimate_s = r.number("time_per_epoch_s_estimated");
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
  } else if (t == "epoch") {
    take_epoch(record, run);
  } else if (t == "retention") {
    take_retention(record, run);
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
  } else if (line.tag == "epoch_end") {
    type = "epoch";
  } else if (line.tag == "retention" && line.find("file")) {
    type = "retention";
  } else if (line.find("step") && line.find("loss")) {
    type = "step";
  } else {
    return nullptr;
  }
  json record = {{"type", type}};
  for (const auto& [key, value] : line.fields) record[key] = value_as_json(value);
  // "retention file=wiki eval_loss=3.2": the figures as metrics.jsonl names them.
  if (type == "retention") {
    const std::string file = *line.find("file");
    record["file"] = file;  // a string even where the name reads as a number
    const std::string prefix = "retention/" + file + "/";
    for (const auto& [key, value] : line.fields) {
      if (key != "file" && key != "step" && key != "epoch") {
        record[prefix + key] = record[key];
        record.erase(key);
      }
    }
  }
  // The step line's "step=120/500": step 120 of total_steps 500.
  if (type == "step" && record["step"].is_string()) {
    const std::string text = record["step"].get<std::string>();
    const size_t slash = text.find('/');
    if (slash != std::string::npos) {
      record["step"] = value_as_json(text.substr(0, slash));
      record["total_steps"] = value_as_json(text.substr(slash + 1));
    }
  }
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

// The highest allocated_bytes and reserved_bytes over memory/rank-*.csv (memory_monitor.hpp
// columns: time_s,step,device_used_bytes,allocated_bytes,reserved_bytes). Unreadable rows
// are skipped: the monitor may have been killed mid-line.
void read_memory_peaks(const fs::path& dir, RunResults& run) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return;
  constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with("rank-") || entry.path().extension() != ".csv") continue;
    std::ifstream in(entry.path());
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::vector<double> cols;
      size_t start = 0;
      for (;;) {
        const size_t comma = line.find(',', start);
        const std::string cell = line.substr(start, comma - start);
        double v = 0;
        auto [end, e] = std::from_chars(cell.data(), cell.data() + cell.size(), v);
        if (e != std::errc() || end != cell.data() + cell.size()) break;
        cols.push_back(v);
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
      if (cols.size() != 5) continue;
      run.csv_peak_alloc_gib = std::max(run.csv_peak_alloc_gib.value_or(0.0), cols[3] / kGiB);
      run.csv_peak_reserved_gib = std::max(run.csv_peak_reserved_gib.value_or(0.0), cols[4] / kGiB);
    }
  }
}

}  // namespace

std::optional<double> RunResults::train_time_s() const {
  return train_runtime_s ? train_runtime_s : step_train_time_s;
}

std::optional<double> RunResults::time_per_epoch_s(bool* estimated) const {
  std::vector<double> epochs;
  for (const auto& [epoch, seconds] : epoch_time_by_epoch) epochs.push_back(seconds);
  if (epochs.empty()) epochs = summary_epoch_time_s;
  if (estimated) *estimated = epochs.empty();
  if (epochs.empty() && summary_time_per_epoch_estimate_s) return summary_time_per_epoch_estimate_s;
  const auto time = train_time_s();
  const auto steps = summary_global_step ? summary_global_step : step_train_steps;
  if (!epochs.empty() || (time && steps && steps_per_epoch)) {
    return train::time_per_epoch_s(epochs, time.value_or(0), steps.value_or(0),
                                   steps_per_epoch.value_or(0));
  }
  // A summary from before steps_per_epoch was logged: its runtime over the epochs it names.
  if (!time) return std::nullopt;
  double n = summary_epochs.value_or(std::ceil(last_epoch));
  if (!(n > 0)) n = 1;
  return *time / n;
}

std::optional<double> RunResults::samples_per_s(bool* estimated) const {
  if (estimated) *estimated = false;
  if (train_samples_per_s) return train_samples_per_s;
  if (step_train_samples && step_train_time_s && *step_train_time_s > 0) {
    return *step_train_samples / *step_train_time_s;
  }
  if (step_samples_per_s.empty()) return std::nullopt;
  if (estimated) *estimated = true;
  return std::accumulate(step_samples_per_s.begin(), step_samples_per_s.end(), 0.0) /
         static_cast<double>(step_samples_per_s.size());
}

std::optional<double> RunResults::tokens_per_s() const {
  if (train_tokens_per_s) return train_tokens_per_s;
  if (step_train_tokens && step_train_time_s && *step_train_time_s > 0) {
    return *step_train_tokens / *step_train_time_s;
  }
  return std::nullopt;
}

std::optional<double> RunResults::peak_mem_gib() const {
  return summary_peak_mem_gib ? summary_peak_mem_gib : step_peak_mem_gib;
}

std::optional<double> RunResults::final_eval_loss() const {
  if (eval_loss_by_epoch.empty()) return std::nullopt;
  return eval_loss_by_epoch.rbegin()->second;
}

std::optional<double> RunResults::eval_samples_per_s() const {
  if (eval_samples_per_s_by_epoch.empty()) return std::nullopt;
  double sum = 0;
  for (const auto& [epoch, sps] : eval_samples_per_s_by_epoch) sum += sps;
  return sum / static_cast<double>(eval_samples_per_s_by_epoch.size());
}

const RunSegment& RunResults::last_segment() const {
  static const RunSegment none;
  return segments.empty() ? none : segments.back();
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
  if (is_directory) {
    run.run_dir = path;
    read_memory_peaks(path / "memory", run);
  }
  if (used == 0) {
    throw InputError(file.string() +
                     ": no run records found (expected metrics.jsonl records or the trainer's "
                     "key=value lines: run, step=..., eval, train_summary)");
  }
  return run;
}

}  // namespace zerotune::cli
