#include "zerotune/data/hdf5_attributes.hpp"

#include <vector>

#include "zerotune/base/hdf5_handle.hpp"

namespace zerotune::data {

void write_int_attribute(hid_t object, const char* name, int64_t value) {
  auto lock = hdf5_lock();
  Hdf5Handle space = h5_dataspace(H5Screate(H5S_SCALAR), "H5Screate");
  Hdf5Handle attr = h5_attribute(
      H5Acreate2(object, name, H5T_STD_I64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT), "H5Acreate2");
  h5_check(H5Awrite(attr.get(), H5T_NATIVE_INT64, &value), "H5Awrite");
  attr.close();
}

void write_string_attribute(hid_t object, const char* name, const std::string& value) {
  auto lock = hdf5_lock();
  Hdf5Handle type = h5_datatype(H5Tcopy(H5T_C_S1), "H5Tcopy");
  h5_check(H5Tset_size(type.get(), H5T_VARIABLE), "H5Tset_size");
  h5_check(H5Tset_cset(type.get(), H5T_CSET_UTF8), "H5Tset_cset");
  Hdf5Handle space = h5_dataspace(H5Screate(H5S_SCALAR), "H5Screate");
  Hdf5Handle attr = h5_attribute(
      H5Acreate2(object, name, type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), "H5Acreate2");
  const char* data = value.c_str();
  h5_check(H5Awrite(attr.get(), type.get(), &data), "H5Awrite");
  attr.close();
}

std::string describe_datatype(hid_t type) {
  auto lock = hdf5_lock();
  const H5T_class_t type_class = h5_check(H5Tget_class(type), "H5Tget_class");
  const size_t bits = h5_type_size(type) * 8;
  switch (type_class) {
    case H5T_INTEGER:
      return std::string(h5_check(H5Tget_sign(type), "H5Tget_sign") == H5T_SGN_NONE ? "uint"
                                                                                    : "int") +
             std::to_string(bits);
    case H5T_FLOAT:
      return "float" + std::to_string(bits);
    case H5T_STRING:
      return "string";
    case H5T_ENUM:
      return "enum";
    case H5T_COMPOUND:
      return "compound";
    case H5T_ARRAY:
      return "array";
    default:
      return "non-numeric type";
  }
}

std::optional<Hdf5AttributeValue> read_attribute(hid_t object, const char* name) {
  auto lock = hdf5_lock();
  if (h5_check(H5Aexists(object, name), "H5Aexists") == 0) return std::nullopt;
  Hdf5Handle attr = h5_attribute(H5Aopen(object, name, H5P_DEFAULT), "H5Aopen");
  Hdf5Handle type = h5_datatype(H5Aget_type(attr.get()), "H5Aget_type");
  Hdf5Handle space = h5_dataspace(H5Aget_space(attr.get()), "H5Aget_space");
  Hdf5AttributeValue value;
  const hssize_t points =
      h5_check(H5Sget_simple_extent_npoints(space.get()), "H5Sget_simple_extent_npoints");
  const H5T_class_t type_class = h5_check(H5Tget_class(type.get()), "H5Tget_class");
  if (points != 1) {
    value.description = "array of " + std::to_string(points);
    return value;
  }
  if (type_class == H5T_INTEGER) {
    value.kind = Hdf5AttributeValue::Kind::kInteger;
    value.description = describe_datatype(type.get());
    h5_check(H5Aread(attr.get(), H5T_NATIVE_INT64, &value.integer), "H5Aread");
    return value;
  }
  if (type_class != H5T_STRING) {
    value.description = describe_datatype(type.get());
    return value;
  }
  value.kind = Hdf5AttributeValue::Kind::kString;
  value.description = "string";
  const htri_t variable = h5_check(H5Tis_variable_str(type.get()), "H5Tis_variable_str");
  Hdf5Handle memory_type = h5_datatype(H5Tcopy(H5T_C_S1), "H5Tcopy");
  h5_check(H5Tset_cset(memory_type.get(), h5_check(H5Tget_cset(type.get()), "H5Tget_cset")),
           "H5Tset_cset");
  if (variable > 0) {
    h5_check(H5Tset_size(memory_type.get(), H5T_VARIABLE), "H5Tset_size");
    char* data = nullptr;
    h5_check(H5Aread(attr.get(), memory_type.get(), &data), "H5Aread");
    if (data) value.string = data;
    h5_check(H5Dvlen_reclaim(memory_type.get(), space.get(), H5P_DEFAULT, &data),
             "H5Dvlen_reclaim");
  } else {
    const size_t size = h5_type_size(type.get());
    h5_check(H5Tset_size(memory_type.get(), size + 1), "H5Tset_size");
    h5_check(H5Tset_strpad(memory_type.get(), H5T_STR_NULLTERM), "H5Tset_strpad");
    std::vector<char> buffer(size + 1, '\0');
    h5_check(H5Aread(attr.get(), memory_type.get(), buffer.data()), "H5Aread");
    value.string = buffer.data();
  }
  return value;
}

}  // namespace zerotune::data
