// Errors. Input errors (config, data files, command line) are InputError: one line that names
// the file, the field and what was expected. Library failures (MPI, HDF5, BLAS, CUDA, NCCL)
// are LibraryError: the call, where it was made and the library's own message.
// main() catches both, prints the one line on stderr and exits with the documented code.
#pragma once

#if __cplusplus >= 202002L
#include <source_location>
#endif
#include <stdexcept>
#include <string>

namespace zerotune {

// Exit codes of the `zerotune` executable (documented in the README).
inline constexpr int kExitOk = 0;
inline constexpr int kExitInputError = 2;    // bad config, data or command line
inline constexpr int kExitLibraryError = 3;  // MPI / HDF5 / CUDA / NCCL / filesystem failure
inline constexpr int kExitPeerFailure = 4;   // another rank died or stopped answering
inline constexpr int kExitRequeue = 85;      // stopped on a signal after checkpointing: requeue me

class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// An InputError that every rank meets the same way (the command line and config, checked
// before any rank talks to another): main reports it once, on rank 0, and every rank exits
// normally instead of aborting the job.
class UniformInputError : public InputError {
 public:
  using InputError::InputError;
};

class LibraryError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// "call failed at file:line: detail". C++20 only: CUDA translation units (C++17) include this
// header for the exception types and raise their errors through src/cuda/cuda_error.cpp.
#if __cplusplus >= 202002L
[[noreturn]] void throw_library_error(const std::string& library, const std::string& call,
                                      const std::string& detail,
                                      std::source_location where = std::source_location::current());
#endif

}  // namespace zerotune
