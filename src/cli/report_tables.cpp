#include "zerotune/cli/report_tables.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>
#include <set>

#include "zerotune/base/error.hpp"

namespace zerotune::cli {

namespace {

using nlohmann::json;

std::string fixed(double value, int decimals) {
  if (std::isnan(value)) return "nan";
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%.*f", decimals, value);
  return buffer;
}

ReportCell text_cell(const std::string& text) {
  return {text.empty() ? "-" : text, text.empty() ? json(nullptr) : json(text)};
}

// A number shown with `decimals`; "~" before it when it is an estimate; "-" when unknown.
ReportCell number_cell(const std::optional<double>& value, int decimals, bool estimated = false,
                       const std::string& suffix = "") {
  if (!value) return {"-", nullptr};
  return {(estimated ? "~" : "") + fixed(*value, decimals) + suffix, *value};
}

ReportCell integer_cell(const std::optional<int64_t>& value) {
  if (!value) return {"-", nullptr};
  return {std::to_string(*value), *value};
}

std::string stage_name(const RunSegment& s) {
  std::string out;
  if (s.zero_stage) {
    out = *s.zero_stage == 0 ? "DP" : "ZeRO-" + std::to_string(*s.zero_stage);
  } else {
    out = s.strategy.empty() ? "-" : s.strategy;
  }
  if (s.offload.value_or(false)) {
    // "ZeRO-2 + offload cpu", "ZeRO-3 + offload nvme, params nvme", "ZeRO-2 + offload cpu 30%"
    out += " + offload";
    if (!s.offload_optimizer.empty()) out += " " + s.offload_optimizer;
    if (s.offload_optimizer_ratio && *s.offload_optimizer_ratio < 1.0) {
      out += " " + std::to_string(static_cast<int>(*s.offload_optimizer_ratio * 100 + 0.5)) + "%";
    }
    if (!s.offload_param.empty() && s.offload_param != "none") out += ", params " + s.offload_param;
  }
  return out;
}

// One value per start, consecutive repeats merged: "ZeRO-1 -> ZeRO-3" for a run resumed with
// another stage.
template <typename F>
std::string over_segments(const RunResults& run, F value_of) {
  std::vector<std::string> values;
  for (const RunSegment& s : run.segments) {
    const std::string v = value_of(s);
    if (values.empty() || values.back() != v) values.push_back(v);
  }
  std::string out;
  for (const auto& v : values) out += (out.empty() ? "" : " -> ") + v;
  return out;
}

std::string model_size(const std::optional<int64_t>& parameters) {
  if (!parameters) return "";
  const double p = static_cast<double>(*parameters);
  if (p >= 1e9) return fixed(p / 1e9, 2) + "B";
  if (p >= 1e6) return fixed(p / 1e6, 1) + "M";
  if (p >= 1e3) return fixed(p / 1e3, 1) + "K";
  return std::to_string(*parameters);
}

std::string epoch_label(double epoch) {
  return epoch == std::floor(epoch) ? std::to_string(static_cast<int64_t>(epoch)) : fixed(epoch, 2);
}

// Why `a` and `b` cannot be compared ("" when they can): a field known for both that differs.
std::string incomparable(const RunResults& a, const RunResults& b) {
  if (a.parameters && b.parameters && *a.parameters != *b.parameters) {
    return "model sizes differ (" + model_size(a.parameters) + " vs " + model_size(b.parameters) +
           ")";
  }
  if (!a.model_shape.empty() && !b.model_shape.empty() && a.model_shape != b.model_shape) {
    return "models differ (" + a.model_shape + " vs " + b.model_shape + ")";
  }
  if (!a.train_file.empty() && !b.train_file.empty() && a.train_file != b.train_file) {
    return "data differ (" + a.train_file + " vs " + b.train_file + ")";
  }
  if (a.data_seq_len && b.data_seq_len && *a.data_seq_len != *b.data_seq_len) {
    return "row lengths differ (" + std::to_string(*a.data_seq_len) + " vs " +
           std::to_string(*b.data_seq_len) + " tokens)";
  }
  const auto ga = a.last_segment().global_batch_size, gb = b.last_segment().global_batch_size;
  if (ga && gb && *ga != *gb) {
    return "global batches differ (" + std::to_string(*ga) + " vs " + std::to_string(*gb) + ")";
  }
  return "";
}

bool all_stage_zero(const RunResults& r) {
  return !r.segments.empty() && std::all_of(r.segments.begin(), r.segments.end(),
                                            [](const RunSegment& s) { return s.zero_stage == 0; });
}

// The reference of each run for "speed vs DP" (index into runs, or -1), with the notes.
std::vector<int> speed_references(const std::vector<RunResults>& runs,
                                  std::vector<std::string>& notes) {
  std::vector<int> ref(runs.size(), -1);
  int first_dp = -1;
  for (size_t i = 0; i < runs.size() && first_dp < 0; ++i) {
    if (all_stage_zero(runs[i])) first_dp = static_cast<int>(i);
  }
  for (size_t i = 0; i < runs.size(); ++i) {
    for (size_t j = 0; j < runs.size() && ref[i] < 0; ++j) {
      if (all_stage_zero(runs[j]) && incomparable(runs[j], runs[i]).empty()) {
        ref[i] = static_cast<int>(j);
      }
    }
    if (ref[i] >= 0) continue;
    for (size_t j = 0; j < runs.size() && ref[i] < 0; ++j) {
      if (incomparable(runs[j], runs[i]).empty()) ref[i] = static_cast<int>(j);
    }
    std::string why = "no DP run given";
    if (first_dp >= 0)
      why =
          "not compared with " + runs[first_dp].name + ": " + incomparable(runs[first_dp], runs[i]);
    if (ref[i] != static_cast<int>(i)) {
      notes.push_back("speed vs DP of " + runs[i].name + ": against " + runs[ref[i]].name +
                      ", the first comparable run (" + why + ").");
    } else {
      notes.push_back("speed vs DP of " + runs[i].name + ": against itself (" + why + ").");
    }
  }
  return ref;
}

ReportTable strategy_table(const std::vector<RunResults>& runs, std::vector<std::string>& notes) {
  ReportTable t;
  t.title = "Strategy comparison";
  t.columns = {{"run", "run", false},
               {"strategy", "strategy", false},
               {"ranks", "ranks", true},
               {"model size", "parameters", true},
               {"precision", "precision", false},
               {"micro/global batch", "micro_global_batch", true},
               {"time/epoch (s)", "time_per_epoch_s", true},
               {"peak memory (GiB)", "peak_mem_gib", true},
               {"peak alloc (GiB)", "peak_alloc_gib", true},
               {"peak reserved (GiB)", "peak_reserved_gib", true},
               {"final loss", "final_loss", true},
               {"final eval loss", "final_eval_loss", true},
               {"samples/s", "train_samples_per_second", true},
               {"tokens/s", "train_tokens_per_second", true},
               {"speed vs DP", "speed_vs_dp", true}};
  const std::vector<int> ref = speed_references(runs, notes);
  for (size_t i = 0; i < runs.size(); ++i) {
    const RunResults& run = runs[i];
    const RunSegment& last = run.last_segment();
    bool epoch_estimated = false, speed_estimated = false;
    const auto time = run.time_per_epoch_s(&epoch_estimated);
    const auto samples = run.samples_per_s(&speed_estimated);
    std::optional<double> speed;
    if (ref[i] >= 0) {
      const auto ref_time = runs[ref[i]].time_per_epoch_s();
      if (ref_time && time && *time > 0) speed = *ref_time / *time;
    }
    std::string batch = "-";
    if (last.micro_batch_size || last.global_batch_size) {
      batch = (last.micro_batch_size ? std::to_string(*last.micro_batch_size) : "-") + "/" +
              (last.global_batch_size ? std::to_string(*last.global_batch_size) : "-");
    }
    ReportCell params = text_cell(model_size(run.parameters));
    if (run.parameters) params.value = *run.parameters;
    t.rows.push_back({
        text_cell(run.name + (run.has_summary ? "" : " (no summary)")),
        text_cell(over_segments(run, stage_name)),
        text_cell(over_segments(run,
                                [](const RunSegment& s) {
                                  return s.world_size ? std::to_string(*s.world_size) : "-";
                                })),
        params,
        text_cell(over_segments(run, [](const RunSegment& s) { return s.precision; })),
        text_cell(batch),
        number_cell(time, 1, epoch_estimated),
        number_cell(run.peak_mem_gib(), 2),
        number_cell(run.csv_peak_alloc_gib, 2),
        number_cell(run.csv_peak_reserved_gib, 2),
        number_cell(run.final_loss, 4),
        number_cell(run.final_eval_loss(), 4),
        number_cell(samples, 1, speed_estimated),
        number_cell(run.tokens_per_s(), 0),
        number_cell(speed, 2, false, "x"),
    });
  }
  return t;
}

ReportTable workshop_table(const std::vector<RunResults>& runs) {
  std::set<double> epochs;
  for (const auto& run : runs) {
    for (const auto& [epoch, loss] : run.eval_loss_by_epoch) epochs.insert(epoch);
  }
  ReportTable t;
  t.title = "Workshop table";
  t.columns = {{"run", "run", false}, {"Train Loss (final)", "train_loss_final", true}};
  for (double e : epochs) {
    t.columns.push_back(
        {"Eval Loss (epoch " + epoch_label(e) + ")", "eval_loss_epoch_" + epoch_label(e), true});
  }
  t.columns.push_back({"Training Speed (samples/s)", "train_samples_per_second", true});
  t.columns.push_back({"Evaluation Speed (samples/s)", "eval_samples_per_second", true});
  t.columns.push_back({"Steps per Epoch", "steps_per_epoch", true});
  for (const auto& run : runs) {
    bool estimated = false;
    const auto samples = run.samples_per_s(&estimated);
    std::vector<ReportCell> row = {text_cell(run.name), number_cell(run.final_loss, 4)};
    for (double e : epochs) {
      auto it = run.eval_loss_by_epoch.find(e);
      row.push_back(number_cell(
          it == run.eval_loss_by_epoch.end() ? std::nullopt : std::optional<double>(it->second),
          4));
    }
    row.push_back(number_cell(samples, 1, estimated));
    row.push_back(number_cell(run.eval_samples_per_s(), 1));
    row.push_back(integer_cell(run.steps_per_epoch));
    t.rows.push_back(std::move(row));
  }
  return t;
}

// The forgetting check: one row per run and data.retention_files file; retention = perplexity
// before training / perplexity after the epoch, in %. Empty when no run has one.
ReportTable retention_table(const std::vector<RunResults>& runs) {
  std::set<double> epochs;
  for (const auto& run : runs) {
    for (const auto& [file, f] : run.retention) {
      for (const auto& [epoch, pct] : f.retention_pct_by_epoch) epochs.insert(epoch);
    }
  }
  ReportTable t;
  t.title = "Retention";
  t.columns = {{"run", "run", false},
               {"file", "file", false},
               {"Eval Loss (before)", "eval_loss_before", true},
               {"Eval Loss (final)", "eval_loss_final", true}};
  for (double e : epochs) {
    t.columns.push_back({"Retention % (epoch " + epoch_label(e) + ")",
                         "retention_pct_epoch_" + epoch_label(e), true});
  }
  for (const auto& run : runs) {
    for (const auto& [file, f] : run.retention) {
      std::optional<double> final_loss;
      if (!f.eval_loss_by_epoch.empty()) final_loss = f.eval_loss_by_epoch.rbegin()->second;
      std::vector<ReportCell> row = {text_cell(run.name), text_cell(file),
                                     number_cell(f.before_eval_loss, 4),
                                     number_cell(final_loss, 4)};
      for (double e : epochs) {
        auto it = f.retention_pct_by_epoch.find(e);
        row.push_back(number_cell(
            it == f.retention_pct_by_epoch.end() ? std::nullopt : std::optional<double>(it->second),
            1));
      }
      t.rows.push_back(std::move(row));
    }
  }
  return t;
}

// Pads every column to its widest cell so that the table also reads as plain text.
std::string markdown_table(const ReportTable& t) {
  std::vector<size_t> width(t.columns.size(), 3);
  for (size_t c = 0; c < t.columns.size(); ++c)
    width[c] = std::max(width[c], t.columns[c].header.size());
  for (const auto& row : t.rows) {
    for (size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].text.size());
  }
  auto line = [&](auto cell_text) {
    std::string out = "|";
    for (size_t c = 0; c < t.columns.size(); ++c) {
      const std::string text = cell_text(c);
      const size_t pad = width[c] - text.size();
      out += ' ';
      if (t.columns[c].right_aligned) out.append(pad, ' ');
      out += text;
      if (!t.columns[c].right_aligned) out.append(pad, ' ');
      out += " |";
    }
    return out + "\n";
  };
  std::string out = line([&](size_t c) { return t.columns[c].header; });
  out += "|";
  for (size_t c = 0; c < width.size(); ++c) {
    out += ' ';
    out.append(width[c] - 1, '-');
    out += t.columns[c].right_aligned ? ": |" : "- |";
  }
  out += "\n";
  for (const auto& row : t.rows) out += line([&](size_t c) { return row[c].text; });
  return out;
}

// RFC 4180: quote a field holding a comma, quote or line break; double the quotes inside.
std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\n\r") == std::string::npos) return text;
  std::string out = "\"";
  for (char ch : text) out += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return out + "\"";
}

