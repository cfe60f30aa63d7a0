#include "zerotune/cli/generate_command.hpp"

#include <cstdio>

#include "zerotune/base/error.hpp"
#include "zerotune/cli/model_source.hpp"
#include "zerotune/comm/mpi_communicator.hpp"
#include "zerotune/data/bpe_tokenizer.hpp"
#include "zerotune/model/text_generation.hpp"

namespace zerotune::cli {

namespace {

constexpr const char* kUsage =
    "usage: zerotune generate (--checkpoint DIR | --init MODEL.safetensors) --tokenizer DIR\n"
    "                         --prompt TEXT [--max-new-tokens N] [--temperature T]\n"
    "                         [--top-k K] [--top-p P] [--seed S] [--set section.key=value]...\n"
    "  Continues the prompt: greedy at temperature 0 (default), else sampled (top-k, top-p),\n"
    "  the same text for the same seed; stops at end-of-text or after N new tokens (64).\n";

struct GenerateArguments {
  std::string checkpoint, init, tokenizer, prompt;
  bool has_prompt = false;
  int64_t max_new_tokens = 64;
  model::SamplingSettings sampling;
  std::vector<std::string> overrides;
};

template <typename T>
T parse_number(const std::string& option, const std::string& text, T lo, T hi) {
  try {
    size_t used = 0;
    const double v = std::stod(text, &used);
    if (used == text.size() && v >= static_cast<double>(lo) && v <= static_cast<double>(hi) &&
        (std::is_floating_point_v<T> || v == static_cast<double>(static_cast<T>(v)))) {
      return static_cast<T>(v);
    }
  } catch (const std::exception&) {
  }
  throw UniformInputError("generate: " + option + ": expected a number in [" + std::to_string(lo) +
                          ", " + std::to_string(hi) + "], got \"" + text + "\"");
}

GenerateArguments parse_arguments(const std::vector<std::string>& args) {
  GenerateArguments a;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    auto value = [&]() -> const std::string& {
      if (i + 1 >= args.size()) throw UniformInputError("generate: " + arg + ": expected a value");
      return args[++i];
    };
    if (arg == "--checkpoint") {
      a.checkpoint = value();
    } else if (arg == "--init") {
      a.init = value();
    } else if (arg == "--tokenizer") {
      a.tokenizer = value();
    } else if (arg == "--prompt") {
      a.prompt = value();
      a.has_prompt = true;
    } else if (arg == "--max-new-tokens") {
      a.max_new_tokens = parse_number<int64_t>(arg, value(), 0, 1 << 20);
    } else if (arg == "--temperature") {
      a.sampling.temperature = parse_number<double>(arg, value(), 0.0, 1e6);
    } else if (arg == "--top-k") {
      a.sampling.top_k = parse_number<int64_t>(arg, value(), 0, 1 << 30);
    } else if (arg == "--top-p") {
      a.sampling.top_p = parse_number<double>(arg, value(), 1e-9, 1.0);
    } else if (arg == "--seed") {
      a.sampling.seed = parse_number<uint64_t>(arg, value(), 0, uint64_t{1} << 52);
    } else if (arg == "--set") {
      a.overrides.push_back(value());
    } else {
      throw UniformInputError("generate: unknown argument \"" + arg + "\"\n" + kUsage);
    }
  }
  if (a.checkpoint.empty() == a.init.empty()) {
    throw UniformInputError(std::string("generate: give one of --checkpoint and --init\n") +
                            kUsage);
  }
  if (a.tokenizer.empty() || !a.has_prompt) {
    throw UniformInputError(std::string("generate: --tokenizer and --prompt are required\n") +
                            kUsage);
  }
  return a;
}

}  // namespace

int run_generate_command(const std::vector<std::string>& args) {
  for (const auto& a : args) {
    if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      return kExitOk;
    }
  }
  const GenerateArguments a = parse_arguments(args);
  const ModelSource source = resolve_model_source(a.checkpoint, a.init, a.overrides);
  data::BpeTokenizer tokenizer = [&] {
    try {
      return data::BpeTokenizer::from_directory(a.tokenizer);
    } catch (const InputError& e) {
      throw UniformInputError(e.what());
    }
  }();
  std::vector<int32_t> prompt = tokenizer.encode(a.prompt, "--prompt");
  // An empty prompt starts from end-of-text, as GPT-2's unconditional samples do.
  if (prompt.empty()) prompt.push_back(tokenizer.eos_token_id());
  const model::Gpt2Shape shape = source.shape();
  if (tokenizer.vocab_size() > shape.vocab_size) {
    throw UniformInputError(
        a.tokenizer + ": vocabulary of " + std::to_string(tokenizer.vocab_size()) +
        " tokens does not fit model.vocab_size " + std::to_string(shape.vocab_size));
  }
  auto comm = comm::make_mpi_communicator();
  auto backend = ops::make_cpu_backend(DType::kFloat32);
  auto engine = load_model(source, *comm, *backend);
  model::Gpt2Options options;
  options.kv_cache = true;  // one position's forward per new token
  model::Gpt2Model model(shape, 1, *backend, options);
  model::TokenSampler sampler(a.sampling);
  const model::Generation g = model::generate_tokens(model, *engine, prompt, a.max_new_tokens,
                                                     tokenizer.eos_token_id(), sampler);
  if (comm->rank() == 0) {
    std::vector<int32_t> all = prompt;
    if (all.size() == 1 && all[0] == tokenizer.eos_token_id() && a.prompt.empty()) all.clear();
    all.insert(all.end(), g.new_ids.begin(), g.new_ids.end());
    std::fputs((tokenizer.decode(all) + "\n").c_str(), stdout);
    std::fflush(stdout);
    std::string ids;
    for (int32_t id : g.new_ids) ids += (ids.empty() ? "" : ",") + std::to_string(id);
    std::fprintf(stderr, "generate prompt_tokens=%zu new_tokens=%zu stop=%s new_ids=%s\n",
                 prompt.size(), g.new_ids.size(), g.stopped_at_eos ? "eos" : "max_new_tokens",
                 ids.empty() ? "-" : ids.c_str());
  }
  return kExitOk;
}

}  // namespace zerotune::cli
