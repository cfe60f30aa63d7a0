#include "zerotune/train/retention_check.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "zerotune/base/error.hpp"
#include "zerotune/runtime/logging.hpp"
#include "zerotune/train/evaluation.hpp"

namespace zerotune::train {

namespace {

constexpr const char* kField = "data.retention_files";
constexpr const char* kStateKey = "retention_before";

}  // namespace

std::string retention_file_name(const std::string& path) {
  return std::filesystem::path(path).stem().string();
}

RetentionCheck::RetentionCheck(const std::vector<std::string>& paths,
                               const config::ModelConfig& model) {
  for (const std::string& path : paths) {
    File f{retention_file_name(path), path, nullptr};
    for (const File& other : files_) {
      if (other.name == f.name) {
        throw InputError(std::string(kField) + ": " + other.path + " and " + path +
                         " share the name " + f.name +
                         ", which names their figures in the log; give one another name");
      }
    }
    try {
      f.tokens = std::make_shared<const data::TokenFile>(path);
      data::check_fits_model(f.tokens->info(), model.vocab_size, model.seq_len);
    } catch (const InputError& e) {
      throw InputError(std::string(kField) + ": " + e.what());
    }
    files_.push_back(std::move(f));
  }
}

int64_t RetentionCheck::max_seq_len() const {
  int64_t longest = 0;
  for (const File& f : files_) longest = std::max(longest, f.tokens->info().seq_len);
  return longest;
}

void RetentionCheck::restore(const nlohmann::json& run_state, int64_t resumed_step) {
  resumed_ = resumed_step > 0;
  const auto saved = run_state.find(kStateKey);
  for (const File& f : files_) {
    const nlohmann::json* entry = nullptr;
    if (saved != run_state.end() && saved->is_object() && saved->contains(f.name)) {
      entry = &(*saved)[f.name];
    }
    if (entry && entry->is_object() && entry->value("eval_loss", nlohmann::json()).is_number()) {
      const double loss = (*entry)["eval_loss"].get<double>();
      before_[f.name] = Before{loss, std::exp(loss)};
    } else if (resumed_) {
      runtime::log().info(
          "retention file={}: the checkpoint of step {} has no figure of it from before "
          "training (added on resume?): its eval_loss is logged without a retention",
          f.name, resumed_step);
    }
  }
}

void RetentionCheck::store(nlohmann::json& run_state) const {
  if (before_.empty()) return;
  nlohmann::json saved = nlohmann::json::object();
  for (const File& f : files_) {
    const auto it = before_.find(f.name);
    if (it == before_.end()) continue;
    saved[f.name] = {
        {"path", f.path}, {"eval_loss", it->second.eval_loss}, {"eval_ppl", it->second.eval_ppl}};
  }
  run_state[kStateKey] = saved;
}

double RetentionCheck::evaluate(model::Gpt2Model& model, model::ParameterSource<void>& params,
                                comm::Communicator& comm, const config::DataConfig& data,
                                int64_t micro_batch, int64_t step, int64_t epoch,
                                MetricsLog& metrics) {
  double seconds = 0;
  const bool before_training = step == 0 && !resumed_;
  for (const File& f : files_) {
    const EvalResult e =
        evaluate_token_file(model, params, f.tokens, comm, micro_batch, data.eval_max_samples,
                            static_cast<int>(data.prefetch_steps));
    seconds += e.seconds;
    RetentionRecord r;
    r.step = step;
    r.epoch = before_training ? 0 : epoch;
    r.file = f.name;
    r.eval_loss = e.loss();
    r.eval_ppl = std::exp(r.eval_loss);
    r.eval_samples = e.samples;
    if (before_training) {
      before_[f.name] = Before{r.eval_loss, r.eval_ppl};
    } else if (const auto it = before_.find(f.name); it != before_.end()) {
      r.before_eval_loss = it->second.eval_loss;
      r.before_eval_ppl = it->second.eval_ppl;
      r.retention_pct = 100.0 * it->second.eval_ppl / r.eval_ppl;
    }
    metrics.retention(r);
  }
  return seconds;
}

}  // namespace zerotune::train
