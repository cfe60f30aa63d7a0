#include "zerotune/train/checkpoint_discovery.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "zerotune/base/atomic_file.hpp"
#include "zerotune/base/error.hpp"
#include "zerotune/base/hdf5_handle.hpp"
#include "zerotune/comm/agreed_error.hpp"
#include "zerotune/runtime/job_dir.hpp"
#include "zerotune/train/checkpoint.hpp"

namespace zerotune::train {

namespace fs = std::filesystem;

namespace {

constexpr const char* kPrefix = "step-";

std::string rank_file_name(int rank) {
  char name[40];
  std::snprintf(name, sizeof(name), "state-rank-%05d.h5", rank);
  return name;
}

// The state files meta.json says the checkpoint has; empty with `error` set if it cannot say.
std::vector<fs::path> state_files(const fs::path& dir, std::string& error) {
  const fs::path meta_path = dir / "meta.json";
  std::ifstream in(meta_path);
  if (!in) {
    error = meta_path.string() + ": missing";
    return {};
  }
  // The field-by-field checks load_checkpoint makes (one message naming meta.json and the
  // field), then what discovery adds: the format tag and the step of the directory's name.
  CheckpointMeta checked;
  try {
    checked = read_checkpoint_meta(meta_path);
  } catch (const InputError& e) {
    error = e.what();
    return {};
  }
  nlohmann::json meta = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  const auto format = meta.find("format");
  if (format == meta.end() || !format->is_string() || *format != "zerotune-checkpoint") {
    error = meta_path.string() + ": format: expected \"zerotune-checkpoint\"";
    return {};
  }
  const auto step = checkpoint_step_of(dir.filename().string());
  if (!meta.contains("step") || !meta["step"].is_number_integer() ||
      (step && meta["step"].get<int64_t>() != *step)) {
    error = meta_path.string() + ": step: does not match the directory name";
    return {};
  }
  if (checked.shared) return {dir / "state.h5"};
  std::vector<fs::path> files;
  for (int r = 0; r < checked.world_size; ++r) files.push_back(dir / rank_file_name(r));
  return files;
}

// Collects the dataset paths "units/<unit>/<array>" of an open file.
herr_t collect_dataset(hid_t /*group*/, const char* name, const H5L_info_t* /*info*/, void* out) {
  const std::string n(name);
  if (n.rfind("units/", 0) == 0 && std::count(n.begin(), n.end(), '/') == 2)
    static_cast<std::vector<std::string>*>(out)->push_back("/" + n);
  return 0;
}

std::string check_dataset(hid_t file, const fs::path& path, const std::string& name) {
  hid_t id = H5Dopen2(file, name.c_str(), H5P_DEFAULT);
  if (id < 0) return path.string() + ": " + name + ": cannot open: " + hdf5_error_stack();
  Hdf5Handle dset(id, H5Dclose, "H5Dclose");
  Hdf5Handle space = h5_dataspace(H5Dget_space(dset.get()), "H5Dget_space");
  const hssize_t n = H5Sget_simple_extent_npoints(space.get());
  if (n < 0) return path.string() + ": " + name + ": unreadable shape";
  std::vector<float> values(static_cast<size_t>(n));
  if (n > 0 &&
      H5Dread(dset.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) < 0) {
    return path.string() + ": " + name +
           ": cannot be read back (checksum mismatch or damaged file): " + hdf5_error_stack();
  }
  for (size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i])) {
      std::ostringstream s;
      s << path.string() << ": " << name << "[" << i << "] is " << values[i]
        << ": the checkpoint holds non-finite values";
      return s.str();
    }
  }
  return "";
}

std::string join_lines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(line);
  return out;
}

std::string read_latest(const fs::path& checkpoints_dir) {
  std::ifstream in(checkpoints_dir / "latest");
  std::string name;
  if (in) in >> name;
  return name;
}

}  // namespace

std::string checkpoint_dir_name(int64_t step) {
  char name[40];
  std::snprintf(name, sizeof(name), "%s%06lld", kPrefix, static_cast<long long>(step));
  return name;
}

