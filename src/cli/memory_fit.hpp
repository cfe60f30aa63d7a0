// Before a CPU run allocates anything: does the node have the memory the config implies?
// A model shape or batch far past the machine (n_embd 65536 with 1024 layers, seq_len 2^20)
// must end in one line naming the fields, not in an allocation failure half way through.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "zerotune/config/run_config.hpp"

namespace zerotune::cli {

// GPT-2's parameter count: wte V*C + wpe T*C + per block 12*C^2 + 13*C + final LayerNorm 2*C
// (Radford et al. 2019; Hugging Face GPT2Model). A double: the bounded fields keep it finite.
double gpt2_parameter_count(const config::ModelConfig& model);

// The fewest bytes a node's ranks need on the host for a CPU run: each rank's model states at
// the configured ZeRO stage over `world_size` ranks (fp32 parameters and gradients, 8 bytes
// of AdamW or 4 of SGD state per parameter; ZeRO paper, table 1) plus its fp32 logits
// [micro_batch_size, seq_len, vocab_size]; times the ranks on this node. A lower bound:
// the other activations and buffers come on top.
double cpu_run_min_bytes_per_node(const config::RunConfig& config, int world_size,
                                  int local_world_size);

// Memory this process may use: physical memory, or the cgroup's limit (SLURM's --mem) when
// lower. 0 when unknown.
double usable_host_memory_bytes();

// InputError "<source>: model.n_layer, ...: a CPU run needs at least X GiB per node, this node
// has Y GiB" when cpu_run_min_bytes_per_node exceeds usable_host_memory_bytes().
void check_cpu_run_fits(const config::RunConfig& config, const std::vector<std::string>& overrides,
                        int world_size, int local_world_size);

}  // namespace zerotune::cli
