// `zerotune eval (--checkpoint DIR | --init MODEL.safetensors) --data FILE.h5
//   [--max-samples N] [--micro-batch-size B] [--set section.key=value]...`
// Evaluates a trained model alone, on any world size and ZeRO stage (mpiexec -n N; --set
// zero.stage=3), as the per-epoch eval does (train/evaluation.hpp), and prints on rank 0
//   eval eval_loss=2.7710 eval_ppl=15.97 eval_samples=2461 eval_samples_per_second=1210.4 ...
// --checkpoint takes a checkpoint directory (its meta.json holds the run's config) or a run
// directory (its latest checkpoint). --init takes a Hugging Face GPT-2 model.safetensors with
// its config.json beside it.
#pragma once

#include <string>
#include <vector>

namespace zerotune::cli {

int run_eval_command(const std::vector<std::string>& args);

}  // namespace zerotune::cli
