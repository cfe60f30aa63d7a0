#include "zerotune/config/deepspeed_config.hpp"

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>

#include "zerotune/base/error.hpp"
#include "zerotune/config/json_comments.hpp"

namespace zerotune::config {

namespace {

using nlohmann::json;

// Keys of DeepSpeed's config that do not change a zerotune run (yet): accepted, listed once.
const std::set<std::string> kNoEffectTopLevel = {
    "wall_clock_breakdown",
    "memory_breakdown",
    "prescale_gradients",
    "gradient_predivide_factor",
    "zero_allow_untested_optimizer",
    "zero_force_ds_cpu_optimizer",
    "flops_profiler",
    "tensorboard",
    "wandb",
    "csv_monitor",
    "comet",
    "comms_logger",
    "activation_checkpointing",
    "aio",
    "sparse_gradients",
    "dump_state",
    "checkpoint",
    "data_types",
    "elasticity",
    "autotuning",
    "monitor_config",
    "seq_parallel_communication_data_type",
    "disable_allgather",
    "steps_per_print_timers",
    "compile",
    "use_node_local_storage",
};
// cpu_offload_use_pin_memory is deprecated in DeepSpeed without effect there (the blocks'
// pin_memory decides).
const std::set<std::string> kNoEffectZero = {"contiguous_gradients",
                                             "allgather_bucket_size",
                                             "allgather_partitions",
                                             "reduce_scatter",
                                             "stage3_max_live_parameters",
                                             "stage3_max_reuse_distance",
                                             "stage3_gather_16bit_weights_on_model_save",
                                             "stage3_gather_fp16_weights_on_model_save",
                                             "sub_group_size",
                                             "round_robin_gradients",
                                             "elastic_checkpoint",
                                             "ignore_unused_parameters",
                                             "load_from_fp32_weights",
                                             "memory_efficient_linear",
                                             "use_multi_rank_bucket_allreduce",
                                             "zero_hpz_partition_size",
                                             "zero_quantized_weights",
                                             "zero_quantized_gradients",
                                             "mics_shard_size",
                                             "log_trace_cache_warnings",
                                             "cpu_offload_use_pin_memory"};

class Mapper {
 public:
  Mapper(std::string source, int world) : source_(std::move(source)), world_(world) {}

  DeepSpeedMapping map(const json& root) {
    if (!root.is_object()) fail("", "expected a JSON object, got " + root.dump());
    for (auto it = root.begin(); it != root.end(); ++it) {
      const std::string& key = it.key();
      const json& v = it.value();
      if (key == "train_batch_size" || key == "train_micro_batch_size_per_gpu" ||
          key == "gradient_accumulation_steps") {
        continue;  // the batch rule below
      } else if (key == "gradient_clipping") {
        if (!is_auto(v)) set("train.grad_clip", non_negative(key, v));
      } else if (key == "steps_per_print") {
        if (!is_auto(v)) set("log.every_n_steps", positive_int(key, v));
      } else if (key == "fp16") {
        map_fp16(v);
      } else if (key == "bf16" || key == "bfloat16") {
        map_bf16(key, v);
      } else if (key == "zero_optimization") {
        map_zero(v);
      } else if (key == "optimizer") {
        map_optimizer(v);
      } else if (key == "scheduler") {
        map_scheduler(v);
      } else if (key == "communication_data_type") {
        map_communication_data_type(key, v);
      } else if (key == "amp") {
        if (v.is_object() && v.value("enabled", false)) {
          fail(key + ".enabled", "true: NVIDIA Apex AMP is not available; use fp16 or bf16");
        }
        note(key);
      } else if (kNoEffectTopLevel.count(key)) {
        note(key);
      } else {
        fail(key, "is not a DeepSpeed config key zerotune knows (misspelt?)");
      }
    }
    map_batch(root);
    if (fp16_enabled_ && bf16_enabled_) {
      fail("fp16.enabled", "true together with bf16.enabled true: choose one precision");
    }
    return std::move(out_);
  }

