#include "zerotune/model/safetensors.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "zerotune/base/atomic_file.hpp"
#include "zerotune/base/error.hpp"

namespace zerotune::model {

static_assert(std::endian::native == std::endian::little,
              "safetensors data is little-endian; this reader assumes a little-endian host");

namespace {

using nlohmann::json;

// The reference implementation refuses headers above 100 MB; so do we.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

struct DTypeInfo {
  DType dtype;
  const char* name;
  int64_t bytes;
};

constexpr DTypeInfo kDTypes[] = {
    {DType::kBool, "BOOL", 1}, {DType::kU8, "U8", 1},   {DType::kI8, "I8", 1},
    {DType::kU16, "U16", 2},   {DType::kI16, "I16", 2}, {DType::kF16, "F16", 2},
    {DType::kBF16, "BF16", 2}, {DType::kU32, "U32", 4}, {DType::kI32, "I32", 4},
    {DType::kF32, "F32", 4},   {DType::kF64, "F64", 8}, {DType::kU64, "U64", 8},
    {DType::kI64, "I64", 8},
};

const DTypeInfo& info(DType dtype) {
  for (const auto& d : kDTypes) {
    if (d.dtype == dtype) return d;
  }
  throw std::logic_error("unknown DType");
}

[[noreturn]] void fail(const std::filesystem::path& path, const std::string& what) {
  throw InputError(path.string() + ": " + what);
}

[[noreturn]] void fail(const std::filesystem::path& path, const std::string& tensor,
                       const std::string& what) {
  throw InputError(path.string() + ": tensor \"" + tensor + "\": " + what);
}

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// IEEE binary16 -> binary32, exact (every half is a float).
float half_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exponent = (h >> 10) & 0x1fu;
  const uint32_t mantissa = h & 0x3ffu;
  if (exponent == 0) {  // zero or subnormal: mantissa * 2^-24
    const float magnitude = std::ldexp(static_cast<float>(mantissa), -24);
    return sign ? -magnitude : magnitude;
  }
  if (exponent == 31) return std::bit_cast<float>(sign | 0x7f800000u | (mantissa << 13));
  return std::bit_cast<float>(sign | ((exponent + 112) << 23) | (mantissa << 13));
}

// bfloat16 is the upper half of a binary32.
float bf16_to_float(uint16_t b) { return std::bit_cast<float>(static_cast<uint32_t>(b) << 16); }

template <typename Raw>
Raw load(const unsigned char* bytes, int64_t i) {
  Raw value;
  std::memcpy(&value, bytes + i * static_cast<int64_t>(sizeof(Raw)), sizeof(Raw));
  return value;
}

uint64_t json_u64(const json& value, const std::filesystem::path& path, const std::string& tensor,
                  const char* field) {
  if (!value.is_number_unsigned() && !(value.is_number_integer() && value.get<int64_t>() >= 0)) {
    fail(path, tensor,
         std::string(field) + ": expected non-negative integers, got " + value.dump());
  }
  return value.get<uint64_t>();
}

}  // namespace

const char* dtype_name(DType dtype) { return info(dtype).name; }
int64_t dtype_bytes(DType dtype) { return info(dtype).bytes; }

