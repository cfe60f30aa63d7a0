// Helpers shared by the test executables: scratch directories and fixture paths.
#pragma once

#include <filesystem>
#include <string>

namespace zerotune::testing {

// A fresh directory under the system temp dir, removed when the object goes away.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& tag = "zt");
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

// ../shared/data (ZEROTUNE_SHARED_DATA overrides): the real WikiText, SQuAD and tokenizer.
std::filesystem::path shared_data_dir();
// tests/data: fixtures written for the tests.
std::filesystem::path fixture_dir();

void write_text_file(const std::filesystem::path& path, const std::string& text);
std::string read_text_file(const std::filesystem::path& path);

}  // namespace zerotune::testing