// Numbers at full precision (no "~" or "x"), empty for unknown.
std::string csv_table(const ReportTable& t) {
  std::string out;
  for (size_t c = 0; c < t.columns.size(); ++c) out += (c ? "," : "") + csv_field(t.columns[c].key);
  out += "\n";
  for (const auto& row : t.rows) {
    for (size_t c = 0; c < row.size(); ++c) {
      const json& v = row[c].value;
      const std::string text = v.is_null() ? "" : v.is_string() ? v.get<std::string>() : v.dump();
      out += (c ? "," : "") + csv_field(text);
    }
    out += "\n";
  }
  return out;
}

std::string table_key(const std::string& title) {
  if (title == "Retention") return "retention";
  return title == "Strategy comparison" ? "strategy" : "workshop";
}

}  // namespace

Report build_report(const std::vector<RunResults>& runs) {
  Report r;
  r.tables.push_back(strategy_table(runs, r.notes));
  r.tables.push_back(workshop_table(runs));
  ReportTable retention = retention_table(runs);
  if (!retention.rows.empty()) {
    r.tables.push_back(std::move(retention));
    r.notes.push_back(
        "retention: perplexity on a data.retention_files file before training / after the "
        "epoch, in % (below 80%: the run warned that fine-tuning is forgetting that data).");
  }
  r.notes.insert(
      r.notes.begin(),
      {"time/epoch: mean train time of the complete epochs, evaluation excluded, over every "
       "start of a resumed run; ~: no complete epoch, the train time scaled to one epoch.",
       "samples/s, tokens/s: real samples and tokens (padding excluded) / train time of the "
       "whole run; ~: from the logged steps only (a .out without a summary).",
       "final loss: the last step's loss; final eval loss: the last epoch's eval_loss.",
       "peak memory: the summary's peak_mem_gib (GPU: the pool's peak allocated bytes; CPU: peak "
       "RSS), else the highest step "
       "mem_peak_gib; peak alloc/reserved: memory/rank-*.csv of a run directory.",
       "speed vs DP: time/epoch of the reference / time/epoch of the run (above 1: faster); "
       "the reference is the first DP (stage 0) run of the same model, data and global batch.",
       "docs/metrics.md defines each figure."});
  return r;
}

