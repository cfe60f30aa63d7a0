// safetensors files (https://github.com/huggingface/safetensors), the format Hugging Face
// models ship in:
//
//   u64 little-endian N | N bytes of JSON header | data
//   header: {"<tensor>": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ...,
//            "__metadata__": {"<key>": "<string>", ...}}          (metadata is optional)
//   data_offsets are bytes relative to the start of data; the tensors tile data exactly
//   (sorted by begin, no gaps, no overlaps) and the file ends where the last tensor ends.
//   Tensors are row-major, little-endian.
//
// Reading validates the whole header against the file size when the file is opened, so a
// corrupt or truncated file is an InputError naming the file (and the tensor) before any
// data is used. Tensors of F32, F64, F16, BF16, I32 and I64 convert to float or double;
// I32 and I64 also read as int32_t. Writing takes F32, F64, I32, BF16 and F16 tensors and goes to a
// temporary name that is fsynced and renamed, so a reader never sees a half-written file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <vector>

namespace zerotune::model {

// Every dtype safetensors defines, so that any valid file opens; the ones read_*() converts
// are listed above.
enum class DType { kBool, kU8, kI8, kU16, kI16, kF16, kBF16, kU32, kI32, kF32, kF64, kU64, kI64 };

const char* dtype_name(DType dtype);  // "F32", ...
int64_t dtype_bytes(DType dtype);

struct SafetensorsTensor {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  int64_t numel = 1;
  uint64_t data_begin = 0;  // bytes from the start of the data section
  uint64_t data_end = 0;
};

class SafetensorsFile {
 public:
  // Reads and validates the header; tensor data is read on demand.
  explicit SafetensorsFile(std::filesystem::path path);

  const std::filesystem::path& path() const { return path_; }
  // In file order (ascending data offsets).
  const std::vector<SafetensorsTensor>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  // nullptr when there is no tensor of that name.
  const SafetensorsTensor* find(const std::string& name) const;
  // The tensor, or an InputError naming the file and the tensor.
  const SafetensorsTensor& at(const std::string& name) const;

  // Converts the tensor's numel() elements into out (out.size() must equal numel()).
  void read(const std::string& name, std::span<float> out) const;
  void read(const std::string& name, std::span<double> out) const;
  void read(const std::string& name, std::span<int32_t> out) const;
  // The same, allocating.
  std::vector<float> read_f32(const std::string& name) const;
  std::vector<double> read_f64(const std::string& name) const;
  std::vector<int32_t> read_i32(const std::string& name) const;

 private:
  template <typename T>
  void read_into(const std::string& name, std::span<T> out) const;
  std::vector<unsigned char> read_bytes(const SafetensorsTensor& t) const;

  std::filesystem::path path_;
  uint64_t data_start_ = 0;  // file offset of the data section: 8 + header length
  std::vector<SafetensorsTensor> tensors_;
  std::map<std::string, size_t> index_;
  std::map<std::string, std::string> metadata_;
};

// One tensor to write: a view of caller memory (product(shape) elements), valid during the
// write. The dtype follows the pointer: F32, F64 or I32, or is given for BF16 and F16.
struct TensorView {
  TensorView(std::string name, std::vector<int64_t> shape, const float* data)
      : name(std::move(name)), shape(std::move(shape)), dtype(DType::kF32), data(data) {}
  TensorView(std::string name, std::vector<int64_t> shape, const double* data)
      : name(std::move(name)), shape(std::move(shape)), dtype(DType::kF64), data(data) {}
  TensorView(std::string name, std::vector<int64_t> shape, const int32_t* data)
      : name(std::move(name)), shape(std::move(shape)), dtype(DType::kI32), data(data) {}
  // 16-bit floats already in their on-disk form: dtype is kBF16 or kF16 (half_float.hpp).
  TensorView(std::string name, std::vector<int64_t> shape, DType dtype, const uint16_t* data)
      : name(std::move(name)), shape(std::move(shape)), dtype(dtype), data(data) {}

  std::string name;
  std::vector<int64_t> shape;
  DType dtype;
  const void* data;
};

// Writes the tensors (in the given order) to `path` via `path` + ".tmp", fsync, rename.
// Names must be unique and not "__metadata__". Filesystem failures are LibraryError.
void write_safetensors(const std::filesystem::path& path, const std::vector<TensorView>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace zerotune::model
