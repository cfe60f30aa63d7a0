#include "zerotune/train/checkpoint.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "zerotune/base/atomic_file.hpp"
#include "zerotune/base/error.hpp"
#include "zerotune/base/hdf5_handle.hpp"
#include "zerotune/base/quoted.hpp"
#include "zerotune/comm/agreed_error.hpp"
#include "zerotune/runtime/job_dir.hpp"
#include "zerotune/train/checkpoint_discovery.hpp"
#include "zerotune/train/checkpoint_space.hpp"

namespace zerotune::train {

namespace fs = std::filesystem;

namespace {

constexpr const char* kFormat = "zerotune-checkpoint";
constexpr int64_t kFormatVersion = 1;

std::string rank_file_name(int rank) {
  char name[40];
  std::snprintf(name, sizeof(name), "state-rank-%05d.h5", rank);
  return name;
}

// Every rank learns the first failing rank's error, so all of them throw the same line.
void agree_or_throw(const std::string& local_error, comm::Communicator& comm) {
  const std::string error = comm::agreed_error(comm, local_error);
  if (!error.empty()) throw LibraryError(error);
}

// A file of this process alone (see checkpoint.hpp on why no file is shared).
Hdf5Handle open_for_write(const fs::path& path) {
  Hdf5Handle fapl = h5_plist(H5Pcreate(H5P_FILE_ACCESS), "H5Pcreate");
  return h5_file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get()), "H5Fcreate");
}

// Reads are independent: every rank opens the file on its own.
Hdf5Handle open_for_read(const fs::path& path) {
  hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (id < 0)
    throw InputError(path.string() + ": cannot open checkpoint file: " + hdf5_error_stack());
  return Hdf5Handle(id, H5Fclose, "H5Fclose");
}

void write_int_attribute(hid_t obj, const char* name, int64_t value) {
  Hdf5Handle space = h5_dataspace(H5Screate(H5S_SCALAR), "H5Screate");
  Hdf5Handle attr = h5_attribute(
      H5Acreate2(obj, name, H5T_STD_I64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT), "H5Acreate2");
  h5_check(H5Awrite(attr.get(), H5T_NATIVE_INT64, &value), "H5Awrite");
}

int64_t read_int_attribute(hid_t obj, const char* name, const fs::path& file) {
  if (H5Aexists(obj, name) <= 0)
    throw InputError(file.string() + ": checkpoint attribute " + name + " is missing");
  Hdf5Handle attr = h5_attribute(H5Aopen(obj, name, H5P_DEFAULT), "H5Aopen");
  int64_t value = 0;
  h5_check(H5Aread(attr.get(), H5T_NATIVE_INT64, &value), "H5Aread");
  return value;
}

void write_double_attribute(hid_t obj, const char* name, double value) {
  Hdf5Handle space = h5_dataspace(H5Screate(H5S_SCALAR), "H5Screate");
  Hdf5Handle attr = h5_attribute(
      H5Acreate2(obj, name, H5T_IEEE_F64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT), "H5Acreate2");
  h5_check(H5Awrite(attr.get(), H5T_NATIVE_DOUBLE, &value), "H5Awrite");
}

double read_double_attribute(hid_t obj, const char* name) {
  Hdf5Handle attr = h5_attribute(H5Aopen(obj, name, H5P_DEFAULT), "H5Aopen");
  double value = 0;
  h5_check(H5Aread(attr.get(), H5T_NATIVE_DOUBLE, &value), "H5Aread");
  return value;
}

