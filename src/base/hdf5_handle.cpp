#include "zerotune/base/hdf5_handle.hpp"

namespace zerotune {

void silence_hdf5_errors() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

std::string hdf5_error_message() {
  std::string message;
  auto walk = [](unsigned, const H5E_error2_t* e, void* out) -> herr_t {
    auto* m = static_cast<std::string*>(out);
    if (m->empty() && e->desc) *m = e->desc;
    return 0;
  };
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, walk, &message);
  return message.empty() ? "unknown HDF5 error" : message;
}

}  // namespace zerotune
