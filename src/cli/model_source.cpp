#include "zerotune/cli/model_source.hpp"

#include <fstream>
#include <nlohmann/json.hpp>

#include "zerotune/base/error.hpp"
#include "zerotune/model/gpt2_hf.hpp"
#include "zerotune/runtime/device.hpp"
#include "zerotune/train/checkpoint.hpp"
#include "zerotune/train/model_init.hpp"
#include "zerotune/train/optimizer.hpp"

namespace zerotune::cli {

namespace fs = std::filesystem;

namespace {

// A run directory stands for its latest checkpoint.
fs::path checkpoint_dir(const std::string& given) {
  const fs::path p(given);
  if (fs::exists(p / "meta.json")) return p;
  if (fs::is_directory(p / "checkpoints")) {
    if (auto latest = train::latest_checkpoint(p / "checkpoints")) return *latest;
    throw UniformInputError(given + ": a run directory without a complete checkpoint");
  }
  throw UniformInputError(given + ": not a checkpoint (no meta.json) nor a run directory");
}

// The run's config as the checkpoint recorded it (meta.json "config"), with the overrides.
config::RunConfig checkpoint_config(const fs::path& dir, const std::vector<std::string>& sets) {
  const fs::path meta_path = dir / "meta.json";
  std::ifstream in(meta_path);
  nlohmann::json meta;
  try {
    meta = nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    throw UniformInputError(meta_path.string() + ": " + e.what());
  }
  if (!meta.contains("config") || !meta["config"].is_string()) {
    throw UniformInputError(meta_path.string() + ": config: expected the run's YAML config");
  }
  return config::parse_run_config(meta["config"].get<std::string>(), meta_path.string(), sets);
}

config::RunConfig init_config(const fs::path& model, const std::vector<std::string>& sets) {
  if (!fs::exists(model)) throw UniformInputError(model.string() + ": no such file");
  const model::Gpt2Shape shape = model::read_gpt2_config_json(model.parent_path() / "config.json");
  config::RunConfig c = config::parse_run_config("{}", "<eval --init>", sets);
  c.model.n_layer = shape.n_layer;
  c.model.n_head = shape.n_head;
  c.model.n_embd = shape.n_embd;
  c.model.seq_len = shape.seq_len;
  c.model.vocab_size = shape.vocab_size;
  c.model.init = model.string();
  return c;
}

}  // namespace

model::Gpt2Shape ModelSource::shape() const {
  return {config.model.n_layer, config.model.n_head, config.model.n_embd, config.model.seq_len,
          config.model.vocab_size};
}

ModelSource resolve_model_source(const std::string& checkpoint, const std::string& init,
                                 const std::vector<std::string>& overrides) {
  ModelSource s;
  try {
    if (!checkpoint.empty()) {
      s.checkpoint = checkpoint_dir(checkpoint);
      s.config = checkpoint_config(s.checkpoint, overrides);
      s.name = s.checkpoint.string();
    } else {
      s.config = init_config(init, overrides);
      s.name = init;
    }
  } catch (const UniformInputError&) {
    throw;
  } catch (const InputError& e) {
    throw UniformInputError(e.what());  // every rank read the same files
  }
  return s;
}

std::unique_ptr<train::ZeroEngine> load_model(const ModelSource& source, comm::Communicator& comm,
                                              ops::Backend& backend) {
  const model::Gpt2Layout layout = model::make_gpt2_layout(source.shape());
  train::OptimizerSettings opt;
  opt.kind = train::parse_optimizer_kind(source.config.train.optimizer);
  // Evaluation reduces no gradients: their dtype is the one setting that need not fit here.
  train::CommSettings settings = train::comm_settings(source.config.zero);
  settings.reduce_dtype = DType::kFloat32;
  auto engine = train::ZeroEngine::create(static_cast<int>(source.config.zero.stage), layout, opt,
                                          comm, backend, settings);
  if (!source.checkpoint.empty()) {
    train::load_checkpoint(source.checkpoint, *engine, comm);
  } else {
    train::initialize_parameters(*engine, source.config.model, source.config.train.seed);
  }
  return engine;
}

}  // namespace zerotune::cli
