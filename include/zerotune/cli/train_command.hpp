// `zerotune train [--config FILE] [--deepspeed FILE] [--set section.key=value]...
//                 [--resume auto|DIR] [--run-dir DIR]`
#pragma once

#include <string>
#include <vector>

namespace zerotune::cli {

struct TrainArguments {
  std::string config_path;             // "" = the embedded demo config
  std::vector<std::string> overrides;  // "section.key=value"
  std::string resume;                  // "", "auto" or a checkpoint directory
  std::string run_dir;                 // explicit job directory
  std::string deepspeed_path;          // DeepSpeed ds_config.json beneath the YAML; "" = none
};

TrainArguments parse_train_arguments(const std::vector<std::string>& args);
int run_train_command(const std::vector<std::string>& args);
// `zerotune config [--config FILE] [--set ...] [--reference]`: print the resolved config
// (validating it) or the reference table of every field.
int run_config_command(const std::vector<std::string>& args);

}  // namespace zerotune::cli
