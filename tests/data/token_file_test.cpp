#include "zerotune/data/token_file.hpp"

#include <hdf5.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <numeric>
#include <thread>

#include "input_error.hpp"
#include "test_support.hpp"
#include "zerotune/base/error.hpp"

using namespace zerotune;
using namespace zerotune::data;
namespace zt = zerotune::testing;
namespace fs = std::filesystem;

using zerotune::testing::input_error;

namespace {

TokenFileInfo small_info(int64_t seq_len) {
  TokenFileInfo info;
  info.seq_len = seq_len;
  info.vocab_size = 100;
  info.eos_token_id = 99;
  info.pad_token_id = 99;
  info.tokenizer = "test-tokens";
  info.source = "source.txt";
  info.source_sha256 = std::string(64, 'a');
  info.split = "train";
  return info;
}

// Row r holds tokens (r * 7 + t) % 100, labels the same except -100 at t = 0, mask 1 except 0
// at the last position.
TokenExamples pattern_rows(int64_t first, int64_t count, int64_t seq_len) {
  TokenExamples ex;
  ex.count = count;
  ex.seq_len = seq_len;
  for (int64_t r = first; r < first + count; ++r) {
    for (int64_t t = 0; t < seq_len; ++t) {
      ex.input_ids.push_back(static_cast<int32_t>((r * 7 + t) % 100));
      ex.labels.push_back(t == 0 ? -100 : static_cast<int32_t>((r * 7 + t) % 100));
      ex.attention_mask.push_back(t + 1 < seq_len ? 1 : 0);
    }
  }
  return ex;
}

void write_pattern_file(const std::string& path, int64_t rows, int64_t seq_len) {
  TokenFileWriter writer(path, small_info(seq_len));
  for (int64_t first = 0; first < rows; first += 7) {
    writer.append(pattern_rows(first, std::min<int64_t>(7, rows - first), seq_len));
  }
  writer.commit();
}

// Raw HDF5, independent of TokenFileWriter, to build malformed files.
struct RawFile {
  hid_t id;
  explicit RawFile(const std::string& path)
      : id(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT)) {}
  ~RawFile() { H5Fclose(id); }
  void dataset(const char* name, hid_t type, std::vector<hsize_t> dims, const void* data) {
    hid_t space = H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
    hid_t d = H5Dcreate2(id, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (data) H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
    H5Dclose(d);
    H5Sclose(space);
  }
  void int_attr(const char* name, int64_t value) {
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(id, name, H5T_STD_I64LE, space, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, H5T_NATIVE_INT64, &value);
    H5Aclose(a);
    H5Sclose(space);
  }
  void fixed_string_attr(const char* name, const std::string& value) {
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, value.size());
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(id, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, type, value.data());
    H5Aclose(a);
    H5Sclose(space);
    H5Tclose(type);
  }
};

