#include "zerotune/base/hdf5_handle.hpp"

#include "zerotune/base/error.hpp"

namespace zerotune {

std::unique_lock<std::recursive_mutex> hdf5_lock() {
  static std::recursive_mutex mutex;
  std::unique_lock<std::recursive_mutex> lock(mutex);
  static const bool silenced = [] {
    h5_check(H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr), "H5Eset_auto2");
    return true;
  }();
  (void)silenced;
  return lock;
}

namespace {

herr_t collect_error(unsigned /*n*/, const H5E_error2_t* error, void* data) {
  auto* text = static_cast<std::string*>(data);
  if (!text->empty()) *text += "; ";
  *text += std::string(error->func_name ? error->func_name : "?") + ": " +
           (error->desc ? error->desc : "(no description)");
  return 0;
}

}  // namespace

int64_t hdf5_open_file_count() {
  auto lock = hdf5_lock();
  const ssize_t n = H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_FILE);
  return n < 0 ? 0 : static_cast<int64_t>(n);
}

std::string hdf5_error_stack() {
  std::string text;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, collect_error, &text);
  H5Eclear2(H5E_DEFAULT);
  return text.empty() ? "no HDF5 error stack" : text;
}

void throw_hdf5_error(const char* call, std::source_location where) {
  throw_library_error("HDF5", call, hdf5_error_stack(), where);
}

size_t h5_type_size(hid_t type, std::source_location where) {
  const size_t size = H5Tget_size(type);
  if (size == 0) throw_hdf5_error("H5Tget_size", where);
  return size;
}

Hdf5Handle::~Hdf5Handle() {
  if (id_ < 0) return;
  auto lock = hdf5_lock();
  close_(id_);
}

Hdf5Handle::Hdf5Handle(Hdf5Handle&& other) noexcept
    : id_(other.id_), close_(other.close_), close_name_(other.close_name_) {
  other.id_ = H5I_INVALID_HID;
}

Hdf5Handle& Hdf5Handle::operator=(Hdf5Handle&& other) noexcept {
  if (this != &other) {
    Hdf5Handle old(std::move(*this));
    id_ = other.id_;
    close_ = other.close_;
    close_name_ = other.close_name_;
    other.id_ = H5I_INVALID_HID;
  }
  return *this;
}

void Hdf5Handle::close(std::source_location where) {
  if (id_ < 0) return;
  auto lock = hdf5_lock();
  const hid_t id = id_;
  id_ = H5I_INVALID_HID;
  h5_check(close_(id), close_name_, where);
}

Hdf5Handle h5_file_access() {
  auto lock = hdf5_lock();
  Hdf5Handle access = h5_plist(H5Pcreate(H5P_FILE_ACCESS), "H5Pcreate");
#if H5_VERSION_GE(1, 10, 7)
  h5_check(H5Pset_file_locking(access.get(), true, true), "H5Pset_file_locking");
#endif
  return access;
}

Hdf5Handle h5_file(hid_t id, const char* call, std::source_location where) {
  return Hdf5Handle(h5_check(id, call, where), H5Fclose, "H5Fclose");
}
Hdf5Handle h5_dataset(hid_t id, const char* call, std::source_location where) {
  return Hdf5Handle(h5_check(id, call, where), H5Dclose, "H5Dclose");
}
Hdf5Handle h5_dataspace(hid_t id, const char* call, std::source_location where) {
  return Hdf5Handle(h5_check(id, call, where), H5Sclose, "H5Sclose");
}
Hdf5Handle h5_datatype(hid_t id, const char* call, std::source_location where) {
  return Hdf5Handle(h5_check(id, call, where), H5Tclose, "H5Tclose");
}
Hdf5Handle h5_attribute(hid_t id, const char* call, std::source_location where) {
  return Hdf5Handle(h5_check(id, call, where), H5Aclose, "H5Aclose");
}
Hdf5Handle h5_plist(hid_t id, const char* call, std::source_location where) {
  return Hdf5Handle(h5_check(id, call, where), H5Pclose, "H5Pclose");
}

}  // namespace zerotune
