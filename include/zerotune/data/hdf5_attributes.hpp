// Scalar attributes on HDF5 objects, in the forms h5py reads and writes: 64-bit integers and
// variable-length UTF-8 strings (h5py returns them as int and str). Reading also accepts any
// integer type and fixed-length strings. Call with hdf5_lock() held.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <optional>
#include <string>

namespace zerotune::data {

void write_int_attribute(hid_t object, const char* name, int64_t value);
void write_string_attribute(hid_t object, const char* name, const std::string& value);

struct Hdf5AttributeValue {
  enum class Kind { kInteger, kString, kOther };
  Kind kind = Kind::kOther;
  int64_t integer = 0;
  std::string string;
  std::string description;  // "integer", "string", "float", "array of 3", ...
};

// nullopt when `object` has no attribute `name`.
std::optional<Hdf5AttributeValue> read_attribute(hid_t object, const char* name);

// "int32", "uint8", "float64", "string", ...: for error messages about dataset types.
std::string describe_datatype(hid_t type);

}  // namespace zerotune::data