SafetensorsFile::SafetensorsFile(std::filesystem::path path) : path_(std::move(path)) {
  std::ifstream in(path_, std::ios::binary);
  if (!in) fail(path_, "cannot open safetensors file");
  std::error_code ec;
  const uint64_t file_bytes = std::filesystem::file_size(path_, ec);
  if (ec) fail(path_, "cannot stat: " + ec.message());
  if (file_bytes < 8) {
    fail(path_, "truncated: " + std::to_string(file_bytes) +
                    " bytes, a safetensors file starts with an 8-byte header length");
  }
  unsigned char length_bytes[8];
  in.read(reinterpret_cast<char*>(length_bytes), 8);
  uint64_t header_bytes = 0;
  for (int i = 7; i >= 0; --i) header_bytes = (header_bytes << 8) | length_bytes[i];
  if (header_bytes > kMaxHeaderBytes) {
    fail(path_, "header length " + std::to_string(header_bytes) +
                    " is implausible (not a safetensors file?)");
  }
  if (header_bytes > file_bytes - 8) {
    fail(path_, "truncated: header length " + std::to_string(header_bytes) + " but only " +
                    std::to_string(file_bytes - 8) + " bytes follow");
  }
  std::string header_text(header_bytes, '\0');
  in.read(header_text.data(), static_cast<std::streamsize>(header_bytes));
  if (!in) fail(path_, "cannot read the header");
  data_start_ = 8 + header_bytes;
  const uint64_t data_bytes = file_bytes - data_start_;

  json header;
  try {
    header = json::parse(header_text);
  } catch (const json::parse_error& e) {
    fail(path_, std::string("header is not valid JSON: ") + e.what());
  }
  if (!header.is_object()) fail(path_, "header is not a JSON object");

  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    const json& entry = it.value();
    if (name == "__metadata__") {
      if (!entry.is_object()) fail(path_, "__metadata__: expected an object of strings");
      for (auto m = entry.begin(); m != entry.end(); ++m) {
        if (!m.value().is_string()) fail(path_, "__metadata__." + m.key() + ": expected a string");
        metadata_[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    if (!entry.is_object()) fail(path_, name, "expected an object with dtype, shape, data_offsets");
    SafetensorsTensor t;
    t.name = name;

    const auto dtype = entry.find("dtype");
    if (dtype == entry.end() || !dtype->is_string()) fail(path_, name, "dtype: missing");
    const std::string dtype_text = dtype->get<std::string>();
    const auto known = std::find_if(std::begin(kDTypes), std::end(kDTypes),
                                    [&](const DTypeInfo& d) { return dtype_text == d.name; });
    if (known == std::end(kDTypes)) fail(path_, name, "unsupported dtype \"" + dtype_text + "\"");
    t.dtype = known->dtype;

    const auto shape = entry.find("shape");
    if (shape == entry.end() || !shape->is_array()) fail(path_, name, "shape: missing");
    uint64_t numel = 1;
    bool overflow = false;
    for (const auto& d : *shape) {
      const uint64_t dim = json_u64(d, path_, name, "shape");
      t.shape.push_back(static_cast<int64_t>(dim));
      if (dim != 0 && numel > (uint64_t{1} << 62) / dim) overflow = true;
      numel *= dim;
    }
    if (overflow) fail(path_, name, "shape " + shape_string(t.shape) + " is too large");
    t.numel = static_cast<int64_t>(numel);

    const auto offsets = entry.find("data_offsets");
    if (offsets == entry.end() || !offsets->is_array() || offsets->size() != 2) {
      fail(path_, name, "data_offsets: expected [begin, end]");
    }
    t.data_begin = json_u64((*offsets)[0], path_, name, "data_offsets");
    t.data_end = json_u64((*offsets)[1], path_, name, "data_offsets");
    if (t.data_end < t.data_begin) fail(path_, name, "data_offsets end before begin");
    const uint64_t expected = numel * static_cast<uint64_t>(known->bytes);
    if (t.data_end - t.data_begin != expected) {
      fail(path_, name,
           "data_offsets span " + std::to_string(t.data_end - t.data_begin) + " bytes but " +
               dtype_text + " " + shape_string(t.shape) + " needs " + std::to_string(expected));
    }
    tensors_.push_back(std::move(t));
  }

  // The tensors must tile the data section exactly, as the reference implementation checks.
  std::stable_sort(tensors_.begin(), tensors_.end(), [](const auto& a, const auto& b) {
    return a.data_begin != b.data_begin ? a.data_begin < b.data_begin : a.data_end < b.data_end;
  });
  uint64_t covered = 0;
  for (const auto& t : tensors_) {
    if (t.data_begin != covered) {
      fail(path_, t.name,
           (t.data_begin < covered ? "overlaps the previous tensor" : "leaves a gap before it") +
               std::string(" (data_offsets begin ") + std::to_string(t.data_begin) + ", expected " +
               std::to_string(covered) + ")");
    }
    if (t.data_end > data_bytes) {
      fail(path_, t.name,
           "truncated: data ends at byte " + std::to_string(t.data_end) +
               " of the data section but the file holds only " + std::to_string(data_bytes));
    }
    covered = t.data_end;
  }
  if (covered != data_bytes) {
    fail(path_, std::to_string(data_bytes - covered) + " bytes after the last tensor");
  }
  for (size_t i = 0; i < tensors_.size(); ++i) index_[tensors_[i].name] = i;
}

const SafetensorsTensor* SafetensorsFile::find(const std::string& name) const {
  const auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

const SafetensorsTensor& SafetensorsFile::at(const std::string& name) const {
  const SafetensorsTensor* t = find(name);
  if (!t) fail(path_, name, "not in the file");
  return *t;
}

std::vector<unsigned char> SafetensorsFile::read_bytes(const SafetensorsTensor& t) const {
  std::vector<unsigned char> bytes(t.data_end - t.data_begin);
  std::ifstream in(path_, std::ios::binary);
  if (!in) fail(path_, t.name, "cannot open the file to read the tensor");
  in.seekg(static_cast<std::streamoff>(data_start_ + t.data_begin));
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!in) fail(path_, t.name, "truncated: the file changed since it was opened");
  return bytes;
}

template <typename T>
void SafetensorsFile::read_into(const std::string& name, std::span<T> out) const {
  const SafetensorsTensor& t = at(name);
  if (static_cast<int64_t>(out.size()) != t.numel) {
    fail(path_, name,
         "holds " + std::to_string(t.numel) + " elements " + shape_string(t.shape) + ", expected " +
             std::to_string(out.size()));
  }
  const std::vector<unsigned char> bytes = read_bytes(t);
  const unsigned char* b = bytes.data();
  const int64_t n = t.numel;
  constexpr bool kInteger = std::is_integral_v<T>;

  auto integer = [&](auto raw_tag) {
    using Raw = decltype(raw_tag);
    for (int64_t i = 0; i < n; ++i) {
      const Raw v = load<Raw>(b, i);
      if constexpr (kInteger) {
        if (v < std::numeric_limits<T>::min() || v > std::numeric_limits<T>::max()) {
          fail(path_, name,
               "element " + std::to_string(i) + " = " + std::to_string(v) +
                   " does not fit in int32");
        }
      }
      out[i] = static_cast<T>(v);
    }
  };
  switch (t.dtype) {
    case DType::kI32:
      return integer(int32_t{});
    case DType::kI64:
      return integer(int64_t{});
    default:
      break;
  }
  if constexpr (kInteger) {
    fail(path_, name, std::string("dtype ") + dtype_name(t.dtype) + " does not read as int32");
  } else {
    switch (t.dtype) {
      case DType::kF32:
        for (int64_t i = 0; i < n; ++i) out[i] = static_cast<T>(load<float>(b, i));
        return;
      case DType::kF64:
        for (int64_t i = 0; i < n; ++i) out[i] = static_cast<T>(load<double>(b, i));
        return;
      case DType::kF16:
        for (int64_t i = 0; i < n; ++i) out[i] = half_to_float(load<uint16_t>(b, i));
        return;
      case DType::kBF16:
        for (int64_t i = 0; i < n; ++i) out[i] = bf16_to_float(load<uint16_t>(b, i));
        return;
      default:
        fail(path_, name,
             std::string("dtype ") + dtype_name(t.dtype) + " does not read as floating point");
    }
  }
}

void SafetensorsFile::read(const std::string& name, std::span<float> out) const {
  read_into(name, out);
}
void SafetensorsFile::read(const std::string& name, std::span<double> out) const {
  read_into(name, out);
}
void SafetensorsFile::read(const std::string& name, std::span<int32_t> out) const {
  read_into(name, out);
}

std::vector<float> SafetensorsFile::read_f32(const std::string& name) const {
  std::vector<float> out(at(name).numel);
  read_into(name, std::span<float>(out));
  return out;
}
std::vector<double> SafetensorsFile::read_f64(const std::string& name) const {
  std::vector<double> out(at(name).numel);
  read_into(name, std::span<double>(out));
  return out;
}
std::vector<int32_t> SafetensorsFile::read_i32(const std::string& name) const {
  std::vector<int32_t> out(at(name).numel);
  read_into(name, std::span<int32_t>(out));
  return out;
}

void write_safetensors(const std::filesystem::path& path, const std::vector<TensorView>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::set<std::string> names;
  std::vector<uint64_t> bytes;
  uint64_t offset = 0;
  for (const auto& t : tensors) {
    if (t.name.empty() || t.name == "__metadata__" || !names.insert(t.name).second) {
      throw std::invalid_argument("write_safetensors(" + path.string() + "): tensor name \"" +
                                  t.name + "\" is empty, reserved or repeated");
    }
    uint64_t numel = 1;
    for (int64_t d : t.shape) {
      if (d < 0) throw std::invalid_argument("write_safetensors: negative dim in " + t.name);
      numel *= static_cast<uint64_t>(d);
    }
    if (numel > 0 && t.data == nullptr) {
      throw std::invalid_argument("write_safetensors: no data for " + t.name);
    }
    bytes.push_back(numel * static_cast<uint64_t>(dtype_bytes(t.dtype)));
    header[t.name] = {{"dtype", dtype_name(t.dtype)},
                      {"shape", t.shape},
                      {"data_offsets", {offset, offset + bytes.back()}}};
    offset += bytes.back();
  }
  // Pad the header with spaces so that the data starts 8-byte aligned, as the reference writer.
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  unsigned char length[8];
  for (int i = 0; i < 8; ++i) length[i] = static_cast<unsigned char>(text.size() >> (8 * i));

  AtomicFile file(path);
  file.write(length, sizeof(length));
  file.write(text);
  for (size_t i = 0; i < tensors.size(); ++i) file.write(tensors[i].data, bytes[i]);
  file.commit();
}

}  // namespace zerotune::model
