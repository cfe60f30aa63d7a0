#include "zerotune/train/checkpoint_export.hpp"

#include <vector>

#include "zerotune/base/error.hpp"
#include "zerotune/runtime/job_dir.hpp"
#include "zerotune/runtime/logging.hpp"
#include "zerotune/train/checkpoint.hpp"

namespace zerotune::train {

namespace fs = std::filesystem;

CheckpointWeights export_checkpoint(const fs::path& checkpoint, const fs::path& out,
                                    const model::HfExportOptions& options) {
  if (fs::exists(out)) {
    if (!fs::is_directory(out) || (!fs::is_empty(out) && !fs::exists(out / "config.json"))) {
      throw InputError(out.string() +
                       ": exists and is not an earlier export (no config.json); choose another "
                       "--out or remove it");
    }
  }
  CheckpointWeights weights = read_checkpoint_weights(checkpoint);
  const model::Gpt2Layout layout = model::make_gpt2_layout(weights.shape);
  std::vector<const float*> units;
  for (const auto& u : weights.units) units.push_back(u.data());

  const fs::path absolute = fs::absolute(out).lexically_normal();
  const fs::path parent = absolute.parent_path();
  fs::create_directories(parent);
  const fs::path tmp = parent / (".tmp-" + absolute.filename().string());
  fs::remove_all(tmp);
  try {
    model::write_hf_directory(tmp, layout, units, options);
    runtime::fsync_path(tmp);
    fs::remove_all(absolute);
    fs::rename(tmp, absolute);
    runtime::fsync_path(parent);
  } catch (...) {
    std::error_code ec;
    fs::remove_all(tmp, ec);
    throw;
  }
  return weights;
}

void export_latest_checkpoint(const fs::path& checkpoints_dir, const fs::path& out,
                              comm::Communicator& comm) {
  std::string error;
  if (comm.rank() == 0) {
    try {
      const auto latest = latest_checkpoint(checkpoints_dir);
      if (!latest)
        throw InputError(checkpoints_dir.string() + ": no complete checkpoint to export");
      const CheckpointWeights w = export_checkpoint(*latest, out, model::HfExportOptions{});
      runtime::log().info("export written step={} dtype=fp32 dir={}", w.step, out.string());
    } catch (const std::exception& e) {
      error = std::string("checkpoint.export_hf: ") + e.what();
    }
  }
  error = comm::broadcast_string(comm, error);
  if (!error.empty()) throw LibraryError(error);
}

}  // namespace zerotune::train