 private:
  [[noreturn]] void fail(const std::string& key, const std::string& what) const {
    throw InputError(source_ + ": " + (key.empty() ? "" : key + ": ") + what);
  }
  void set(const std::string& field, const std::string& value) {
    out_.settings.push_back(field + "=" + value);
  }
  void note(const std::string& key) { out_.notes.push_back(key); }
  static bool is_auto(const json& v) { return v.is_string() && v == "auto"; }

  std::string number(const std::string& key, const json& v) const {
    if (!v.is_number()) fail(key, "expected a number, got " + v.dump());
    std::ostringstream s;
    s.precision(17);
    s << v.get<double>();
    return s.str();
  }
  std::string non_negative(const std::string& key, const json& v) const {
    if (!v.is_number() || v.get<double>() < 0) {
      fail(key, "expected a non-negative number, got " + v.dump());
    }
    return number(key, v);
  }
  int64_t positive_value(const std::string& key, const json& v) const {
    if (!v.is_number_integer() || v.get<int64_t>() <= 0) {
      fail(key, "expected a positive integer, got " + v.dump());
    }
    return v.get<int64_t>();
  }
  std::string positive_int(const std::string& key, const json& v) const {
    return std::to_string(positive_value(key, v));
  }
  // Bucket sizes and thresholds: DeepSpeed's examples write them as 5e8, a JSON float.
  std::string element_count(const std::string& key, const json& v, bool zero_allowed) const {
    const bool whole = v.is_number_integer() ||
                       (v.is_number_float() && v.get<double>() == std::floor(v.get<double>()) &&
                        v.get<double>() < 9.0e18);
    const double value = v.is_number() ? v.get<double>() : -1.0;
    if (!whole || value < 0 || (!zero_allowed && value == 0)) {
      fail(key, std::string("expected a ") + (zero_allowed ? "non-negative" : "positive") +
                    " whole number of elements, got " + v.dump());
    }
    return std::to_string(v.is_number_integer() ? v.get<int64_t>()
                                                : static_cast<int64_t>(v.get<double>()));
  }
  // DeepSpeed's communication_data_type: the dtype gradients are reduced in.
  void map_communication_data_type(const std::string& key, const json& v) {
    if (v.is_null()) return;
    if (v == "fp32" || v == "float32") {
      set("zero.reduce_dtype", "fp32");
    } else if (v == "bf16" || v == "bfloat16") {
      set("zero.reduce_dtype", "bf16");
    } else if (v == "fp16" || v == "float16") {
      set("zero.reduce_dtype", "fp16");
    } else {
      fail(key, v.dump() + " is not a communication dtype zerotune has (fp32, bf16, fp16)");
    }
  }
  bool boolean(const std::string& key, const json& v) const {
    if (!v.is_boolean()) fail(key, "expected true or false, got " + v.dump());
    return v.get<bool>();
  }
  const json& object(const std::string& key, const json& v) const {
    if (!v.is_object()) fail(key, "expected an object, got " + v.dump());
    return v;
  }

  // train_batch_size = train_micro_batch_size_per_gpu x gradient_accumulation_steps x world.
  void map_batch(const json& root) {
    auto read = [&](const char* key) -> std::optional<int64_t> {
      const auto it = root.find(key);
      if (it == root.end() || is_auto(*it)) return std::nullopt;
      return positive_value(key, *it);
    };
    const auto batch = read("train_batch_size");
    const auto micro = read("train_micro_batch_size_per_gpu");
    const auto accum = read("gradient_accumulation_steps");
    const std::string world = " x world size " + std::to_string(world_);
    if (batch && micro && accum) {
      if (*batch != *micro * *accum * world_) {
        fail("train_batch_size",
             std::to_string(*batch) + " is not train_micro_batch_size_per_gpu " +
                 std::to_string(*micro) + " x gradient_accumulation_steps " +
                 std::to_string(*accum) + world + " = " + std::to_string(*micro * *accum * world_));
      }
    } else if (batch && (micro || accum)) {
      const int64_t known = (micro ? *micro : *accum) * world_;
      if (*batch % known != 0) {
        fail("train_batch_size",
             std::to_string(*batch) + " is not divisible by " +
                 (micro ? "train_micro_batch_size_per_gpu " + std::to_string(*micro)
                        : "gradient_accumulation_steps " + std::to_string(*accum)) +
                 world);
      }
    } else if (batch && *batch % world_ != 0) {
      fail("train_batch_size", std::to_string(*batch) + " is not divisible by" + world);
    } else if (!batch && !micro && accum) {
      fail("gradient_accumulation_steps",
           std::to_string(*accum) +
               " alone: give train_batch_size or train_micro_batch_size_per_gpu as well");
    }
    // Derive what is missing as DeepSpeed does (accumulation 1 when only one is given).
    int64_t m = 0, g = 0;
    if (batch) {
      g = *batch;
      m = micro ? *micro : (accum ? *batch / (*accum * world_) : *batch / world_);
    } else if (micro) {
      m = *micro;
      g = *micro * (accum ? *accum : 1) * world_;
    }
    if (m > 0) {
      set("train.micro_batch_size", std::to_string(m));
      set("train.global_batch_size", std::to_string(g));
    }
  }

