#include "zerotune/base/error.hpp"

#include <filesystem>

namespace zerotune {

void throw_library_error(const std::string& library, const std::string& call,
                         const std::string& detail, std::source_location where) {
  const std::string file = std::filesystem::path(where.file_name()).filename().string();
  throw LibraryError(library + ": " + call + " failed at " + file + ":" +
                     std::to_string(where.line()) + ": " + detail);
}

}  // namespace zerotune