std::optional<int64_t> checkpoint_step_of(const std::string& dir_name) {
  const std::string prefix = kPrefix;
  if (dir_name.size() <= prefix.size() || dir_name.rfind(prefix, 0) != 0) return std::nullopt;
  const std::string digits = dir_name.substr(prefix.size());
  if (digits.size() > 18 ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  return std::stoll(digits);
}

std::vector<CheckpointDir> list_checkpoint_dirs(const fs::path& checkpoints_dir) {
  std::vector<CheckpointDir> dirs;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(checkpoints_dir, ec)) {
    const auto step = checkpoint_step_of(entry.path().filename().string());
    std::error_code type_ec;
    if (step && entry.is_directory(type_ec)) dirs.push_back({*step, entry.path()});
  }
  std::sort(dirs.begin(), dirs.end(),
            [](const CheckpointDir& a, const CheckpointDir& b) { return a.step < b.step; });
  return dirs;
}

bool holds_checkpoints(const fs::path& checkpoints_dir) {
  std::error_code ec;
  return fs::exists(fs::symlink_status(checkpoints_dir / "latest", ec)) ||
         !list_checkpoint_dirs(checkpoints_dir).empty();
}

std::string checkpoint_incomplete_reason(const fs::path& dir) {
  std::string error;
  const auto files = state_files(dir, error);
  if (!error.empty()) return error;
  for (const auto& f : files) {
    std::error_code ec;
    if (!fs::is_regular_file(f, ec)) return f.string() + ": missing";
    auto lock = hdf5_lock();
    if (H5Fis_hdf5(f.c_str()) <= 0) {
      hdf5_error_stack();  // clears the stack
      return f.string() + ": not an HDF5 file";
    }
  }
  return "";
}

std::string verify_checkpoint_data(const fs::path& dir, comm::Communicator& comm) {
  std::string error;
  const auto files = state_files(dir, error);
  if (error.empty()) {
    try {
      auto lock = hdf5_lock();  // the data loader's thread may be reading a token file
      int64_t item = 0;
      for (const auto& path : files) {
        hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
        if (id < 0) {
          error = path.string() + ": cannot open: " + hdf5_error_stack();
          break;
        }
        Hdf5Handle file(id, H5Fclose, "H5Fclose");
        std::vector<std::string> names;
        if (H5Lvisit(file.get(), H5_INDEX_NAME, H5_ITER_INC, collect_dataset, &names) < 0) {
          error = path.string() + ": cannot list datasets: " + hdf5_error_stack();
          break;
        }
        if (names.empty()) {
          error = path.string() + ": holds no /units datasets";
          break;
        }
        for (const auto& name : names) {
          if (item++ % comm.size() != comm.rank()) continue;
          error = check_dataset(file.get(), path, name);
          if (!error.empty()) break;
        }
        if (!error.empty()) break;
      }
    } catch (const std::exception& e) {
      error = e.what();
    }
  }
  return comm::agreed_error(comm, error);
}

ResumeChoice find_resume_checkpoint(const fs::path& checkpoints_dir, comm::Communicator& comm) {
  std::vector<std::string> notes, candidates;
  bool any = false;
  if (comm.rank() == 0) {
    any = holds_checkpoints(checkpoints_dir);
    auto dirs = list_checkpoint_dirs(checkpoints_dir);
    std::reverse(dirs.begin(), dirs.end());
    for (const auto& d : dirs) {
      const std::string reason = checkpoint_incomplete_reason(d.path);
      if (reason.empty()) {
        candidates.push_back(d.path.string());
      } else {
        notes.push_back("skipping incomplete checkpoint " + d.path.filename().string() + ": " +
                        reason);
      }
    }
  }
  ResumeChoice choice;
  choice.any_checkpoint = !comm::broadcast_string(comm, any ? "yes" : "").empty();
  choice.notes = split_lines(comm::broadcast_string(comm, join_lines(notes)));
  for (const auto& c : split_lines(comm::broadcast_string(comm, join_lines(candidates)))) {
    const std::string problem = verify_checkpoint_data(c, comm);
    if (problem.empty()) {
      choice.dir = fs::path(c);
      break;
    }
    choice.notes.push_back("skipping corrupt checkpoint " + fs::path(c).filename().string() + ": " +
                           problem);
  }
  // Say when `latest` disagrees, so the user learns why the choice differs from it.
  std::string latest_note;
  if (comm.rank() == 0) {
    std::error_code ec;
    const fs::path latest = checkpoints_dir / "latest";
    const std::string named = read_latest(checkpoints_dir);
    const std::string chosen = choice.dir ? choice.dir->filename().string() : "";
    if (fs::is_directory(latest, ec)) {
      latest_note = "checkpoints/latest is a directory, not a file naming a checkpoint";
    } else if (!fs::exists(fs::symlink_status(latest, ec))) {
      if (choice.dir) latest_note = "checkpoints/latest is missing";
    } else if (named.empty()) {
      latest_note = "checkpoints/latest is empty";
    } else if (named != chosen) {
      latest_note = "checkpoints/latest names " + named + ", which is not the newest complete " +
                    "and verified checkpoint";
    }
  }
  latest_note = comm::broadcast_string(comm, latest_note);
  if (!latest_note.empty()) choice.notes.insert(choice.notes.begin(), latest_note);
  return choice;
}

