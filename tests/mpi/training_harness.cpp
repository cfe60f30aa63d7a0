#include "training_harness.hpp"

#include <mpi.h>
#include <unistd.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "zerotune/base/error.hpp"
#include "zerotune/base/hdf5_handle.hpp"
#include "zerotune/config/run_config.hpp"
#include "zerotune/runtime/device.hpp"
#include "zerotune/runtime/logging.hpp"
#include "zerotune/train/checkpoint.hpp"
#include "zerotune/train/trainer.hpp"

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

std::map<std::string, std::vector<float>> read_params(const fs::path& checkpoint) {
  std::map<std::string, std::vector<float>> params;
  auto hdf5 = hdf5_lock();
  Hdf5Handle file = h5_file(H5Fopen((checkpoint / "state.h5").c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), "H5Fopen");
  Hdf5Handle units = Hdf5Handle(h5_check(H5Gopen2(file.get(), "/units", H5P_DEFAULT), "H5Gopen2"), H5Gclose, "H5Gclose");
  hsize_t count = 0;
  H5Gget_num_objs(units.get(), &count);
  for (hsize_t i = 0; i < count; ++i) {
    char name[256];
    H5Gget_objname_by_idx(units.get(), i, name, sizeof(name));
    Hdf5Handle dset = h5_dataset(H5Dopen2(units.get(), (std::string(name) + "/params").c_str(), H5P_DEFAULT), "H5Dopen2");
    Hdf5Handle space = h5_dataspace(H5Dget_space(dset.get()), "H5Dget_space");
    hsize_t n = 0;
    H5Sget_simple_extent_dims(space.get(), &n, nullptr);
    std::vector<float> v(n);
    h5_check(H5Dread(dset.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()), "H5Dread");
    params[name] = std::move(v);
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
    if (auto latest = train::latest_checkpoint(ctx.job_dir.checkpoints())) run.final_params = read_params(*latest);
  }
  return run;
}

double max_relative_param_difference(const TrainedRun& a, const TrainedRun& b) {
  double worst = 0;
  for (const auto& [unit, pa] : a.final_params) {
    const auto& pb = b.final_params.at(unit);
    for (size_t i = 0; i < pa.size(); ++i) {
      worst = std::max(worst, std::abs(double(pa[i]) - pb[i]) / std::max(1.0, std::abs(double(pb[i]))));
    }
  }
  return worst;
}

}  // namespace zerotune::testing
