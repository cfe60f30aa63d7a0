#include "zerotune/cli/eval_command.hpp"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "zerotune/base/error.hpp"
#include "zerotune/cli/model_source.hpp"
#include "zerotune/comm/mpi_communicator.hpp"
#include "zerotune/config/run_config.hpp"
#include "zerotune/data/token_file.hpp"
#include "zerotune/model/gpt2.hpp"
#include "zerotune/model/gpt2_hf.hpp"
#include "zerotune/runtime/device.hpp"
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

}  // namespace

int run_eval_command(const std::vector<std::string>& args) {
  for (const auto& a : args) {
    if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      return kExitOk;
    }
  }
  const EvalArguments a = parse_arguments(args);
  const ModelSource source = resolve_model_source(a.checkpoint, a.init, a.overrides);
  const config::RunConfig& cfg = source.config;
  auto comm = comm::make_mpi_communicator();
  auto backend = ops::make_cpu_backend(DType::kFloat32);
  auto engine = load_model(source, *comm, *backend);
  const model::Gpt2Shape shape = source.shape();
  auto file = std::make_shared<const data::TokenFile>(a.data);
  data::check_fits_model(file->info(), cfg.model.vocab_size, cfg.model.seq_len);
  const int64_t micro = a.micro_batch > 0 ? a.micro_batch : cfg.train.micro_batch_size;
  model::Gpt2Options options;  // activations for the file's rows, not the position table
  options.max_tokens = std::min(file->info().seq_len, shape.seq_len);
  model::Gpt2Model model(shape, micro, *backend, options);
  const train::EvalResult r = train::evaluate_token_file(
      model, *engine, file, *comm, micro, a.max_samples, static_cast<int>(cfg.data.prefetch_steps));
  if (comm->rank() == 0) {
    std::printf(
        "eval eval_loss=%.4f eval_ppl=%.2f eval_samples=%lld eval_tokens=%lld "
        "eval_samples_per_second=%.1f world_size=%d zero_stage=%lld data=%s model=%s\n",
        r.loss(), std::exp(r.loss()), static_cast<long long>(r.samples),
        static_cast<long long>(r.tokens), r.samples_per_second(), comm->size(),
        static_cast<long long>(cfg.zero.stage), a.data.c_str(), source.name.c_str());
    std::fflush(stdout);
  }
  return kExitOk;
}

}  // namespace zerotune::cli
