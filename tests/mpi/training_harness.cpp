#include "training_harness.hpp"

#include <mpi.h>
#include <unistd.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "zerotune/comm/mpi_communicator.hpp"
#include "zerotune/config/run_config.hpp"
#include "zerotune/model/gpt2_layout.hpp"
#include "zerotune/ops/backend.hpp"
#include "zerotune/runtime/device.hpp"
#include "zerotune/runtime/logging.hpp"
#include "zerotune/train/checkpoint.hpp"
#include "zerotune/train/trainer.hpp"
#include "zerotune/train/zero_engine.hpp"

namespace zerotune::testing {

namespace fs = std::filesystem;

std::string tiny_run_yaml() {
  return R"(model:
  n_layer: 2
  n_head: 2
  n_embd: 32
  seq_len: 16
  vocab_size: 257
data:
  train_file: synthetic
  eval_file: ""
  prefetch_steps: 1
train:
  micro_batch_size: 1
  global_batch_size: 12
  max_steps: 6
  lr: 3.0e-3
  schedule: cosine
  warmup_steps: 2
  weight_decay: 0.1
  grad_clip: 1.0
  seed: 7
checkpoint:
  every_n_steps: 0
  keep_last: 10
log:
  every_n_steps: 1000
)";
}

fs::path shared_scratch(const std::string& name) {
  int pid = static_cast<int>(::getpid());
  MPI_Bcast(&pid, 1, MPI_INT, 0, MPI_COMM_WORLD);
  return fs::temp_directory_path() / ("zt-mpi-" + std::to_string(pid)) / name;
}

namespace {

std::map<int64_t, double> read_losses(const fs::path& metrics) {
  std::map<int64_t, double> losses;
  std::ifstream in(metrics);
  std::string line;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line);
    if (j.value("type", "") == "step") losses[j["step"].get<int64_t>()] = j["loss"].get<double>();
  }
  return losses;
}

// The full parameters of a checkpoint, read by a one-rank stage-0 engine: works for the
// shared file of parallel HDF5 and for per-rank files alike.
std::map<std::string, std::vector<float>> read_params(const fs::path& checkpoint,
                                                      const config::RunConfig& cfg) {
  auto self = comm::make_mpi_communicator(MPI_COMM_SELF);
  const auto layout =
      model::make_gpt2_layout({cfg.model.n_layer, cfg.model.n_head, cfg.model.n_embd,
                               cfg.model.seq_len, cfg.model.vocab_size});
  train::OptimizerSettings optimizer;
  optimizer.kind = train::parse_optimizer_kind(cfg.train.optimizer);
  auto backend = ops::make_cpu_backend(DType::kFloat32);
  auto engine = train::ZeroEngine::create(0, layout, optimizer, *self, *backend);
  train::load_checkpoint(checkpoint, *engine, *self);
  std::map<std::string, std::vector<float>> params;
  for (size_t u = 0; u < layout.units.size(); ++u) {
    std::vector<float> full(layout.units[u].numel);
    engine->get_unit_parameters(static_cast<int>(u), full.data());
    params[layout.units[u].name] = std::move(full);
  }
  return params;
}

}  // namespace

TrainedRun train_in_process(comm::Communicator& comm, const std::vector<std::string>& overrides,
                            const fs::path& dir, const std::string& resume) {
  runtime::log().set_level(spdlog::level::warn);
  train::RunContext ctx;
  ctx.config = config::parse_run_config(tiny_run_yaml(), "<tiny test config>", overrides);
  ctx.topology.rank = comm.rank();
  ctx.topology.world_size = comm.size();
  ctx.comm = &comm;
  ctx.device = &runtime::cpu_device();
  ctx.job_dir = runtime::JobDir(dir);
  ctx.resume = resume;
  if (comm.rank() == 0) {
    fs::remove_all(dir);
    for (const char* sub : {"memory", "logs", "checkpoints"}) fs::create_directories(dir / sub);
  }
  comm.barrier();
  TrainedRun run;
  run.dir = dir;
  run.exit_code = train::run_training(ctx);
  comm.barrier();
  if (comm.rank() == 0) {
    run.losses = read_losses(ctx.job_dir.metrics_file());
    if (auto latest = train::latest_checkpoint(ctx.job_dir.checkpoints())) {
      run.final_params = read_params(*latest, ctx.config);
    }
  }
  return run;
}

double max_relative_param_difference(const TrainedRun& a, const TrainedRun& b) {
  double worst = 0;
  for (const auto& [unit, pa] : a.final_params) {
    const auto& pb = b.final_params.at(unit);
    for (size_t i = 0; i < pa.size(); ++i) {
      worst =
          std::max(worst, std::abs(double(pa[i]) - pb[i]) / std::max(1.0, std::abs(double(pb[i]))));
    }
  }
  return worst;
}

}  // namespace zerotune::testing
