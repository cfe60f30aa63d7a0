// RAII for HDF5 identifiers, checked calls, and the process-wide HDF5 lock.
//
// HDF5 built without --enable-threadsafe (every parallel build, Debian's and Spack's MPI
// variants included) must never be entered from two threads at once. zerotune reads token files
// on a background thread while the main thread may write a checkpoint, so every HDF5 call in
// zerotune happens while holding hdf5_lock(). The lock is recursive: helpers may take it again.
// Taking it the first time also turns off HDF5's automatic error-stack printing; failures
// become LibraryError (h5_check) or InputError (the callers' validation) instead.
#pragma once

#include <hdf5.h>

#include <mutex>
#include <source_location>
#include <string>

namespace zerotune {

std::unique_lock<std::recursive_mutex> hdf5_lock();

// Files HDF5 still holds open. After a failed close (a metadata flush that met a full disk)
// a file stays open inside HDF5 with no handle left, and HDF5's own clean-up at MPI_Finalize
// then crashes on it: a process with such a file must end without that clean-up.
int64_t hdf5_open_file_count();

// HDF5's current error stack as "function: message; ..." (innermost last), then cleared.
std::string hdf5_error_stack();

// LibraryError "HDF5: <call> failed at <file>:<line>: <error stack>".
[[noreturn]] void throw_hdf5_error(const char* call, std::source_location where);

// Every HDF5 call returns a negative value (id, herr_t, htri_t, hssize_t, class) on failure.
template <typename T>
T h5_check(T result, const char* call,
           std::source_location where = std::source_location::current()) {
  if (result < 0) throw_hdf5_error(call, where);
  return result;
}

// H5Tget_size reports failure as 0.
size_t h5_type_size(hid_t type, std::source_location where = std::source_location::current());

class Hdf5Handle {
 public:
  using CloseFn = herr_t (*)(hid_t);
  Hdf5Handle() = default;
  // Takes ownership of a valid id (check it first: h5_check or the make_* helpers below).
  Hdf5Handle(hid_t id, CloseFn close, const char* close_name)
      : id_(id), close_(close), close_name_(close_name) {}
  ~Hdf5Handle();  // closes, ignoring a failure (use close() where a failure matters)
  Hdf5Handle(Hdf5Handle&& other) noexcept;
  Hdf5Handle& operator=(Hdf5Handle&& other) noexcept;
  Hdf5Handle(const Hdf5Handle&) = delete;
  Hdf5Handle& operator=(const Hdf5Handle&) = delete;

  hid_t get() const { return id_; }
  explicit operator bool() const { return id_ >= 0; }
  // Checked close: a file's close flushes, and its failure must be reported.
  void close(std::source_location where = std::source_location::current());

 private:
  hid_t id_ = H5I_INVALID_HID;
  CloseFn close_ = nullptr;
  const char* close_name_ = "";
};

// A file access property list for serial (per-process) access: HDF5's file locks are used
// where the file system supports them and skipped where it has them disabled (Lustre mounts
// without flock), instead of failing the open (HDF5 >= 1.10.7).
Hdf5Handle h5_file_access();

// Checked constructors: h5_check(id, call) wrapped with the matching close function.
Hdf5Handle h5_file(hid_t id, const char* call,
                   std::source_location where = std::source_location::current());
Hdf5Handle h5_dataset(hid_t id, const char* call,
                      std::source_location where = std::source_location::current());
Hdf5Handle h5_dataspace(hid_t id, const char* call,
                        std::source_location where = std::source_location::current());
Hdf5Handle h5_datatype(hid_t id, const char* call,
                       std::source_location where = std::source_location::current());
Hdf5Handle h5_attribute(hid_t id, const char* call,
                        std::source_location where = std::source_location::current());
Hdf5Handle h5_plist(hid_t id, const char* call,
                    std::source_location where = std::source_location::current());

}  // namespace zerotune
