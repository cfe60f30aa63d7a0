#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <stdexcept>

#include "zerotune/base/error.hpp"
#include "zerotune/base/hdf5_handle.hpp"
#include "zerotune/data/hdf5_attributes.hpp"
#include "zerotune/data/token_file.hpp"

namespace zerotune::data {

namespace {

namespace fs = std::filesystem;

// Chunks of about 64 KiB of input_ids: a random row read costs one chunk read, and a file of
// 10^5 rows has a few thousand chunks to index.
constexpr int64_t kChunkBytes = 64 * 1024;

Hdf5Handle create_dataset(hid_t file, const char* name, hid_t file_type, int64_t seq_len) {
  const hsize_t dims[2] = {0, static_cast<hsize_t>(seq_len)};
  const hsize_t max_dims[2] = {H5S_UNLIMITED, static_cast<hsize_t>(seq_len)};
  const hsize_t chunk[2] = {static_cast<hsize_t>(std::max<int64_t>(1, kChunkBytes / (seq_len * 4))),
                            static_cast<hsize_t>(seq_len)};
  Hdf5Handle space = h5_dataspace(H5Screate_simple(2, dims, max_dims), "H5Screate_simple");
  Hdf5Handle create = h5_plist(H5Pcreate(H5P_DATASET_CREATE), "H5Pcreate");
  h5_check(H5Pset_chunk(create.get(), 2, chunk), "H5Pset_chunk");
  h5_check(H5Pset_fill_time(create.get(), H5D_FILL_TIME_NEVER), "H5Pset_fill_time");
  return h5_dataset(
      H5Dcreate2(file, name, file_type, space.get(), H5P_DEFAULT, create.get(), H5P_DEFAULT),
      "H5Dcreate2");
}

void append_rows(hid_t dataset, hid_t memory_type, const void* data, int64_t first, int64_t count,
                 int64_t seq_len) {
  const hsize_t new_dims[2] = {static_cast<hsize_t>(first + count), static_cast<hsize_t>(seq_len)};
  h5_check(H5Dset_extent(dataset, new_dims), "H5Dset_extent");
  Hdf5Handle file_space = h5_dataspace(H5Dget_space(dataset), "H5Dget_space");
  const hsize_t start[2] = {static_cast<hsize_t>(first), 0};
  const hsize_t block[2] = {static_cast<hsize_t>(count), static_cast<hsize_t>(seq_len)};
  h5_check(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start, nullptr, block, nullptr),
           "H5Sselect_hyperslab");
  Hdf5Handle memory_space = h5_dataspace(H5Screate_simple(2, block, nullptr), "H5Screate_simple");
  h5_check(H5Dwrite(dataset, memory_type, memory_space.get(), file_space.get(), H5P_DEFAULT, data),
           "H5Dwrite");
}

void fsync_path(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0 || ::fsync(fd) != 0) {
    const std::string reason = std::strerror(errno);
    if (fd >= 0) ::close(fd);
    throw_library_error("POSIX", "fsync", path + ": " + reason);
  }
  ::close(fd);
}

// "<path>.tmp-<pid>-<random>": each writer its own temporary file, so two writers of one
// output (two `zerotune prep --out` at once) never truncate or delete each other's; the
// final rename decides which complete file the path holds.
std::string unique_temp_name(const std::string& path) {
  static std::atomic<uint64_t> counter{0};
  std::random_device entropy;
  char suffix[64];
  std::snprintf(suffix, sizeof(suffix), ".tmp-%ld-%08x%04llx", static_cast<long>(::getpid()),
                entropy(), static_cast<unsigned long long>(counter++ & 0xffff));
  return path + suffix;
}

}  // namespace

struct TokenFileWriter::Impl {
  std::string path;
  std::string tmp_path;
  TokenFileInfo info;
  Hdf5Handle file, input_ids, labels, attention_mask;
  int64_t rows = 0;
  bool committed = false;

  ~Impl() {
    if (committed) return;
    auto lock = hdf5_lock();
    input_ids = Hdf5Handle();
    labels = Hdf5Handle();
    attention_mask = Hdf5Handle();
    file = Hdf5Handle();
    std::error_code ignored;
    fs::remove(tmp_path, ignored);
  }
};