  void map_fp16(const json& v) {
    object("fp16", v);
    for (auto it = v.begin(); it != v.end(); ++it) {
      const std::string key = "fp16." + it.key();
      const json& x = it.value();
      if (is_auto(x)) continue;
      if (it.key() == "enabled") {
        fp16_enabled_ = boolean(key, x);
        if (fp16_enabled_) set("train.precision", "fp16");
      } else if (it.key() == "loss_scale") {
        set("fp16.loss_scale", non_negative(key, x));
      } else if (it.key() == "initial_scale_power") {
        if (!x.is_number_integer() || x.get<int64_t>() < 0 || x.get<int64_t>() > 32) {
          fail(key, "expected an integer in 0..32, got " + x.dump());
        }
        set("fp16.initial_scale_power", std::to_string(x.get<int64_t>()));
      } else if (it.key() == "loss_scale_window") {
        set("fp16.loss_scale_window", positive_int(key, x));
      } else if (it.key() == "hysteresis") {
        set("fp16.hysteresis", positive_int(key, x));
      } else if (it.key() == "min_loss_scale") {
        if (!x.is_number() || x.get<double>() <= 0) {
          fail(key, "expected a positive number, got " + x.dump());
        }
        set("fp16.min_loss_scale", number(key, x));
      } else if (it.key() == "consecutive_hysteresis" ||
                 it.key() == "fp16_master_weights_and_grads" || it.key() == "auto_cast") {
        if (x.is_boolean() && x.get<bool>()) fail(key, "true is not available in zerotune");
        note(key);
      } else {
        fail(key, "is not a key of DeepSpeed's fp16 block");
      }
    }
  }

  void map_bf16(const std::string& block, const json& v) {
    object(block, v);
    for (auto it = v.begin(); it != v.end(); ++it) {
      const std::string key = block + "." + it.key();
      if (is_auto(it.value())) continue;
      if (it.key() == "enabled") {
        bf16_enabled_ = boolean(key, it.value());
        if (bf16_enabled_) set("train.precision", "bf16");
      } else if (it.key() == "immediate_grad_update" || it.key() == "check_grad_overflow") {
        note(key);
      } else {
        fail(key, "is not a key of DeepSpeed's bf16 block");
      }
    }
  }

