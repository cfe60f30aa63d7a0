// The C++20 side of ZT_CUDA_CHECK (cuda_check.cuh): builds the LibraryError message.
#include <filesystem>
#include <string>

#include "zerotune/base/error.hpp"

namespace zerotune::cuda {

[[noreturn]] void throw_cuda_error(const char* error_name, const char* error_string,
                                   const char* call, const char* file, int line) {
  throw LibraryError(std::string("CUDA: ") + call + " failed at " +
                     std::filesystem::path(file).filename().string() + ":" + std::to_string(line) +
                     ": " + error_name + ": " + error_string);
}

}  // namespace zerotune::cuda

namespace zerotune::cuda {

[[noreturn]] void throw_cuda_library_error(const char* library, const char* error_name,
                                           const char* error_string, const char* call,
                                           const char* file, int line) {
  throw LibraryError(std::string(library) + ": " + call + " failed at " +
                     std::filesystem::path(file).filename().string() + ":" + std::to_string(line) +
                     ": " + error_name + ": " + error_string);
}

}  // namespace zerotune::cuda