ReportFormat parse_report_format(const std::string& name) {
  if (name == "markdown" || name == "md") return ReportFormat::kMarkdown;
  if (name == "csv") return ReportFormat::kCsv;
  if (name == "json") return ReportFormat::kJson;
  throw InputError("report: --format: expected markdown, csv or json, got \"" + name + "\"");
}

std::string render(const Report& report, ReportFormat format) {
  std::string out;
  if (format == ReportFormat::kJson) {
    json doc = json::object();
    for (const auto& t : report.tables) {
      json rows = json::array();
      for (const auto& row : t.rows) {
        json object = json::object();
        for (size_t c = 0; c < row.size(); ++c) object[t.columns[c].key] = row[c].value;
        rows.push_back(object);
      }
      doc[table_key(t.title)] = rows;
    }
    doc["notes"] = report.notes;
    return doc.dump(2) + "\n";
  }
  for (size_t i = 0; i < report.tables.size(); ++i) {
    if (i) out += "\n";
    if (format == ReportFormat::kCsv) {
      out += csv_table(report.tables[i]);
    } else {
      out += "## " + report.tables[i].title + "\n\n" + markdown_table(report.tables[i]);
    }
  }
  if (format == ReportFormat::kMarkdown) {
    out += "\n";
    for (const auto& note : report.notes) out += "- " + note + "\n";
  }
  return out;
}

}  // namespace zerotune::cli
