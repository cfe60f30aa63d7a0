// `--deepspeed ds_config.json`: a DeepSpeed config, as DeepSpeed users already have it, mapped
// onto the run config (https://www.deepspeed.ai/docs/config-json/).
//
// The file is JSON with what DeepSpeed's hjson reader also takes: // and # line comments,
// /* */ block comments and trailing commas. Mapped keys (DeepSpeed name -> zerotune field):
//   train_batch_size -> train.global_batch_size, train_micro_batch_size_per_gpu ->
//   train.micro_batch_size, gradient_accumulation_steps (DeepSpeed's rule: batch = micro x
//   accumulation x world size; any two give the third; "auto" leaves a value to the config)
//   gradient_clipping -> train.grad_clip; steps_per_print -> log.every_n_steps
//   fp16 {enabled -> train.precision fp16, loss_scale, initial_scale_power, loss_scale_window,
//         hysteresis, min_loss_scale -> fp16.*}; bf16 {enabled -> train.precision bf16}
//   zero_optimization {stage -> zero.stage, offload_optimizer.device none|cpu|nvme ->
//     zero.offload_optimizer, offload_param.device -> zero.offload_param, their nvme_path ->
//     zero.nvme_path, pin_memory -> zero.pin_memory}
//     (or the older zero_optimization: true / false, stage 1 / 0)
//   optimizer {type Adam|AdamW -> adamw, SGD -> sgd; params lr, betas, eps, weight_decay,
//              momentum -> train.*}
//   scheduler {WarmupLR -> constant, WarmupDecayLR -> linear, WarmupCosineLR -> cosine;
//              warmup_num_steps -> train.warmup_steps, warmup_max_lr -> train.lr,
//              total_num_steps -> train.max_steps, cos_min_ratio -> train.min_lr_ratio}
// Keys DeepSpeed knows that change nothing here are returned as notes ("accepted, no effect
// yet"); an unknown key, or a value zerotune cannot honour, is an InputError naming the file,
// the key and the value. Precedence: DeepSpeed file < YAML config < --set.
#pragma once

#include <string>
#include <vector>

#include "zerotune/config/json_comments.hpp"
#include "zerotune/config/run_config.hpp"

namespace zerotune::config {

struct DeepSpeedMapping {
  // "section.key=value" for each zerotune field the file sets, in a fixed order.
  std::vector<std::string> settings;
  // One line per key that is accepted without effect, for the info log.
  std::vector<std::string> notes;
};

// Reads and maps the file for a run of `world_size` ranks (the batch rule needs it).
DeepSpeedMapping read_deepspeed_config(const std::string& path, int world_size);

// The same from text; `source` names it in errors.
DeepSpeedMapping map_deepspeed_config(const std::string& text, const std::string& source,
                                      int world_size);

// parse_run_config with a DeepSpeed file beneath the YAML: each of the file's settings applies
// where the YAML text does not set that field (yaml_over_deepspeed false: everywhere, for a
// YAML that only supplies defaults, as the built-in demo); `overrides` (--set) apply last.
// The notes of the mapping are appended to `notes`. An error about a value the file set
// names the file.
RunConfig parse_run_config_with_deepspeed(const std::string& yaml_text, const std::string& source,
                                          const std::string& deepspeed_path, int world_size,
                                          const std::vector<std::string>& overrides,
                                          std::vector<std::string>& notes,
                                          bool yaml_over_deepspeed = true);

}  // namespace zerotune::config
