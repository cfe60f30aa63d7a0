// `zerotune generate (--checkpoint DIR | --init MODEL.safetensors) --tokenizer DIR
//   --prompt TEXT [--max-new-tokens N] [--temperature T] [--top-k K] [--top-p P] [--seed S]`
// Prints the prompt and its continuation on stdout, stopping at end-of-text or after N new
// tokens; a key=value line on stderr gives the new token ids
//   generate prompt_tokens=2 new_tokens=12 stop=max_new_tokens new_ids=318,257,...
// Temperature 0 (the default) is greedy decoding; sampling is reproducible for a seed.
// model/text_generation.hpp has the decoding rules; there is no KV cache yet.
#pragma once

#include <string>
#include <vector>

namespace zerotune::cli {

int run_generate_command(const std::vector<std::string>& args);

}  // namespace zerotune::cli