  void map_zero(const json& v) {
    // DeepSpeed's older form, still in its getting-started example: true is stage 1.
    if (v.is_boolean()) {
      set("zero.stage", v.get<bool>() ? "1" : "0");
      return;
    }
    object("zero_optimization", v);
    int64_t stage = 0;
    for (auto it = v.begin(); it != v.end(); ++it) {
      const std::string key = "zero_optimization." + it.key();
      const json& x = it.value();
      if (it.key() == "stage") {
        if (!x.is_number_integer() || x.get<int64_t>() < 0 || x.get<int64_t>() > 3) {
          fail(key, x.dump() + " is not a ZeRO stage zerotune runs (0, 1, 2 or 3)");
        }
        stage = x.get<int64_t>();
        set("zero.stage", std::to_string(stage));
      } else if (it.key() == "offload_optimizer") {
        map_offload(key, x, "zero.offload_optimizer");
      } else if (it.key() == "offload_param") {
        map_offload(key, x, "zero.offload_param");
      } else if (it.key() == "overlap_comm") {
        if (!is_auto(x)) set("zero.overlap_comm", boolean(key, x) ? "true" : "false");
      } else if (it.key() == "reduce_bucket_size") {
        if (!is_auto(x)) set("zero.reduce_bucket_size", element_count(key, x, false));
      } else if (it.key() == "stage3_prefetch_bucket_size") {
        if (!is_auto(x)) set("zero.prefetch_bucket_size", element_count(key, x, true));
      } else if (it.key() == "stage3_param_persistence_threshold") {
        if (!is_auto(x)) set("zero.param_persistence_threshold", element_count(key, x, true));
      } else if (it.key() == "cpu_offload") {  // DeepSpeed's deprecated offload_optimizer
        deprecated_offload(v, key, "offload_optimizer");
        if (boolean(key, x)) set("zero.offload_optimizer", "cpu");
      } else if (it.key() == "cpu_offload_param" || it.key() == "cpu_offload_params") {
        // DeepSpeed's deprecated offload_param, and its older spelling cpu_offload_params.
        deprecated_offload(v, key, "offload_param");
        if (boolean(key, x)) set("zero.offload_param", "cpu");
      } else if (kNoEffectZero.count(it.key())) {
        note(key);
      } else {
        fail(key, "is not a key of DeepSpeed's zero_optimization block (misspelt?)");
      }
    }
    map_nvme_path();
    (void)stage;
  }

  // DeepSpeed asserts that a deprecated key and the block replacing it are not given together.
  void deprecated_offload(const json& zero, const std::string& key, const std::string& block) {
    if (zero.contains(block)) {
      fail(key, "and zero_optimization." + block +
                    " are both set: DeepSpeed refuses the deprecated key with its replacement "
                    "(keep zero_optimization." +
                    block + ")");
    }
  }

  // Each offload block has its own nvme_path in DeepSpeed, used only where its device is nvme;
  // zerotune keeps both tiers' files in one folder (zero.nvme_path).
  void map_nvme_path() {
    const OffloadBlock* chosen = nullptr;
    for (const OffloadBlock& b : offload_blocks_) {
      if (b.device != "nvme" || b.nvme_path.empty()) continue;
      if (chosen && chosen->nvme_path != b.nvme_path) {
        fail(b.key + ".nvme_path",
             "\"" + b.nvme_path + "\" differs from " + chosen->key + ".nvme_path \"" +
                 chosen->nvme_path +
                 "\": zerotune keeps both tiers' files in one folder (give both the same path)");
      }
      chosen = &b;
    }
    if (chosen) {
      set("zero.nvme_path", chosen->nvme_path);
      return;
    }
    // No nvme tier in the file: a path still counts when the YAML or --set chooses nvme.
    for (const OffloadBlock& b : offload_blocks_) {
      if (!b.nvme_path.empty()) set("zero.nvme_path", b.nvme_path);
    }
  }