// Writes data[0, count) at [begin, begin + count) of dataset `name` [numel]; count may be 0.
// Chunks of chunk_len elements (a shard's length: a rank's slice then fills its own chunks).
void write_slice(hid_t file, const std::string& name, int64_t numel, int64_t begin, int64_t count,
                 const float* data, int64_t chunk_len) {
  const hsize_t dims[1] = {static_cast<hsize_t>(numel)};
  Hdf5Handle fspace = h5_dataspace(H5Screate_simple(1, dims, nullptr), "H5Screate_simple");
  Hdf5Handle dcpl = h5_plist(H5Pcreate(H5P_DATASET_CREATE), "H5Pcreate");
  if (numel > 0) {
    // Per-rank files hold one slice each: chunking means the rest takes no space. Every chunk
    // carries a Fletcher32 checksum that HDF5 verifies on each read (flipped bits fail the
    // read instead of loading).
    const hsize_t chunk[1] = {
        static_cast<hsize_t>(std::clamp<int64_t>(chunk_len, 1, std::min<int64_t>(numel, 1 << 20)))};
    h5_check(H5Pset_chunk(dcpl.get(), 1, chunk), "H5Pset_chunk");
    h5_check(H5Pset_fletcher32(dcpl.get()), "H5Pset_fletcher32");
  }
  Hdf5Handle lcpl = h5_plist(H5Pcreate(H5P_LINK_CREATE), "H5Pcreate");
  h5_check(H5Pset_create_intermediate_group(lcpl.get(), 1), "H5Pset_create_intermediate_group");
  Hdf5Handle dset = h5_dataset(H5Dcreate2(file, name.c_str(), H5T_IEEE_F32LE, fspace.get(),
                                          lcpl.get(), dcpl.get(), H5P_DEFAULT),
                               "H5Dcreate2");
  const hsize_t start[1] = {static_cast<hsize_t>(begin)}, n[1] = {static_cast<hsize_t>(count)};
  Hdf5Handle mspace = h5_dataspace(H5Screate_simple(1, n, nullptr), "H5Screate_simple");
  if (count > 0) {
    h5_check(H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, start, nullptr, n, nullptr),
             "H5Sselect_hyperslab");
  } else {
    h5_check(H5Sselect_none(fspace.get()), "H5Sselect_none");
    h5_check(H5Sselect_none(mspace.get()), "H5Sselect_none");
  }
  h5_check(H5Dwrite(dset.get(), H5T_NATIVE_FLOAT, mspace.get(), fspace.get(), H5P_DEFAULT, data),
           "H5Dwrite");
}

void read_slice(hid_t file, const fs::path& path, const std::string& name, int64_t numel,
                int64_t begin, int64_t count, float* out) {
  if (H5Lexists(file, "/units", H5P_DEFAULT) <= 0 ||
      H5Lexists(file, name.c_str(), H5P_DEFAULT) <= 0) {
    throw InputError(path.string() + ": checkpoint dataset " + name + " is missing");
  }
  Hdf5Handle dset = h5_dataset(H5Dopen2(file, name.c_str(), H5P_DEFAULT), "H5Dopen2");
  Hdf5Handle fspace = h5_dataspace(H5Dget_space(dset.get()), "H5Dget_space");
  hsize_t dims[1] = {0};
  if (H5Sget_simple_extent_ndims(fspace.get()) != 1 ||
      (H5Sget_simple_extent_dims(fspace.get(), dims, nullptr),
       static_cast<int64_t>(dims[0]) != numel)) {
    throw InputError(path.string() + ": checkpoint dataset " + name +
                     " has the wrong shape (expected [" + std::to_string(numel) +
                     "]): the checkpoint is from another model");
  }
  if (count == 0) return;
  const hsize_t start[1] = {static_cast<hsize_t>(begin)}, n[1] = {static_cast<hsize_t>(count)};
  h5_check(H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, start, nullptr, n, nullptr),
           "H5Sselect_hyperslab");
  Hdf5Handle mspace = h5_dataspace(H5Screate_simple(1, n, nullptr), "H5Screate_simple");
  h5_check(H5Dread(dset.get(), H5T_NATIVE_FLOAT, mspace.get(), fspace.get(), H5P_DEFAULT, out),
           "H5Dread");
}

std::string dataset_name(const model::UnitLayout& unit, const std::string& array) {
  return "/units/" + unit.name + "/" + array;
}