void check_named_checkpoint(const fs::path& dir, comm::Communicator& comm) {
  std::string reason = comm.rank() == 0 ? checkpoint_incomplete_reason(dir) : "";
  reason = comm::broadcast_string(comm, reason);
  if (reason.empty()) reason = verify_checkpoint_data(dir, comm);
  if (!reason.empty()) {
    throw UniformInputError("--resume " + dir.string() + ": not a usable checkpoint: " + reason);
  }
}

std::string set_aside_later_checkpoints(const fs::path& checkpoints_dir, int64_t resumed_step) {
  std::vector<CheckpointDir> later;
  for (const auto& d : list_checkpoint_dirs(checkpoints_dir))
    if (d.step > resumed_step) later.push_back(d);
  if (later.empty()) return "";
  const fs::path aside = checkpoints_dir / ("superseded-" + runtime::timestamp_now());
  std::error_code ec;
  fs::create_directories(aside, ec);
  if (ec) {
    throw_library_error("filesystem", "create_directories(" + aside.string() + ")", ec.message());
  }
  std::string moved;
  for (const auto& d : later) {
    fs::rename(d.path, aside / d.path.filename(), ec);
    if (ec) {
      throw_library_error("filesystem", "rename(" + d.path.string() + ")", ec.message());
    }
    moved += (moved.empty() ? "" : ",") + d.path.filename().string();
  }
  // `latest` must not name a checkpoint that moved away.
  std::string newest;
  for (const auto& d : list_checkpoint_dirs(checkpoints_dir))
    if (checkpoint_incomplete_reason(d.path).empty()) newest = d.path.filename().string();
  if (newest.empty()) {
    fs::remove(checkpoints_dir / "latest", ec);
  } else {
    write_latest(checkpoints_dir, newest);
  }
  return "rewinding to step " + std::to_string(resumed_step) +
         ": the checkpoints of later steps (" + moved +
         ") belong to the earlier run and were moved to " + aside.string();
}

void write_latest(const fs::path& checkpoints_dir, const std::string& checkpoint_name) {
  const fs::path latest = checkpoints_dir / "latest";
  std::error_code ec;
  if (fs::is_directory(fs::symlink_status(latest, ec))) {
    if (!fs::remove(latest, ec)) {
      const fs::path aside = checkpoints_dir / ("latest.directory-" + runtime::timestamp_now());
      fs::rename(latest, aside, ec);
      if (ec) throw_library_error("filesystem", "rename(" + latest.string() + ")", ec.message());
    }
  }
  write_file_atomically(latest, checkpoint_name + "\n");
}

bool kept_from_rotation(const fs::path& dir) {
  std::ifstream in(dir / "meta.json");
  const nlohmann::json meta = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!meta.is_object()) return false;
  const auto keep = meta.find("keep");
  return keep != meta.end() && keep->is_boolean() && keep->get<bool>();
}

void rotate_checkpoints(const fs::path& checkpoints_dir, int64_t saved_step, int keep_last) {
  auto dirs = list_checkpoint_dirs(checkpoints_dir);
  std::reverse(dirs.begin(), dirs.end());
  int kept = 0;
  for (const auto& d : dirs) {
    if (d.step > saved_step) continue;  // never a later step: it is not ours to delete
    // Only complete checkpoints count, so damaged ones never push intact ones out.
    if (!checkpoint_incomplete_reason(d.path).empty()) continue;
    // Epoch checkpoints the user asked for stay, and leave keep_last to the others.
    if (kept_from_rotation(d.path)) continue;
    if (++kept <= std::max(1, keep_last)) continue;
    std::error_code ec;
    fs::remove_all(d.path, ec);
  }
}

}  // namespace zerotune::train
