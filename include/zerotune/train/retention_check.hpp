// The forgetting check of data.retention_files: token files of other data (WikiText while
// fine-tuning on SQuAD) evaluated as the per-epoch eval evaluates (train/evaluation.hpp)
// before the first step and after each epoch, so the .out tells whether fine-tuning wrecked
// what the model knew:
//   retention_pct = 100 * perplexity before training / perplexity now
// The "before" figures travel in each checkpoint's meta.json (run_state.retention_before), so
// a resumed run compares against the model it started from, not against a fine-tuned one.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "zerotune/comm/communicator.hpp"
#include "zerotune/config/run_config.hpp"
#include "zerotune/data/token_file.hpp"
#include "zerotune/model/gpt2_model.hpp"
#include "zerotune/train/metrics_log.hpp"

namespace zerotune::train {

// "data/wiki.valid.h5" -> "wiki.valid": the file's name in the log and the metric names.
std::string retention_file_name(const std::string& path);

class RetentionCheck {
 public:
  // Opens every file; InputError "data.retention_files: <file>: ..." for one that cannot be
  // read or does not fit the model, or when two files share a name.
  RetentionCheck(const std::vector<std::string>& paths, const config::ModelConfig& model);

  bool empty() const { return files_.empty(); }
  // The longest row of the files (activations are sized for it); 0 without files.
  int64_t max_seq_len() const;

  // Takes the before figures a checkpoint kept (its run_state); files it has none for report
  // their eval loss without a retention.
  void restore(const nlohmann::json& run_state, int64_t resumed_step);
  // run_state with this check's before figures added, for the next checkpoint's meta.json.
  void store(nlohmann::json& run_state) const;

  // Collective: evaluates every file. At step 0 of a fresh run the figures become "before";
  // later they are compared with it. Returns the seconds spent (not training time).
  double evaluate(model::Gpt2Model& model, model::ParameterSource<void>& params,
                  comm::Communicator& comm, const config::DataConfig& data, int64_t micro_batch,
                  int64_t step, int64_t epoch, MetricsLog& metrics);

 private:
  struct File {
    std::string name;  // retention_file_name
    std::string path;
    std::shared_ptr<const data::TokenFile> tokens;
  };
  struct Before {
    double eval_loss = 0;
    double eval_ppl = 0;
  };
  std::vector<File> files_;
  std::map<std::string, Before> before_;  // by file name
  bool resumed_ = false;                  // started from a checkpoint: never measure "before"
};

}  // namespace zerotune::train