// The arrays of one unit: params and the optimizer's states, with this rank's slice, held
// from the engine's state store (device, host or an NVMe slot) while this object lives.
struct NamedRange {
  std::string name;
  StateRange held;
};

class UnitArrays {
 public:
  UnitArrays(ZeroEngine& engine, int unit) : engine_(engine), unit_(unit) {
    UnitStateRanges r = engine.acquire_unit_state(unit);
    arrays_.push_back({"params", r.params});
    for (int s = 0; s < engine.optimizer_state_count(); ++s) {
      arrays_.push_back({optimizer_state_name(engine.optimizer().kind, s), r.states[s]});
    }
  }
  ~UnitArrays() { engine_.release_unit_state(unit_, modified_); }
  UnitArrays(const UnitArrays&) = delete;
  UnitArrays& operator=(const UnitArrays&) = delete;

  const std::vector<NamedRange>& arrays() const { return arrays_; }
  void mark_modified() { modified_ = true; }

 private:
  ZeroEngine& engine_;
  int unit_;
  bool modified_ = false;
  std::vector<NamedRange> arrays_;
};

void write_shape_attributes(hid_t file, const model::Gpt2Shape& s) {
  write_int_attribute(file, "n_layer", s.n_layer);
  write_int_attribute(file, "n_head", s.n_head);
  write_int_attribute(file, "n_embd", s.n_embd);
  write_int_attribute(file, "seq_len", s.seq_len);
  write_int_attribute(file, "vocab_size", s.vocab_size);
}

}  // namespace

std::optional<fs::path> latest_checkpoint(const fs::path& checkpoints_dir) {
  std::ifstream in(checkpoints_dir / "latest");
  std::string name;
  if (!in || !(in >> name)) return std::nullopt;
  const fs::path dir = checkpoints_dir / name;
  if (!fs::exists(dir / "meta.json")) return std::nullopt;
  return dir;
}