// A valid file of 2 rows of 3 tokens, written raw, then altered by `edit` before closing.
// `skip` leaves out one dataset or attribute.
void write_raw(const std::string& path, const std::string& skip,
               const std::function<void(RawFile&)>& edit = nullptr) {
  RawFile f(path);
  const std::vector<int32_t> ids = {1, 2, 3, 4, 5, 6};
  const std::vector<uint8_t> mask(6, 1);
  if (skip != "input_ids") f.dataset("input_ids", H5T_NATIVE_INT32, {2, 3}, ids.data());
  if (skip != "labels") f.dataset("labels", H5T_NATIVE_INT32, {2, 3}, ids.data());
  if (skip != "attention_mask") f.dataset("attention_mask", H5T_NATIVE_UINT8, {2, 3}, mask.data());
  for (const auto& [name, value] :
       std::vector<std::pair<const char*, std::string>>{{"format", "zerotune-tokens"},
                                                        {"tokenizer", "t"},
                                                        {"source", "s"},
                                                        {"source_sha256", "h"},
                                                        {"split", "train"}}) {
    if (skip != name) f.fixed_string_attr(name, value);
  }
  for (const auto& [name, value] :
       std::vector<std::pair<const char*, int64_t>>{{"format_version", 1},
                                                    {"vocab_size", 10},
                                                    {"eos_token_id", 9},
                                                    {"pad_token_id", 9},
                                                    {"seq_len", 3}}) {
    if (skip != name) f.int_attr(name, value);
  }
  if (edit) edit(f);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(token_file)

BOOST_AUTO_TEST_CASE(round_trips_rows_in_any_order) {
  zt::ScratchDir dir("tf");
  const std::string path = (dir / "t.h5").string();
  write_pattern_file(path, 40, 5);
  BOOST_TEST(!fs::exists(path + ".tmp"));
  TokenFile file(path);
  BOOST_TEST(file.info().num_examples == 40);
  BOOST_TEST(file.info().seq_len == 5);
  BOOST_TEST(file.info().vocab_size == 100);
  BOOST_TEST(file.info().eos_token_id == 99);
  BOOST_TEST(file.info().tokenizer == "test-tokens");
  BOOST_TEST(file.info().source == "source.txt");
  BOOST_TEST(file.info().split == "train");
  const std::vector<int64_t> rows = {39, 3, 4, 5, 3, 0, 17};
  const TokenExamples got = file.read_rows(rows);
  BOOST_TEST(got.count == 7);
  for (size_t i = 0; i < rows.size(); ++i) {
    const TokenExamples expected = pattern_rows(rows[i], 1, 5);
    for (int64_t t = 0; t < 5; ++t) {
      BOOST_TEST(got.input_ids[i * 5 + t] == expected.input_ids[t]);
      BOOST_TEST(got.labels[i * 5 + t] == expected.labels[t]);
      BOOST_TEST(got.attention_mask[i * 5 + t] == expected.attention_mask[t]);
    }
  }
  BOOST_TEST(file.read_rows({}).count == 0);
  BOOST_CHECK_THROW(file.read_rows({40}), std::out_of_range);
}

// HDF5 here is not thread-safe; the HDF5 lock must make concurrent reads and writes safe.
BOOST_AUTO_TEST_CASE(threads_read_and_write_concurrently) {
  zt::ScratchDir dir("tf");
  const std::string path = (dir / "t.h5").string();
  write_pattern_file(path, 64, 16);
  const TokenFile file(path);
  std::vector<int> bad(4, 0);
  std::vector<std::thread> threads;
  for (int k = 0; k < 4; ++k) {
    threads.emplace_back([&, k] {
      for (int i = 0; i < 200; ++i) {
        const int64_t row = (i * 13 + k * 7) % 64;
        const TokenExamples got = file.read_rows({row, 63 - row});
        bad[k] += got.input_ids[0] != pattern_rows(row, 1, 16).input_ids[0];
        bad[k] += got.input_ids[16] != pattern_rows(63 - row, 1, 16).input_ids[0];
      }
    });
  }
  threads.emplace_back([&] {
    for (int i = 0; i < 5; ++i)
      write_pattern_file((dir / ("w" + std::to_string(i) + ".h5")).string(), 30, 16);
  });
  for (auto& t : threads) t.join();
  BOOST_TEST(std::accumulate(bad.begin(), bad.end(), 0) == 0);
  BOOST_TEST(TokenFile((dir / "w4.h5").string()).info().num_examples == 30);
}

BOOST_AUTO_TEST_CASE(writer_without_commit_leaves_no_file) {
  zt::ScratchDir dir("tf");
  const std::string path = (dir / "t.h5").string();
  auto entries = [&] {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir.path())) names.push_back(e.path().filename());
    return names;
  };
  {
    TokenFileWriter writer(path, small_info(4));
    writer.append(pattern_rows(0, 3, 4));
    const auto during = entries();
    BOOST_TEST_REQUIRE(during.size() == 1u);
    BOOST_TEST(during[0].rfind("t.h5.tmp", 0) == 0);
  }
  BOOST_TEST(entries().empty());
}

// Two writers of one output (two `zerotune prep --out` at once): neither truncates nor
// deletes the other's temporary file, both commit, and the path holds the last complete one.
BOOST_AUTO_TEST_CASE(two_writers_of_one_path_both_commit) {
  zt::ScratchDir dir("tf");
  const std::string path = (dir / "t.h5").string();
  TokenFileWriter first(path, small_info(4));
  TokenFileWriter second(path, small_info(4));
  first.append(pattern_rows(0, 3, 4));
  second.append(pattern_rows(0, 5, 4));
  second.commit();
  BOOST_TEST(TokenFile(path).info().num_examples == 5);
  first.commit();
  BOOST_TEST(TokenFile(path).info().num_examples == 3);
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir.path())) files += e.is_regular_file();
  BOOST_TEST(files == 1);
}

BOOST_AUTO_TEST_CASE(writer_rejects_a_missing_directory) {
  zt::ScratchDir dir("tf");
  const std::string path = (dir / "no" / "t.h5").string();
  BOOST_TEST(input_error([&] { TokenFileWriter(path, small_info(4)); }) ==
             path + ": cannot write: directory " + (dir / "no").string() + " does not exist");
}

BOOST_AUTO_TEST_CASE(reads_fixed_length_string_attributes) {
  zt::ScratchDir dir("tf");
  const std::string path = (dir / "raw.h5").string();
  write_raw(path, "");
  TokenFile file(path);
  BOOST_TEST(file.info().split == "train");
  BOOST_TEST(file.info().num_examples == 2);
}

BOOST_AUTO_TEST_CASE(missing_datasets_and_attributes_are_named) {
  zt::ScratchDir dir("tf");
  const std::string path = (dir / "raw.h5").string();
  for (const char* dataset : {"input_ids", "labels", "attention_mask"}) {
    write_raw(path, dataset);
    BOOST_TEST(input_error([&] { TokenFile{path}; }) ==
               path + ": dataset /" + dataset + " is missing");
  }
  for (const char* attr : {"format", "vocab_size", "seq_len", "source_sha256", "split"}) {
    write_raw(path, attr);
    BOOST_TEST(input_error([&] { TokenFile{path}; }) ==
               path + ": attribute '" + attr + "' is missing");
  }
}

