// RAII for HDF5 identifiers, and the check every HDF5 call goes through.
#pragma once

#include <hdf5.h>

#include <source_location>
#include <string>
#include <utility>

#include "zerotune/base/error.hpp"

namespace zerotune {

// HDF5 prints its own error stack by default; we turn failures into one message instead.
void silence_hdf5_errors();
// The innermost HDF5 error message on the current stack ("" if none).
std::string hdf5_error_message();

// Negative return values are HDF5 failures.
inline hid_t h5_check(hid_t id, const char* call,
                      std::source_location where = std::source_location::current()) {
  if (id < 0) throw_library_error("HDF5", call, hdf5_error_message(), where);
  return id;
}

class H5Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  H5Handle() = default;
  H5Handle(hid_t id, Closer closer) : id_(id), closer_(closer) {}
  ~H5Handle() { reset(); }
  H5Handle(H5Handle&& o) noexcept : id_(std::exchange(o.id_, H5I_INVALID_HID)), closer_(o.closer_) {}
  H5Handle& operator=(H5Handle&& o) noexcept {
    if (this != &o) {
      reset();
      id_ = std::exchange(o.id_, H5I_INVALID_HID);
      closer_ = o.closer_;
    }
    return *this;
  }
  H5Handle(const H5Handle&) = delete;
  H5Handle& operator=(const H5Handle&) = delete;
  hid_t get() const { return id_; }
  operator hid_t() const { return id_; }
  void reset() {
    if (id_ >= 0 && closer_) closer_(id_);
    id_ = H5I_INVALID_HID;
  }

 private:
  hid_t id_ = H5I_INVALID_HID;
  Closer closer_ = nullptr;
};

inline H5Handle h5_file(hid_t id, const char* call) { return {h5_check(id, call), H5Fclose}; }
inline H5Handle h5_dataset(hid_t id, const char* call) { return {h5_check(id, call), H5Dclose}; }
inline H5Handle h5_space(hid_t id, const char* call) { return {h5_check(id, call), H5Sclose}; }
inline H5Handle h5_plist(hid_t id, const char* call) { return {h5_check(id, call), H5Pclose}; }
inline H5Handle h5_group(hid_t id, const char* call) { return {h5_check(id, call), H5Gclose}; }
inline H5Handle h5_attr(hid_t id, const char* call) { return {h5_check(id, call), H5Aclose}; }
inline H5Handle h5_type(hid_t id, const char* call) { return {h5_check(id, call), H5Tclose}; }

}  // namespace zerotune
