#include "zerotune/train/run_figures.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <numeric>

#include "zerotune/base/error.hpp"

namespace zerotune::train {

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int64_t real_tokens(const data::StepBatch& batch) {
  int64_t tokens = 0;
  for (const auto& mb : batch.micro_batches) {
    for (const uint8_t m : mb.attention_mask) tokens += m != 0;
  }
  return tokens;
}

std::optional<double> time_per_epoch_s(const std::vector<double>& epoch_time_s, double train_time_s,
                                       int64_t steps, int64_t steps_per_epoch, bool* estimated) {
  if (estimated) *estimated = epoch_time_s.empty();
  if (!epoch_time_s.empty()) {
    return std::accumulate(epoch_time_s.begin(), epoch_time_s.end(), 0.0) /
           static_cast<double>(epoch_time_s.size());
  }
  if (steps <= 0 || steps_per_epoch <= 0) return std::nullopt;
  return train_time_s * static_cast<double>(steps_per_epoch) / static_cast<double>(steps);
}

std::string format_duration(double seconds) {
  const int64_t s = std::isfinite(seconds) && seconds > 0 ? static_cast<int64_t>(seconds) : 0;
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%lld:%02lld:%02lld", static_cast<long long>(s / 3600),
                static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
  return buf;
}

std::optional<double> parse_duration(const std::string& text) {
  double total = 0;
  size_t start = 0;
  int parts = 0;
  for (;;) {
    const size_t colon = text.find(':', start);
    const std::string part = text.substr(start, colon - start);
    double value = 0;
    auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), value);
    if (part.empty() || ec != std::errc() || end != part.data() + part.size() || value < 0) {
      return std::nullopt;
    }
    total = total * 60 + value;
    if (++parts > 3) return std::nullopt;
    if (colon == std::string::npos) return total;
    start = colon + 1;
  }
}

std::optional<RunTotals> totals_at_step(const std::filesystem::path& metrics_jsonl, int64_t step,
                                        int64_t epoch) {
  std::ifstream in(metrics_jsonl);
  if (!in) return std::nullopt;
  std::map<int64_t, double> loss_by_step;  // the last record of each step
  std::map<int64_t, double> epoch_end_s;   // 1-based epoch -> train_time_s at its end
  std::map<int64_t, double> epoch_time;    // 1-based epoch -> its time
  std::optional<RunTotals> at;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json r;
    try {
      r = nlohmann::json::parse(line);
    } catch (const nlohmann::json::parse_error&) {
      // A line cut short by a kill is the last one; anything else is damage worth naming.
      if (in.peek() == EOF) break;
      throw InputError(metrics_jsonl.string() + ":" + std::to_string(number) +
                       ": malformed JSON (the run's figures cannot be carried over)");
    }
    const std::string type = r.value("type", "");
    if (type == "step") {
      const int64_t s = r.value("step", int64_t{-1});
      if (s < 1 || s > step) continue;
      loss_by_step[s] = r.value("loss", 0.0);
      if (s == step && r.contains("train_time_s")) {
        RunTotals t;
        t.step = s;
        t.steps = r.value("train_steps", s);
        t.train_time_s = r.value("train_time_s", 0.0);
        t.train_samples = r.value("train_samples", int64_t{0});
        t.train_tokens = r.value("train_tokens", int64_t{0});
        t.final_loss = r.value("loss", 0.0);
        at = t;
      }
    } else if (type == "epoch") {
      const int64_t e = r.value("epoch", int64_t{0});
      if (e < 1 || e > epoch) continue;
      epoch_end_s[e] = r.value("train_time_s", 0.0);
      epoch_time[e] = r.value("epoch_time_s", 0.0);
    }
  }
  if (!at) return std::nullopt;
  // Steps of earlier starts are summed once each, whichever start logged them last.
  for (const auto& [s, loss] : loss_by_step) at->loss_sum += loss;
  for (const auto& [e, seconds] : epoch_time) at->epoch_time_s.push_back(seconds);
  at->epoch_start_s = epoch_end_s.empty() ? 0.0 : epoch_end_s.rbegin()->second;
  return at;
}

RunClock::RunClock(RunTotals carried, int64_t total_steps)
    : totals_(std::move(carried)),
      total_steps_(total_steps),
      carried_time_s_(totals_.train_time_s),
      start_(std::chrono::steady_clock::now()) {}

void RunClock::exclude(double seconds) { excluded_s_ += seconds; }

double RunClock::train_time_s() const {
  return carried_time_s_ + seconds_since(start_) - excluded_s_;
}

void RunClock::step_done(int64_t step, int64_t samples, int64_t tokens, double loss) {
  totals_.step = step;
  totals_.steps += 1;
  totals_.train_samples += samples;
  totals_.train_tokens += tokens;
  totals_.loss_sum += loss;
  totals_.final_loss = loss;
  totals_.train_time_s = train_time_s();
  ++steps_this_start_;
}

double RunClock::epoch_done() {
  const double now = train_time_s();
  const double seconds = now - totals_.epoch_start_s;
  totals_.epoch_time_s.push_back(seconds);
  totals_.epoch_start_s = now;
  return seconds;
}

double RunClock::eta_s() const {
  if (steps_this_start_ == 0) return 0;
  const double per_step = (totals_.train_time_s - carried_time_s_) / steps_this_start_;
  return std::max(0.0, per_step) *
         static_cast<double>(std::max<int64_t>(0, total_steps_ - totals_.step));
}

}  // namespace zerotune::train