fs::path save_checkpoint(const fs::path& checkpoints_dir, ZeroEngine& engine,
                         const TrainingProgress& progress, const std::string& config_yaml,
                         int keep_last, comm::Communicator& comm, const CheckpointNotes& notes) {
  const std::string name = checkpoint_dir_name(progress.step);
  const fs::path final_dir = checkpoints_dir / name;
  const fs::path tmp_dir = checkpoints_dir / (".tmp-" + name);

  std::string error;
  if (comm.rank() == 0) {
    std::error_code ec;
    fs::remove_all(tmp_dir, ec);
    fs::create_directories(tmp_dir, ec);
    if (ec) error = "checkpoint: cannot create " + tmp_dir.string() + ": " + ec.message();
    if (error.empty()) error = free_space_shortfall(tmp_dir, checkpoint_bytes(engine), name);
    if (!error.empty()) fs::remove_all(tmp_dir, ec);
  }
  error = comm::broadcast_string(comm, error);
  if (!error.empty()) throw LibraryError(error);

  // Each rank writes its own file, even where HDF5 could write one shared file through
  // MPI-IO: a rank whose collective HDF5 call fails (a full disk) leaves the others waiting
  // inside HDF5 forever. Independent files fail independently, and the ranks agree through
  // the communicator, whose waits are bounded.
  const bool shared = comm.size() == 1;
  auto hdf5 = hdf5_lock();  // the data loader's thread may be reading a token file
  const fs::path file_path =
      tmp_dir / (shared ? std::string("state.h5") : rank_file_name(comm.rank()));
  // Runs one step of the write unless an earlier one failed; returns whether all went well.
  auto attempt = [&](auto&& write_step) {
    if (error.empty()) {
      try {
        write_step();
      } catch (const std::exception& e) {
        error = describe_write_failure(file_path, e.what());
      }
    }
    return error.empty();
  };
  std::optional<Hdf5Handle> file;
  bool healthy = attempt([&] { file.emplace(open_for_write(file_path)); });
  const auto& layout = engine.layout();
  std::vector<float> staging;  // GPU state is written from host memory
  for (size_t u = 0; u < layout.units.size() && healthy; ++u) {
    const UnitShard& shard = engine.shards()[u];
    const UnitArrays unit_arrays(engine, static_cast<int>(u));
    for (const auto& a : unit_arrays.arrays()) {
      // Everyone holding a value could write it; the shard owner does, so each element is
      // written exactly once at any stage.
      const int64_t lo = std::max(shard.begin, a.held.begin);
      const int64_t hi = std::min(shard.end, a.held.begin + a.held.count);
      const int64_t count = std::max<int64_t>(0, hi - lo);
      healthy = attempt([&] {
        const float* values = a.held.data + (count > 0 ? lo - a.held.begin : 0);
        if (!a.held.in_host_memory && count > 0) {
          staging.resize(static_cast<size_t>(count));
          engine.device().copy(staging.data(), values, count * sizeof(float));
          values = staging.data();
        }
        write_slice(file->get(), dataset_name(layout.units[u], a.name), shard.numel, lo, count,
                    values, make_unit_shard(shard.numel, comm.size(), 0).end);
      });
      if (!healthy) break;
    }
  }
  healthy =
      healthy && attempt([&] {
        write_int_attribute(file->get(), "format_version", kFormatVersion);
        write_int_attribute(file->get(), "step", progress.step);
        write_int_attribute(file->get(), "epoch", progress.position.epoch);
        write_int_attribute(file->get(), "consumed_samples", progress.position.consumed_samples);
        write_int_attribute(file->get(), "optimizer_steps", engine.optimizer_steps());
        if (progress.loss_scale.scale > 0) {
          const LossScaleState& ls = progress.loss_scale;
          write_double_attribute(file->get(), "loss_scale", ls.scale);
          write_int_attribute(file->get(), "loss_scale_hysteresis_left", ls.hysteresis_left);
          write_int_attribute(file->get(), "loss_scale_iteration", ls.iteration);
          write_int_attribute(file->get(), "loss_scale_last_overflow", ls.last_overflow_iteration);
        }
        write_int_attribute(file->get(), "world_size", comm.size());
        write_shape_attributes(file->get(), layout.shape);
        h5_check(H5Fflush(file->get(), H5F_SCOPE_GLOBAL), "H5Fflush");
        file->close();  // a failed close is an error of this save, not of a destructor
      });
  if (!healthy && file && file->get() >= 0) {
    // Closing flushes HDF5's cached metadata; on a full disk that fails and leaves the file
    // half-open inside HDF5. Emptying the file first gives its space back, so the close can
    // write what it must; the file is discarded anyway.
    give_back_space(file_path);
  }
  file.reset();
  error = comm::agreed_error(comm, error);
  if (!error.empty()) {
    if (comm.rank() == 0) {
      std::error_code ec;
      fs::remove_all(tmp_dir, ec);  // the previous checkpoint and `latest` stay as they were
    }
    throw LibraryError(error);
  }

  if (comm.rank() == 0) {
    nlohmann::json meta = {{"format", kFormat},
                           {"format_version", kFormatVersion},
                           {"step", progress.step},
                           {"epoch", progress.position.epoch},
                           {"consumed_samples", progress.position.consumed_samples},
                           {"optimizer_steps", engine.optimizer_steps()},
                           {"optimizer", optimizer_state_name(engine.optimizer().kind, 0)},
                           {"zero_stage", engine.stage()},
                           {"world_size", comm.size()},
                           {"layout", shared ? "shared" : "per_rank"},
                           {"reason", notes.reason},
                           {"keep", notes.keep},
                           {"run_state", notes.run_state},
                           {"config", config_yaml}};
    try {
      write_file_atomically(tmp_dir / "meta.json", meta.dump(2) + "\n");
      for (const auto& entry : fs::directory_iterator(tmp_dir)) runtime::fsync_path(entry.path());
      runtime::fsync_path(tmp_dir);
      // A checkpoint of this step already there (a rewound run, or a run resumed at its last
      // step) is replaced: a save writes what it says. The old one leaves only once the new
      // one is in place.
      std::error_code ec;
      const fs::path replaced = checkpoints_dir / (".replaced-" + name);
      fs::remove_all(replaced, ec);
      if (fs::exists(final_dir)) fs::rename(final_dir, replaced);
      fs::rename(tmp_dir, final_dir);
      runtime::fsync_path(checkpoints_dir);
      fs::remove_all(replaced, ec);
      write_latest(checkpoints_dir, name);
      rotate_checkpoints(checkpoints_dir, progress.step, keep_last);
    } catch (const std::exception& e) {
      error = std::string("checkpoint: ") + e.what();
      std::error_code ec;
      fs::remove_all(tmp_dir, ec);
    }
  }
  agree_or_throw(comm.rank() == 0 ? error : "", comm);
  return final_dir;
}

