#include "zerotune/train/memory_report.hpp"

#include <vector>

#include "zerotune/runtime/logging.hpp"

namespace zerotune::train {

double zero_bytes_per_param(int64_t stage, int world, double p, double g, double k) {
  const double n = world;
  switch (stage) {
    case 0:
      return p + g + k;
    case 1:
      return p + g + k / n;
    case 2:
      return p + (g + k) / n;
    default:
      return (p + g + k) / n;
  }
}

double theory_bytes_per_param(int stage, int world, bool mixed) {
  return mixed ? zero_bytes_per_param(stage, world, 2, 2, 12)
               : zero_bytes_per_param(stage, world, 4, 4, 8);
}

void log_memory_table(const ZeroEngine& engine, comm::Communicator& comm,
                      const std::string& precision) {
  constexpr int kFields = 8;
  const MemoryAccount mine = engine.memory_account();
  const int64_t local[kFields] = {mine.parameter_bytes,      mine.gradient_bytes,
                                  mine.optimizer_bytes,      mine.scratch_bytes,
                                  mine.host_optimizer_bytes, mine.nvme_optimizer_bytes,
                                  mine.host_parameter_bytes, mine.nvme_parameter_bytes};
  std::vector<int64_t> all(kFields * comm.size());
  comm.all_gather(local, all.data(), kFields, comm::DataType::kInt64)->wait();
  if (comm.rank() != 0) return;

  const double psi = static_cast<double>(mine.model_parameters);
  const double mib = 1024.0 * 1024.0;
  auto& log = runtime::log();
  const bool mixed = precision != "fp32";
  const bool offloaded = engine.optimizer_tier() != StateTier::kDevice;
  // Offload moves the optimizer's bytes (K) off the device, and zero.offload_param the
  // parameters' (P): what stays is the rest.
  const double p = mine.host_parameter_bytes + mine.nvme_parameter_bytes > 0 ? 0 : (mixed ? 2 : 4);
  const double theory = offloaded
                            ? zero_bytes_per_param(engine.stage(), comm.size(), p, mixed ? 2 : 4, 0)
                            : theory_bytes_per_param(engine.stage(), comm.size(), mixed);
  log.info(
      "memory stage={} world_size={} params={} theory_bytes_per_param={:.2f} ({}{}) "
      "theory_fp32={:.2f} theory_mixed={:.2f}",
      engine.stage(), comm.size(), mine.model_parameters, theory, mixed ? "mixed" : "fp32",
      offloaded
          ? std::string(", optimizer offloaded to ") + state_tier_name(engine.optimizer_tier())
          : std::string(),
      theory_bytes_per_param(engine.stage(), comm.size(), false),
      theory_bytes_per_param(engine.stage(), comm.size(), true));
  for (int r = 0; r < comm.size(); ++r) {
    const int64_t* a = &all[kFields * r];
    const int64_t state = a[0] + a[1] + a[2];
    log.info(
        "memory rank={} params_mib={:.2f} grads_mib={:.2f} optimizer_mib={:.2f} scratch_mib={:.2f} "
        "state_bytes_per_param={:.2f} bytes_per_param={:.2f}",
        r, a[0] / mib, a[1] / mib, a[2] / mib, a[3] / mib, state / psi, (state + a[3]) / psi);
  }
  if (!offloaded) return;
  for (int r = 0; r < comm.size(); ++r) {
    const int64_t* a = &all[kFields * r];
    log.info(
        "memory rank={} host_optimizer_mib={:.2f} nvme_optimizer_mib={:.2f} host_params_mib={:.2f} "
        "nvme_params_mib={:.2f}",
        r, a[4] / mib, a[5] / mib, a[6] / mib, a[7] / mib);
  }
}

}  // namespace zerotune::train
