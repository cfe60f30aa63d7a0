#include "zerotune/train/checkpoint_reader.hpp"

#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "zerotune/base/error.hpp"
#include "zerotune/base/hdf5_handle.hpp"
#include "zerotune/train/shard_layout.hpp"

namespace zerotune::train {

namespace fs = std::filesystem;

namespace {

std::string rank_file_name(int rank) {
  char name[40];
  std::snprintf(name, sizeof(name), "state-rank-%05d.h5", rank);
  return name;
}

Hdf5Handle open_read_only(const fs::path& path) {
  if (!fs::exists(path)) throw InputError(path.string() + ": checkpoint file is missing");
  Hdf5Handle fapl = h5_file_access();
  const hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.get());
  if (id < 0) {
    throw InputError(path.string() + ": cannot open checkpoint file: " + hdf5_error_stack());
  }
  return Hdf5Handle(id, H5Fclose, "H5Fclose");
}

int64_t int_attribute(hid_t file, const char* name, const fs::path& path) {
  if (H5Aexists(file, name) <= 0) {
    throw InputError(path.string() + ": checkpoint attribute " + name + " is missing");
  }
  Hdf5Handle attr = h5_attribute(H5Aopen(file, name, H5P_DEFAULT), "H5Aopen");
  int64_t value = 0;
  h5_check(H5Aread(attr.get(), H5T_NATIVE_INT64, &value), "H5Aread");
  return value;
}

// Reads [begin, begin + count) of the 1-D dataset `name`, which must hold `numel` elements.
void read_range(hid_t file, const fs::path& path, const std::string& name, int64_t numel,
                int64_t begin, int64_t count, float* out) {
  if (H5Lexists(file, "/units", H5P_DEFAULT) <= 0 ||
      H5Lexists(file, name.c_str(), H5P_DEFAULT) <= 0) {
    throw InputError(path.string() + ": checkpoint dataset " + name + " is missing");
  }
  Hdf5Handle dset = h5_dataset(H5Dopen2(file, name.c_str(), H5P_DEFAULT), "H5Dopen2");
  Hdf5Handle space = h5_dataspace(H5Dget_space(dset.get()), "H5Dget_space");
  hsize_t dims[1] = {0};
  if (H5Sget_simple_extent_ndims(space.get()) != 1 ||
      H5Sget_simple_extent_dims(space.get(), dims, nullptr) < 0 ||
      static_cast<int64_t>(dims[0]) != numel) {
    throw InputError(path.string() + ": checkpoint dataset " + name + " does not hold [" +
                     std::to_string(numel) + "] values as the model shape in its attributes asks");
  }
  if (count == 0) return;
  const hsize_t start[1] = {static_cast<hsize_t>(begin)}, n[1] = {static_cast<hsize_t>(count)};
  h5_check(H5Sselect_hyperslab(space.get(), H5S_SELECT_SET, start, nullptr, n, nullptr),
           "H5Sselect_hyperslab");
  Hdf5Handle memory = h5_dataspace(H5Screate_simple(1, n, nullptr), "H5Screate_simple");
  h5_check(H5Dread(dset.get(), H5T_NATIVE_FLOAT, memory.get(), space.get(), H5P_DEFAULT, out),
           "H5Dread");
}

nlohmann::json read_meta(const fs::path& dir) {
  const fs::path path = dir / "meta.json";
  std::ifstream in(path);
  if (!in) throw InputError(path.string() + ": checkpoint metadata is missing");
  try {
    nlohmann::json meta = nlohmann::json::parse(in);
    if (meta.is_object() && meta.value("format", "") == "zerotune-checkpoint") return meta;
  } catch (const nlohmann::json::exception& e) {
    throw InputError(path.string() + ": not valid JSON: " + e.what());
  }
  throw InputError(path.string() + ": format: expected \"zerotune-checkpoint\"");
}

}  // namespace

fs::path resolve_checkpoint_dir(const fs::path& dir) {
  if (!fs::is_directory(dir)) {
    throw InputError(dir.string() + ": checkpoint directory does not exist");
  }
  if (fs::exists(dir / "meta.json")) return dir;
  for (const fs::path& holder : {dir, dir / "checkpoints"}) {
    std::ifstream latest(holder / "latest");
    std::string name;
    if (latest && latest >> name) {
      if (!fs::exists(holder / name / "meta.json")) {
        throw InputError((holder / "latest").string() + ": names " + name +
                         ", which is not a complete checkpoint");
      }
      return holder / name;
    }
  }
  throw InputError(dir.string() +
                   ": not a checkpoint (expected meta.json, or a `latest` file naming one, as in "
                   "RUN_DIR/checkpoints/step-NNNNNN)");
}

CheckpointWeights read_checkpoint_weights(const fs::path& requested) {
  CheckpointWeights w;
  w.dir = resolve_checkpoint_dir(requested);
  const nlohmann::json meta = read_meta(w.dir);
  const bool shared = meta.value("layout", "shared") == "shared";
  w.world_size = meta.value("world_size", 1);
  w.zero_stage = meta.value("zero_stage", 0);
  if (w.world_size < 1) {
    throw InputError((w.dir / "meta.json").string() + ": world_size: expected a positive integer");
  }

  auto hdf5 = hdf5_lock();
  std::map<int, Hdf5Handle> files;  // by saved rank; the shared file is rank 0's
  auto file_of = [&](int rank) -> hid_t {
    auto it = files.find(rank);
    if (it == files.end()) {
      const fs::path p = w.dir / (shared ? std::string("state.h5") : rank_file_name(rank));
      it = files.emplace(rank, open_read_only(p)).first;
    }
    return it->second.get();
  };
  const fs::path first_path = w.dir / (shared ? std::string("state.h5") : rank_file_name(0));
  const hid_t first = file_of(0);
  w.shape.n_layer = int_attribute(first, "n_layer", first_path);
  w.shape.n_head = int_attribute(first, "n_head", first_path);
  w.shape.n_embd = int_attribute(first, "n_embd", first_path);
  w.shape.seq_len = int_attribute(first, "seq_len", first_path);
  w.shape.vocab_size = int_attribute(first, "vocab_size", first_path);
  w.step = int_attribute(first, "step", first_path);
  if (w.shape.n_layer <= 0 || w.shape.n_head <= 0 || w.shape.n_embd <= 0 || w.shape.seq_len <= 0 ||
      w.shape.vocab_size <= 0 || w.shape.n_embd % w.shape.n_head != 0) {
    throw InputError(first_path.string() + ": the model shape attributes are not a valid GPT-2");
  }

  const model::Gpt2Layout layout = model::make_gpt2_layout(w.shape);
  for (const auto& unit : layout.units) {
    const std::string name = "/units/" + unit.name + "/params";
    std::vector<float> values(static_cast<size_t>(unit.numel));
    if (shared) {
      read_range(first, first_path, name, unit.numel, 0, unit.numel, values.data());
    } else {
      // Rank r of the saving run wrote the shard it owned (shard_layout.hpp).
      for (int r = 0; r < w.world_size; ++r) {
        const UnitShard s = make_unit_shard(unit.numel, w.world_size, r);
        read_range(file_of(r), w.dir / rank_file_name(r), name, unit.numel, s.begin, s.owned(),
                   values.data() + s.begin);
      }
    }
    w.units.push_back(std::move(values));
  }
  return w;
}

}  // namespace zerotune::train