BOOST_AUTO_TEST_CASE(wrong_dtypes_are_named) {
  zt::ScratchDir dir("tf");
  const std::string path = (dir / "raw.h5").string();
  write_raw(path, "input_ids", [](RawFile& f) {
    const std::vector<int64_t> ids = {1, 2, 3, 4, 5, 6};
    f.dataset("input_ids", H5T_NATIVE_INT64, {2, 3}, ids.data());
  });
  BOOST_TEST(input_error([&] { TokenFile{path}; }) ==
             path + ": dataset /input_ids: expected int32, got int64");
  write_raw(path, "attention_mask", [](RawFile& f) {
    const std::vector<float> mask(6, 1.0f);
    f.dataset("attention_mask", H5T_NATIVE_FLOAT, {2, 3}, mask.data());
  });
  BOOST_TEST(input_error([&] { TokenFile{path}; }) ==
             path + ": dataset /attention_mask: expected uint8, got float32");
  write_raw(path, "vocab_size", [](RawFile& f) { f.fixed_string_attr("vocab_size", "many"); });
  BOOST_TEST(input_error([&] { TokenFile{path}; }) ==
             path + ": attribute 'vocab_size': expected an integer, got string");
}

BOOST_AUTO_TEST_CASE(wrong_shapes_are_named) {
  zt::ScratchDir dir("tf");
  const std::string path = (dir / "raw.h5").string();
  write_raw(path, "labels", [](RawFile& f) {
    const std::vector<int32_t> ids(4, 1);
    f.dataset("labels", H5T_NATIVE_INT32, {2, 2}, ids.data());
  });
  BOOST_TEST(input_error([&] { TokenFile{path}; }) ==
             path + ": dataset /labels: shape [2, 2] does not match /input_ids [2, 3]");
  write_raw(path, "input_ids", [](RawFile& f) {
    const std::vector<int32_t> ids(6, 1);
    f.dataset("input_ids", H5T_NATIVE_INT32, {6}, ids.data());
  });
  BOOST_TEST(input_error([&] { TokenFile{path}; }) ==
             path + ": dataset /input_ids: expected 2 dimensions [N, seq_len], got 1");
  write_raw(path, "seq_len", [](RawFile& f) { f.int_attr("seq_len", 4); });
  BOOST_TEST(input_error([&] { TokenFile{path}; }) ==
             path + ": dataset /input_ids: shape [2, 3] does not match attribute seq_len 4");
}

BOOST_AUTO_TEST_CASE(out_of_range_tokens_are_named_on_read) {
  zt::ScratchDir dir("tf");
  const std::string path = (dir / "raw.h5").string();
  write_raw(path, "labels", [](RawFile& f) {
    const std::vector<int32_t> labels = {1, 2, 3, 4, -100, 10};
    f.dataset("labels", H5T_NATIVE_INT32, {2, 3}, labels.data());
  });
  {
    TokenFile file(path);
    BOOST_TEST(file.read_rows({0}).count == 1);
    BOOST_TEST(
        input_error([&] {
          file.read_rows({0, 1});
        }) == path + ": dataset /labels row 1 position 2: label 10 is neither -100 nor in [0, 10)");
  }
  write_raw(path, "input_ids", [](RawFile& f) {
    const std::vector<int32_t> ids = {1, -2, 3, 4, 5, 6};
    f.dataset("input_ids", H5T_NATIVE_INT32, {2, 3}, ids.data());
  });
  BOOST_TEST(
      input_error([&] { TokenFile(path).read_rows({0}); }) ==
      path + ": dataset /input_ids row 0 position 1: token id -2 is outside [0, vocab_size 10)");
}

BOOST_AUTO_TEST_CASE(non_hdf5_and_missing_files_are_named) {
  zt::ScratchDir dir("tf");
  const std::string text = (dir / "text.h5").string();
  zt::write_text_file(text, "not hdf5");
  BOOST_TEST(input_error([&] { TokenFile{text}; }) == text + ": not an HDF5 file");
  const std::string missing = (dir / "missing.h5").string();
  BOOST_TEST(input_error([&] { TokenFile{missing}; }) == missing + ": no such file");
}

BOOST_AUTO_TEST_CASE(check_fits_model_compares_vocab_and_seq_len) {
  TokenFileInfo info = small_info(8);
  info.path = "f.h5";
  check_fits_model(info, 100, 8);
  check_fits_model(info, 128, 16);
  BOOST_TEST(input_error([&] { check_fits_model(info, 64, 8); }) ==
             "f.h5: vocab_size 100 does not fit model.vocab_size 64 (token ids must be below it)");
  BOOST_TEST(input_error([&] { check_fits_model(info, 100, 4); }) ==
             "f.h5: seq_len 8 does not fit model.seq_len 4");
}

BOOST_AUTO_TEST_SUITE_END()
