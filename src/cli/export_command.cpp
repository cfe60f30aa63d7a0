#include "zerotune/cli/export_command.hpp"

#include <cstdio>

#include "zerotune/base/error.hpp"
#include "zerotune/train/checkpoint_export.hpp"

namespace zerotune::cli {

namespace {

constexpr const char* kExportUsage =
    R"(usage: zerotune export --checkpoint DIR --out HF_DIR [options]
Writes a checkpoint as a Hugging Face model directory that
AutoModelForCausalLM.from_pretrained() and AutoTokenizer.from_pretrained() load: config.json,
generation_config.json, model.safetensors (or shards and model.safetensors.index.json) and
the tokenizer files. Any world size and ZeRO stage; runs as one process, no mpiexec needed.
  --checkpoint DIR       RUN_DIR/checkpoints/step-NNNNNN, or RUN_DIR or RUN_DIR/checkpoints
                         (their `latest` checkpoint)
  --out HF_DIR           created or replaced (only an empty directory or an earlier export)
  --dtype fp32|bf16|fp16 tensor dtype (default fp32)
  --tokenizer DIR        GPT-2 vocab.json and merges.txt to include (default: none)
  --max-shard-size SIZE  split the weights into shards of at most SIZE (default 5GB;
                         KB, MB, GB, KiB, MiB, GiB))";

}  // namespace

int run_export_command(const std::vector<std::string>& args) {
  std::string checkpoint, out;
  model::HfExportOptions options;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--help" || arg == "-h") {
      std::puts(kExportUsage);
      return kExitOk;
    }
    const bool valued = arg == "--checkpoint" || arg == "--out" || arg == "--dtype" ||
                        arg == "--tokenizer" || arg == "--max-shard-size";
    if (!valued) {
      throw InputError("command line: unknown argument \"" + arg +
                       "\" (see zerotune export --help)");
    }
    if (i + 1 >= args.size()) throw InputError("command line: " + arg + ": expected a value");
    const std::string& value = args[++i];
    if (arg == "--checkpoint") {
      checkpoint = value;
    } else if (arg == "--out") {
      out = value;
    } else if (arg == "--dtype") {
      options.dtype = model::parse_export_dtype(value, "command line: --dtype");
    } else if (arg == "--tokenizer") {
      options.tokenizer_dir = value;
    } else {
      options.max_shard_bytes = model::parse_shard_size(value, "command line: --max-shard-size");
    }
  }
  if (checkpoint.empty()) throw InputError("command line: --checkpoint DIR is required");
  if (out.empty()) throw InputError("command line: --out HF_DIR is required");
  const train::CheckpointWeights w = train::export_checkpoint(checkpoint, out, options);
  std::printf(
      "exported step=%lld n_layer=%lld n_head=%lld n_embd=%lld n_positions=%lld vocab_size=%lld "
      "dtype=%s world_size=%d zero_stage=%d checkpoint=%s out=%s\n",
      static_cast<long long>(w.step), static_cast<long long>(w.shape.n_layer),
      static_cast<long long>(w.shape.n_head), static_cast<long long>(w.shape.n_embd),
      static_cast<long long>(w.shape.seq_len), static_cast<long long>(w.shape.vocab_size),
      options.dtype == model::DType::kF32    ? "fp32"
      : options.dtype == model::DType::kBF16 ? "bf16"
                                             : "fp16",
      w.world_size, w.zero_stage, w.dir.string().c_str(), out.c_str());
  return kExitOk;
}

}  // namespace zerotune::cli