  // DeepSpeed's offload_optimizer and offload_param blocks: device, nvme_path and pin_memory
  // map onto zero.offload_optimizer / zero.offload_param, zero.nvme_path, zero.pin_memory;
  // the tuning knobs of DeepSpeed's own swapper are accepted without effect.
  void map_offload(const std::string& block, const json& v, const std::string& field) {
    object(block, v);
    OffloadBlock& seen = offload_blocks_.emplace_back();
    seen.key = block;
    for (auto it = v.begin(); it != v.end(); ++it) {
      const std::string key = block + "." + it.key();
      const json& x = it.value();
      if (it.key() == "device") {
        if (!x.is_string() || (x != "cpu" && x != "nvme" && x != "none")) {
          fail(key, x.dump() + " is not an offload device (cpu, nvme or none)");
        }
        seen.device = x.get<std::string>();
        set(field, seen.device);
      } else if (it.key() == "nvme_path") {
        if (!x.is_string() || x.get<std::string>().empty()) {
          fail(key, "expected a folder path, got " + x.dump());
        }
        seen.nvme_path = x.get<std::string>();  // map_nvme_path() sets zero.nvme_path
      } else if (it.key() == "pin_memory") {
        set("zero.pin_memory", boolean(key, x) ? "true" : "false");
      } else if (it.key() == "ratio" && field == "zero.offload_optimizer") {
        if (!x.is_number() || x.get<double>() <= 0 || x.get<double>() > 1) {
          fail(key, "expected a fraction in (0, 1], got " + x.dump());
        }
        set("zero.offload_optimizer_ratio", number(key, x));
      } else if (it.key() == "buffer_count" || it.key() == "fast_init" ||
                 it.key() == "pipeline_read" || it.key() == "pipeline_write" ||
                 it.key() == "ratio" || it.key() == "buffer_size" || it.key() == "max_in_cpu") {
        note(key);
      } else {
        fail(key, "is not a key of DeepSpeed's " + block.substr(block.rfind('.') + 1) + " block");
      }
    }
  }

  void map_optimizer(const json& v) {
    object("optimizer", v);
    std::string type;
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (it.key() != "type" && it.key() != "params") {
        fail("optimizer." + it.key(), "is not a key of DeepSpeed's optimizer block");
      }
    }
    const auto t = v.find("type");
    if (t == v.end() || !t->is_string()) fail("optimizer.type", "missing (Adam, AdamW or SGD)");
    std::string lower;
    for (char c : t->get<std::string>()) lower += static_cast<char>(std::tolower(c));
    if (lower == "adam" || lower == "adamw") {
      set("train.optimizer", "adamw");
    } else if (lower == "sgd") {
      set("train.optimizer", "sgd");
    } else {
      fail("optimizer.type", t->dump() + " is not available (Adam, AdamW or SGD)");
    }
    const auto p = v.find("params");
    if (p == v.end()) return;
    object("optimizer.params", *p);
    for (auto it = p->begin(); it != p->end(); ++it) {
      const std::string key = "optimizer.params." + it.key();
      const json& x = it.value();
      if (is_auto(x)) continue;
      if (it.key() == "lr") {
        if (!x.is_number() || x.get<double>() <= 0) {
          fail(key, "expected a positive number, got " + x.dump());
        }
        set("train.lr", number(key, x));
      } else if (it.key() == "betas") {
        if (!x.is_array() || x.size() != 2 || !x[0].is_number() || !x[1].is_number()) {
          fail(key, "expected [beta1, beta2], got " + x.dump());
        }
        set("train.beta1", number(key, x[0]));
        set("train.beta2", number(key, x[1]));
      } else if (it.key() == "eps") {
        set("train.eps", number(key, x));
      } else if (it.key() == "weight_decay") {
        set("train.weight_decay", non_negative(key, x));
      } else if (it.key() == "momentum") {
        set("train.momentum", number(key, x));
      } else if (it.key() == "adam_w_mode") {
        // DeepSpeed's Adam is AdamW unless told otherwise; L2-regularised Adam is not built.
        if (!boolean(key, x)) fail(key, "false (Adam with L2 weight decay) is not available");
      } else if (it.key() == "torch_adam" || it.key() == "fused") {
        note(key);  // an implementation choice: zerotune has its own AdamW
      } else if (it.key() == "bias_correction" || it.key() == "amsgrad" || it.key() == "nesterov" ||
                 it.key() == "dampening") {
        // Accepted at the value that means plain AdamW / SGD with momentum.
        const bool plain = it.key() == "bias_correction" ? x == true
                           : it.key() == "dampening"     ? x.is_number() && x.get<double>() == 0
                                                         : x == false;
        if (!plain) fail(key, x.dump() + " is not available");
      } else {
        fail(key, "is not a parameter of the " + t->get<std::string>() + " optimizer");
      }
    }
  }

