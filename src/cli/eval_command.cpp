#include "zerotune/cli/eval_command.hpp"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "zerotune/base/error.hpp"
#include "zerotune/comm/mpi_communicator.hpp"
#include "zerotune/config/run_config.hpp"
#include "zerotune/data/token_file.hpp"
#include "zerotune/model/gpt2.hpp"
#include "zerotune/model/gpt2_hf.hpp"
#include "zerotune/runtime/device.hpp"
#include "zerotune/train/activation_shape.hpp"
#include "zerotune/train/checkpoint.hpp"
#include "zerotune/train/evaluation.hpp"
#include "zerotune/train/model_init.hpp"
#include "zerotune/train/optimizer.hpp"
#include "zerotune/train/zero_engine.hpp"

namespace zerotune::cli {

namespace fs = std::filesystem;

namespace {

constexpr const char* kUsage =
    "usage: zerotune eval (--checkpoint DIR | --init MODEL.safetensors) --data FILE.h5\n"
    "                     [--max-samples N] [--micro-batch-size B] [--set section.key=value]...\n"
    "  Loss, perplexity and samples/s of a model on a token file, as the per-epoch eval.\n"
    "  --checkpoint: a checkpoint directory or a run directory (its latest checkpoint).\n"
    "  --init: a Hugging Face GPT-2 model.safetensors, its config.json beside it.\n"
    "  Any world size (mpiexec -n N) and stage (--set zero.stage=3).\n";

struct EvalArguments {
  std::string checkpoint, init, data;
  int64_t max_samples = 0;
  int64_t micro_batch = 0;  // 0: the config's
  std::vector<std::string> overrides;
};

int64_t parse_count(const std::string& option, const std::string& text) {
  try {
    size_t used = 0;
    const long long v = std::stoll(text, &used);
    if (used == text.size() && v >= 0) return v;
  } catch (const std::exception&) {
  }
  throw UniformInputError("eval: " + option + ": expected a non-negative integer, got \"" + text +
                          "\"");
}

EvalArguments parse_arguments(const std::vector<std::string>& args) {
  EvalArguments a;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    auto value = [&]() -> const std::string& {
      if (i + 1 >= args.size()) throw UniformInputError("eval: " + arg + ": expected a value");
      return args[++i];
    };
    if (arg == "--checkpoint") {
      a.checkpoint = value();
    } else if (arg == "--init") {
      a.init = value();
    } else if (arg == "--data") {
      a.data = value();
    } else if (arg == "--max-samples") {
      a.max_samples = parse_count(arg, value());
    } else if (arg == "--micro-batch-size") {
      a.micro_batch = parse_count(arg, value());
    } else if (arg == "--set") {
      a.overrides.push_back(value());
    } else {
      throw UniformInputError("eval: unknown argument \"" + arg + "\"\n" + kUsage);
    }
  }
  if (a.checkpoint.empty() == a.init.empty()) {
    throw UniformInputError(std::string("eval: give one of --checkpoint and --init\n") + kUsage);
  }
  if (a.data.empty()) throw UniformInputError(std::string("eval: --data is required\n") + kUsage);
  return a;
}

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

int run_eval_command(const std::vector<std::string>& args) {
  for (const auto& a : args) {
    if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      return kExitOk;
    }
  }
  const EvalArguments a = parse_arguments(args);
  fs::path ckpt;
  config::RunConfig cfg;
  try {
    if (!a.checkpoint.empty()) {
      ckpt = checkpoint_dir(a.checkpoint);
      cfg = checkpoint_config(ckpt, a.overrides);
    } else {
      cfg = init_config(a.init, a.overrides);
    }
  } catch (const InputError& e) {
    throw UniformInputError(e.what());  // every rank read the same files
  }
  auto comm = comm::make_mpi_communicator();
  const model::Gpt2Shape shape{cfg.model.n_layer, cfg.model.n_head, cfg.model.n_embd,
                               cfg.model.seq_len, cfg.model.vocab_size};
  const model::Gpt2Layout layout = model::make_gpt2_layout(shape);
  train::OptimizerSettings opt;
  opt.kind = train::parse_optimizer_kind(cfg.train.optimizer);
  auto engine = train::ZeroEngine::create(static_cast<int>(cfg.zero.stage), layout, opt, *comm,
                                          runtime::cpu_device());
  if (!ckpt.empty()) {
    train::load_checkpoint(ckpt, *engine, *comm);
  } else {
    train::initialize_parameters(*engine, cfg.model, cfg.train.seed);
  }
  auto file = std::make_shared<const data::TokenFile>(a.data);
  data::check_fits_model(file->info(), cfg.model.vocab_size, cfg.model.seq_len);
  const int64_t micro = a.micro_batch > 0 ? a.micro_batch : cfg.train.micro_batch_size;
  model::Gpt2<float> model(train::activation_shape(shape, file->info().seq_len), micro);
  const train::EvalResult r = train::evaluate_token_file(
      model, *engine, file, *comm, micro, a.max_samples, static_cast<int>(cfg.data.prefetch_steps));
  if (comm->rank() == 0) {
    std::printf(
        "eval eval_loss=%.4f eval_ppl=%.2f eval_samples=%lld eval_tokens=%lld "
        "eval_samples_per_second=%.1f world_size=%d zero_stage=%lld data=%s model=%s\n",
        r.loss(), std::exp(r.loss()), static_cast<long long>(r.samples),
        static_cast<long long>(r.tokens), r.samples_per_second(), comm->size(),
        static_cast<long long>(cfg.zero.stage), a.data.c_str(),
        (ckpt.empty() ? a.init : ckpt.string()).c_str());
    std::fflush(stdout);
  }
  return kExitOk;
}

}  // namespace zerotune::cli
