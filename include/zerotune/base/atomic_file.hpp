// A file that appears under its final name complete or not at all: bytes go to
// "<path>.tmp", commit() fsyncs it, renames it over <path> and fsyncs the directory. An
// AtomicFile destroyed before commit() (an exception on the way) removes the temporary.
// Filesystem failures are LibraryError naming the call, the path and strerror.
#pragma once

#include <filesystem>
#include <string_view>

namespace zerotune {

class AtomicFile {
 public:
  explicit AtomicFile(std::filesystem::path path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, size_t bytes);
  void write(std::string_view text) { write(text.data(), text.size()); }
  void commit();

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  std::filesystem::path temp_path_;
  int fd_ = -1;
};

// The whole of `text` to `path` through an AtomicFile.
void write_file_atomically(const std::filesystem::path& path, std::string_view text);

}  // namespace zerotune
