// `zerotune export --checkpoint DIR --out HF_DIR [--dtype fp32|bf16|fp16] [--tokenizer DIR]
//                  [--max-shard-size SIZE]`
#pragma once

#include <string>
#include <vector>

namespace zerotune::cli {

int run_export_command(const std::vector<std::string>& args);

}  // namespace zerotune::cli