TokenFileWriter::TokenFileWriter(const std::string& path, const TokenFileInfo& info)
    : impl_(std::make_unique<Impl>()) {
  if (info.seq_len <= 0) throw std::invalid_argument("TokenFileWriter: seq_len must be positive");
  impl_->path = path;
  impl_->tmp_path = unique_temp_name(path);
  impl_->info = info;
  const fs::path parent = fs::path(path).parent_path();
  if (!parent.empty() && !fs::is_directory(parent)) {
    throw InputError(path + ": cannot write: directory " + parent.string() + " does not exist");
  }
  if (fs::is_directory(path)) throw InputError(path + ": cannot write: is a directory");
  auto lock = hdf5_lock();
  const Hdf5Handle access = h5_file_access();
  const hid_t file = H5Fcreate(impl_->tmp_path.c_str(), H5F_ACC_EXCL, H5P_DEFAULT, access.get());
  if (file < 0) {
    throw InputError(impl_->tmp_path + ": cannot create HDF5 file (" + hdf5_error_stack() + ")");
  }
  impl_->file = Hdf5Handle(file, H5Fclose, "H5Fclose");
  impl_->input_ids = create_dataset(file, "input_ids", H5T_STD_I32LE, info.seq_len);
  impl_->labels = create_dataset(file, "labels", H5T_STD_I32LE, info.seq_len);
  impl_->attention_mask = create_dataset(file, "attention_mask", H5T_STD_U8LE, info.seq_len);
}

TokenFileWriter::~TokenFileWriter() = default;

void TokenFileWriter::append(const TokenExamples& examples) {
  Impl& impl = *impl_;
  if (impl.committed) throw std::logic_error("TokenFileWriter::append after commit");
  const size_t cells = static_cast<size_t>(examples.count * impl.info.seq_len);
  if (examples.seq_len != impl.info.seq_len || examples.input_ids.size() != cells ||
      examples.labels.size() != cells || examples.attention_mask.size() != cells) {
    throw std::invalid_argument("TokenFileWriter::append: examples are not [count, seq_len]");
  }
  if (examples.count == 0) return;
  auto lock = hdf5_lock();
  append_rows(impl.input_ids.get(), H5T_NATIVE_INT32, examples.input_ids.data(), impl.rows,
              examples.count, impl.info.seq_len);
  append_rows(impl.labels.get(), H5T_NATIVE_INT32, examples.labels.data(), impl.rows,
              examples.count, impl.info.seq_len);
  append_rows(impl.attention_mask.get(), H5T_NATIVE_UINT8, examples.attention_mask.data(),
              impl.rows, examples.count, impl.info.seq_len);
  impl.rows += examples.count;
}

void TokenFileWriter::commit() {
  Impl& impl = *impl_;
  if (impl.committed) throw std::logic_error("TokenFileWriter::commit twice");
  {
    auto lock = hdf5_lock();
    const TokenFileInfo& info = impl.info;
    const hid_t root = impl.file.get();
    write_string_attribute(root, "format", kTokenFileFormat);
    write_int_attribute(root, "format_version", kTokenFileFormatVersion);
    write_string_attribute(root, "tokenizer", info.tokenizer);
    write_int_attribute(root, "vocab_size", info.vocab_size);
    write_int_attribute(root, "eos_token_id", info.eos_token_id);
    write_int_attribute(root, "pad_token_id", info.pad_token_id);
    write_int_attribute(root, "seq_len", info.seq_len);
    write_string_attribute(root, "source", info.source);
    write_string_attribute(root, "source_sha256", info.source_sha256);
    write_string_attribute(root, "split", info.split);
    impl.input_ids.close();
    impl.labels.close();
    impl.attention_mask.close();
    impl.file.close();
  }
  fsync_path(impl.tmp_path);
  std::error_code error;
  fs::rename(impl.tmp_path, impl.path, error);
  if (error) {
    throw_library_error("filesystem", "rename",
                        impl.tmp_path + " -> " + impl.path + ": " + error.message());
  }
  impl.committed = true;
}

}  // namespace zerotune::data
