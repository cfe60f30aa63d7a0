// keep_last rotation against hand-made checkpoint directories: a checkpoint whose meta.json
// says "keep": true (an epoch checkpoint of save_strategy epoch) is never deleted and does
// not count towards keep_last; the others rotate as Hugging Face's save_total_limit would.
#include <hdf5.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "test_support.hpp"
#include "zerotune/train/checkpoint_discovery.hpp"

using namespace zerotune::train;
using zerotune::testing::ScratchDir;
using zerotune::testing::write_text_file;
namespace fs = std::filesystem;

namespace {

// A complete checkpoint as discovery sees it: meta.json and its state file (an empty HDF5 file).
void make_checkpoint(const fs::path& checkpoints, int64_t step, bool keep, bool with_flag = true) {
  const fs::path dir = checkpoints / checkpoint_dir_name(step);
  fs::create_directories(dir);
  nlohmann::json meta = {{"format", "zerotune-checkpoint"},
                         {"step", step},
                         {"layout", "shared"},
                         {"world_size", 1},
                         {"optimizer", "adamw"}};
  if (with_flag) meta["keep"] = keep;
  write_text_file(dir / "meta.json", meta.dump());
  const hid_t file = H5Fcreate((dir / "state.h5").c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  BOOST_REQUIRE(file >= 0);
  H5Fclose(file);
}

std::vector<int64_t> steps_left(const fs::path& checkpoints) {
  std::vector<int64_t> steps;
  for (const auto& d : list_checkpoint_dirs(checkpoints)) steps.push_back(d.step);
  return steps;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(checkpoint_rotation)

// save_strategy epoch with interval saves every step, 2 steps per epoch, keep_last 1: each
// save followed by its rotation, as the trainer does it.
BOOST_AUTO_TEST_CASE(epoch_checkpoints_survive_keep_last) {
  ScratchDir scratch("zt-rotation");
  const fs::path dir = scratch / "checkpoints";
  const std::vector<std::pair<int64_t, bool>> saves = {{1, false}, {2, true},  {3, false},
                                                       {4, true},  {5, false}, {6, false}};
  for (const auto& [step, keep] : saves) {
    make_checkpoint(dir, step, keep);
    rotate_checkpoints(dir, step, 1);
  }
  BOOST_TEST(steps_left(dir) == (std::vector<int64_t>{2, 4, 6}));
  BOOST_TEST(kept_from_rotation(dir / checkpoint_dir_name(2)));
  BOOST_TEST(!kept_from_rotation(dir / checkpoint_dir_name(6)));
}

// Without the flag (save_strategy steps, or checkpoints of older versions) keep_last counts
// every checkpoint, as save_total_limit does; a later step is never touched.
BOOST_AUTO_TEST_CASE(unflagged_checkpoints_rotate_to_keep_last) {
  ScratchDir scratch("zt-rotation");
  const fs::path dir = scratch / "checkpoints";
  for (int64_t step : {10, 20, 30, 40}) make_checkpoint(dir, step, false, step != 20);
  make_checkpoint(dir, 50, false);
  rotate_checkpoints(dir, 40, 2);
  BOOST_TEST(steps_left(dir) == (std::vector<int64_t>{30, 40, 50}));
}

BOOST_AUTO_TEST_SUITE_END()