namespace {

// Ranks a checkpoint may name; more is a corrupt file, not a cluster.
constexpr int64_t kMaxSavedWorld = int64_t{1} << 24;

CheckpointMeta parse_checkpoint_meta(const fs::path& path) {
  const std::string where = path.string() + ": ";
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    throw InputError(where + "checkpoint metadata is missing (or not a file)");
  }
  nlohmann::json meta;
  try {
    std::ifstream in(path);
    meta = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw InputError(where + "not valid JSON (truncated?): " + e.what());
  }
  if (!meta.is_object())
    throw InputError(where + "expected a JSON object, got " + meta.type_name());
  CheckpointMeta out;
  auto field = [&](const char* name) -> const nlohmann::json* {
    const auto it = meta.find(name);
    return it == meta.end() ? nullptr : &*it;
  };
  if (const auto* v = field("optimizer")) {
    if (!v->is_string()) {
      throw InputError(where + "optimizer: expected a string, got " + v->type_name());
    }
    out.optimizer = v->get<std::string>();
  }
  if (const auto* v = field("world_size")) {
    if (!v->is_number_integer() || v->get<int64_t>() < 1 || v->get<int64_t>() > kMaxSavedWorld) {
      throw InputError(where + "world_size: expected an integer in 1.." +
                       std::to_string(kMaxSavedWorld) + ", got " +
                       (v->is_number() ? v->dump() : std::string(v->type_name())));
    }
    out.world_size = static_cast<int>(v->get<int64_t>());
  }
  if (const auto* v = field("layout")) {
    if (!v->is_string() || (*v != "shared" && *v != "per_rank")) {
      throw InputError(
          where + "layout: expected \"shared\" or \"per_rank\", got " +
          (v->is_string() ? quote_value(v->get<std::string>()) : std::string(v->type_name())));
    }
    out.shared = *v == "shared";
  }
  return out;
}

}  // namespace

CheckpointMeta read_checkpoint_meta(const fs::path& path) { return parse_checkpoint_meta(path); }

nlohmann::json read_checkpoint_run_state(const fs::path& checkpoint_dir) {
  std::ifstream in(checkpoint_dir / "meta.json");
  const nlohmann::json meta = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!meta.is_object()) return nlohmann::json::object();
  const auto it = meta.find("run_state");
  return it != meta.end() && it->is_object() ? *it : nlohmann::json::object();
}

