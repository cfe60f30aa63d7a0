#include "zerotune/train/memory_estimate.hpp"

#include <algorithm>
#include <functional>
#include <stdexcept>
#include <vector>

#include "offloaded_shards.hpp"
#include "sharded_gradients.hpp"
#include "zerotune/train/nvme_path_check.hpp"
#include "zerotune/train/shard_layout.hpp"

namespace zerotune::train {

namespace {

// unit_buffer_pool.hpp: `count` buffers, the first as large as the largest unit, the rest as
// the second largest.
int64_t pool_elements(const std::vector<UnitShard>& shards, int count) {
  std::vector<int64_t> sizes;
  for (const auto& s : shards) sizes.push_back(s.padded_numel);
  std::sort(sizes.begin(), sizes.end(), std::greater<>());
  int64_t total = 0;
  for (int i = 0; i < count && !sizes.empty(); ++i) {
    total += sizes[std::min<size_t>(i == 0 ? 0 : 1, sizes.size() - 1)];
  }
  return total;
}

// sharded_gradients.hpp: the embeddings' and the current unit's, plus the units in flight that
// reduce_bucket_size allows; none on one rank.
int gradient_scratch_buffers(const std::vector<UnitShard>& shards, int world, int64_t bucket) {
  return world == 1 ? 0 : 2 + ShardedGradients::in_flight_units(shards, bucket);
}

constexpr int kGatherBuffers = 3;  // ZeroStage3::kGatherBuffers

}  // namespace

MemoryAccount estimate_model_states(const model::Gpt2Layout& layout, int stage, int world, int rank,
                                    DType compute_dtype, OptimizerKind optimizer,
                                    int64_t micro_batches_per_step, const CommSettings& settings,
                                    const OffloadSettings& offload) {
  const bool offloaded = offload.optimizer_tier != StateTier::kDevice;
  if (offloaded && stage == 0) {
    throw std::invalid_argument("zero.offload_optimizer needs zero.stage 1, 2 or 3");
  }
  const bool parameters_offloaded = offload.parameter_tier != StateTier::kDevice;
  if (parameters_offloaded && (stage != 3 || !offloaded)) {
    throw std::invalid_argument(
        "zero.offload_param needs zero.stage 3 and zero.offload_optimizer cpu or nvme");
  }
  const std::vector<UnitShard> shards = make_shards(layout, world, rank);
  const auto E = static_cast<int64_t>(dtype_bytes(compute_dtype));
  constexpr int64_t F = sizeof(float);
  int64_t numel = 0, padded = 0, shard = 0, owned = 0, max_shard = 0;
  std::vector<int64_t> owned_per_unit;  // the optimizer's range of each unit
  for (const auto& s : shards) {
    numel += s.numel;
    padded += s.padded_numel;
    shard += s.shard_numel;
    owned_per_unit.push_back(stage == 0 ? s.numel : s.owned());
    owned += owned_per_unit.back();
    max_shard = std::max(max_shard, s.shard_numel);
  }
  MemoryAccount a;
  a.model_parameters = layout.total_numel();
  const StateStoreSettings store_settings =
      state_store_settings(offload, compute_dtype, optimizer, layout);
  const StateStoreBytes store = state_store_bytes(store_settings, owned_per_unit);
  a.master_bytes = store.device_master;
  a.optimizer_bytes = store.device_state + store.device_master;
  a.host_optimizer_bytes = store.host_master + store.host_state;
  a.nvme_optimizer_bytes = store.nvme;
  if (offloaded) {  // the offloaded step's reduced gradients and updated compute copies
    int64_t host_owned = 0, largest_host_owned = 0;
    for (size_t u = store_settings.units_on_device; u < owned_per_unit.size(); ++u) {
      host_owned += owned_per_unit[u];
      largest_host_owned = std::max(largest_host_owned, owned_per_unit[u]);
    }
    a.host_optimizer_bytes += F * host_owned + (parameters_offloaded ? 0 : E * host_owned);
    // nvme parameters: one unit's update output on its way to the file.
    if (offload.parameter_tier == StateTier::kNvme)
      a.host_optimizer_bytes += E * largest_host_owned;
  }
  // Landing buffers exist only where micro-batches accumulate (sharded_gradients.hpp).
  const int scratch_buffers = gradient_scratch_buffers(shards, world, settings.reduce_bucket_size);
  const int64_t landing = micro_batches_per_step > 1 ? scratch_buffers * F * max_shard : 0;
  const int64_t sharded_gradient_scratch = F * pool_elements(shards, scratch_buffers) + landing;
  // Stage 3 on several ranks: units below the persistence threshold keep a gathered copy; the
  // gather buffers serve the others.
  std::vector<UnitShard> gathered;
  int64_t persistent = 0;
  for (const auto& s : shards) {
    if (world == 1) continue;
    if (s.numel < settings.param_persistence_threshold) {
      persistent += s.padded_numel;
    } else {
      gathered.push_back(s);
    }
  }
  switch (stage) {
    case 0:
      a.parameter_bytes = E * numel;
      a.gradient_bytes = F * numel;
      break;
    case 1:
      a.parameter_bytes = E * padded;
      a.gradient_bytes = F * (padded + shard);
      break;
    case 2:
      a.parameter_bytes = E * padded;
      a.gradient_bytes = F * shard;
      a.scratch_bytes = sharded_gradient_scratch;
      break;
    default:
      a.gradient_bytes = F * shard;
      if (parameters_offloaded) {  // every unit gathered at use, through staging buffers
        if (offload.parameter_tier == StateTier::kNvme) {  // nvme_shards.cpp
          std::vector<int64_t> shard_bytes;
          for (const auto& s : shards) shard_bytes.push_back(E * s.shard_numel);
          a.nvme_parameter_bytes = nvme_aligned_bytes(shard_bytes);
          a.host_parameter_bytes =
              (nvme_shard_slots(kGatherBuffers) + 1) * nvme_aligned_bytes({E * max_shard});
        } else {
          a.host_parameter_bytes = E * shard;
        }
        a.scratch_bytes = sharded_gradient_scratch + E * pool_elements(shards, kGatherBuffers) +
                          kGatherBuffers * E * max_shard;
        break;
      }
      a.parameter_bytes = E * (shard + persistent);
      a.scratch_bytes = sharded_gradient_scratch + E * pool_elements(gathered, kGatherBuffers);
      break;
  }
  return a;
}

ActivationSizing ActivationSizing::cpu_fp32() { return {}; }

// As src/cuda/cuda_backend.cu sizes them: logits rows padded to 64 elements; 16-bit runs keep
// cuDNN's fp32 softmax statistics [B, H, T], fp32 runs (our own attention kernel) the
// probabilities [B, H, T, T] in fp32.
ActivationSizing ActivationSizing::gpu(int64_t compute_bytes) {
  ActivationSizing s;
  s.compute_bytes = compute_bytes;
  s.accum_bytes = 4;
  s.logits_alignment = 64;
  s.attention_square_bytes = compute_bytes == 4 ? 4 : 0;
  s.attention_row_bytes = compute_bytes == 4 ? 0 : 4;
  return s;
}

int64_t estimate_activation_bytes(const model::Gpt2Shape& shape, int64_t max_batch,
                                  int64_t max_tokens, bool checkpointing, const ActivationSizing& z,
                                  bool separate_dlogits) {
  const int64_t L = shape.n_layer, C = shape.n_embd, H = shape.n_head, V = shape.vocab_size;
  const int64_t A = z.compute_bytes, G = z.accum_bytes;
  const int64_t R = max_batch * max_tokens;
  const int64_t S = checkpointing ? (L > 0 ? 1 : 0) : L;
  const int64_t ld = (V + z.logits_alignment - 1) / z.logits_alignment * z.logits_alignment;
  const int64_t saved = max_batch * H * max_tokens * max_tokens * z.attention_square_bytes +
                        max_batch * H * max_tokens * z.attention_row_bytes;
  // The stacks of gpt2_activations.cpp, in its order.
  int64_t bytes = 2 * R * 4;                  // ids, targets
  bytes += R * C * A;                         // encoded
  bytes += S * (R * C * A + 2 * R * G);       // ln1, mean, rstd
  bytes += S * R * 3 * C * A;                 // qkv
  bytes += S * R * C * A;                     // atty
  bytes += S * saved;                         // att_saved
  bytes += S * R * C * A;                     // residual2
  bytes += S * (R * C * A + 2 * R * G);       // ln2, mean, rstd
  bytes += S * 2 * R * 4 * C * A;             // fch, fch_gelu
  bytes += L * R * C * A;                     // residual3
  bytes += R * C * A;                         // branch
  bytes += R * C * A + 2 * R * G;             // lnf, mean, rstd
  bytes += R * ld * A;                        // logits
  bytes += R * G;                             // lse
  bytes += 3 * R * C * A;                     // dresidual, dln, datty
  bytes += R * 3 * C * A;                     // dqkv
  bytes += R * 4 * C * A;                     // dfch
  if (separate_dlogits) bytes += R * ld * A;  // dlogits
  return bytes;
}

}  // namespace zerotune::train