  void map_scheduler(const json& v) {
    object("scheduler", v);
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (it.key() != "type" && it.key() != "params") {
        fail("scheduler." + it.key(), "is not a key of DeepSpeed's scheduler block");
      }
    }
    const auto t = v.find("type");
    if (t == v.end() || !t->is_string()) {
      fail("scheduler.type", "missing (WarmupLR, WarmupDecayLR or WarmupCosineLR)");
    }
    const std::string type = t->get<std::string>();
    if (type == "WarmupLR") {
      set("train.schedule", "constant");
    } else if (type == "WarmupDecayLR") {
      set("train.schedule", "linear");
      set("train.min_lr_ratio", "0");
    } else if (type == "WarmupCosineLR") {
      set("train.schedule", "cosine");
    } else {
      fail("scheduler.type", t->dump() +
                                 " is not available (WarmupLR, WarmupDecayLR, "
                                 "WarmupCosineLR)");
    }
    const auto p = v.find("params");
    if (p == v.end()) return;
    object("scheduler.params", *p);
    bool warmup_type_given = false;
    for (auto it = p->begin(); it != p->end(); ++it) {
      const std::string key = "scheduler.params." + it.key();
      const json& x = it.value();
      if (is_auto(x)) continue;
      const std::string& k = it.key();
      if (k == "warmup_num_steps") {
        if (!x.is_number_integer() || x.get<int64_t>() < 0) {
          fail(key, "expected a non-negative integer, got " + x.dump());
        }
        set("train.warmup_steps", std::to_string(x.get<int64_t>()));
      } else if (k == "warmup_max_lr" && type != "WarmupCosineLR") {
        if (!x.is_number() || x.get<double>() <= 0) {
          fail(key, "expected a positive number, got " + x.dump());
        }
        set("train.lr", number(key, x));
      } else if ((k == "warmup_min_lr" && type != "WarmupCosineLR") ||
                 (k == "warmup_min_ratio" && type == "WarmupCosineLR")) {
        // zerotune's warmup starts from 0.
        if (!x.is_number() || x.get<double>() != 0) {
          fail(key, x.dump() + ": warmup starts from 0 in zerotune (set 0)");
        }
      } else if (k == "total_num_steps" && type != "WarmupLR") {
        set("train.max_steps", positive_int(key, x));
      } else if (k == "cos_min_ratio" && type == "WarmupCosineLR") {
        if (!x.is_number() || x.get<double>() < 0 || x.get<double>() > 1) {
          fail(key, "expected a number in [0, 1], got " + x.dump());
        }
        set("train.min_lr_ratio", number(key, x));
      } else if (k == "warmup_type") {
        warmup_type_given = true;
        if (x != "linear") fail(key, x.dump() + ": zerotune warms up linearly (set \"linear\")");
      } else if (k == "last_batch_iteration") {
        if (!x.is_number_integer() || x.get<int64_t>() != -1) {
          fail(key, x.dump() + ": resume from a zerotune checkpoint instead");
        }
      } else {
        fail(key, "is not a parameter of DeepSpeed's " + type + " scheduler");
      }
    }
    if (!warmup_type_given) {
      out_.notes.push_back(
          "scheduler.params.warmup_type (DeepSpeed's default log; zerotune "
          "warms up linearly)");
    }
  }

  // An offload_optimizer or offload_param block as the file gives it.
  struct OffloadBlock {
    std::string key;  // "zero_optimization.offload_param"
    std::string device;
    std::string nvme_path;
  };

  std::string source_;
  int world_;
  bool fp16_enabled_ = false, bf16_enabled_ = false;
  std::vector<OffloadBlock> offload_blocks_;
  DeepSpeedMapping out_;
};

}  // namespace

DeepSpeedMapping map_deepspeed_config(const std::string& text, const std::string& source,
                                      int world_size) {
  json root;
  try {
    root = json::parse(strip_json_comments(text));
  } catch (const json::parse_error& e) {
    throw InputError(source + ": not valid JSON: " + e.what());
  }
  return Mapper(source, world_size).map(root);
}

DeepSpeedMapping read_deepspeed_config(const std::string& path, int world_size) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot read DeepSpeed config");
  std::ostringstream text;
  text << in.rdbuf();
  return map_deepspeed_config(text.str(), path, world_size);
}

}  // namespace zerotune::config