TrainingProgress load_checkpoint(const fs::path& dir, ZeroEngine& engine,
                                 comm::Communicator& comm) {
  const CheckpointMeta meta = read_checkpoint_meta(dir / "meta.json");
  const std::string& saved_optimizer = meta.optimizer;
  if (saved_optimizer != optimizer_state_name(engine.optimizer().kind, 0)) {
    throw InputError((dir / "meta.json").string() + ": optimizer: checkpoint has " +
                     quote_value(saved_optimizer) + " state, train.optimizer asks for " +
                     optimizer_state_name(engine.optimizer().kind, 0));
  }
  const int saved_world = meta.world_size;
  const bool shared = meta.shared;

  auto hdf5 = hdf5_lock();  // the data loader's thread may be reading a token file
  // One open file per source: the shared state.h5, or each saved rank's file.
  std::map<int, Hdf5Handle> files;
  auto file_of = [&](int saved_rank) -> hid_t {
    const int key = shared ? 0 : saved_rank;
    auto it = files.find(key);
    if (it == files.end()) {
      const fs::path p = dir / (shared ? std::string("state.h5") : rank_file_name(key));
      it = files.emplace(key, open_for_read(p)).first;
    }
    return it->second.get();
  };

  const fs::path state_path = dir / (shared ? std::string("state.h5") : rank_file_name(0));
  hid_t first = file_of(0);
  const auto& s = engine.layout().shape;
  const std::pair<const char*, int64_t> expected[] = {{"n_layer", s.n_layer},
                                                      {"n_head", s.n_head},
                                                      {"n_embd", s.n_embd},
                                                      {"seq_len", s.seq_len},
                                                      {"vocab_size", s.vocab_size}};
  for (const auto& [key, value] : expected) {
    const int64_t saved = read_int_attribute(first, key, state_path);
    if (saved != value) {
      throw InputError(state_path.string() + ": model." + key + ": checkpoint has " +
                       std::to_string(saved) + ", the config has " + std::to_string(value));
    }
  }
  TrainingProgress progress;
  progress.step = read_int_attribute(first, "step", state_path);
  progress.position.epoch = read_int_attribute(first, "epoch", state_path);
  progress.position.consumed_samples = read_int_attribute(first, "consumed_samples", state_path);
  engine.set_optimizer_steps(read_int_attribute(first, "optimizer_steps", state_path));
  if (H5Aexists(first, "loss_scale") > 0) {
    progress.loss_scale.scale = read_double_attribute(first, "loss_scale");
    progress.loss_scale.hysteresis_left =
        read_int_attribute(first, "loss_scale_hysteresis_left", state_path);
    progress.loss_scale.iteration = read_int_attribute(first, "loss_scale_iteration", state_path);
    progress.loss_scale.last_overflow_iteration =
        read_int_attribute(first, "loss_scale_last_overflow", state_path);
  }

  // Per-rank files: take each overlapping piece of [begin, begin + count) from the rank
  // that wrote it.
  auto read_rank_files = [&](int64_t begin, int64_t count, float* into, const std::string& name,
                             int64_t numel) {
    for (int r = 0; r < saved_world; ++r) {
      const UnitShard src = make_unit_shard(numel, saved_world, r);
      const int64_t lo = std::max(src.begin, begin);
      const int64_t hi = std::min(src.end, begin + count);
      if (lo >= hi) continue;
      read_slice(file_of(r), dir / rank_file_name(r), name, numel, lo, hi - lo,
                 into + (lo - begin));
    }
  };
  const auto& layout = engine.layout();
  std::vector<float> staging;
  for (size_t u = 0; u < layout.units.size(); ++u) {
    const int64_t numel = engine.shards()[u].numel;
    UnitArrays unit_arrays(engine, static_cast<int>(u));
    unit_arrays.mark_modified();
    for (const auto& a : unit_arrays.arrays()) {
      const std::string name = dataset_name(layout.units[u], a.name);
      // GPU state is read into host memory first.
      const bool staged = !a.held.in_host_memory;
      if (staged) staging.assign(static_cast<size_t>(a.held.count), 0.0f);
      float* into = staged ? staging.data() : a.held.data;
      if (shared) {
        read_slice(file_of(0), state_path, name, numel, a.held.begin, a.held.count, into);
      } else {
        read_rank_files(a.held.begin, a.held.count, into, name, numel);
      }
      if (staged) engine.device().copy(a.held.data, into, a.held.count * sizeof(float));
    }
  }
  engine.parameters_loaded();
  comm.barrier();
  return progress;
}

}  // namespace zerotune::train
