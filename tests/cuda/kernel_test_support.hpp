// Shared pieces of the kernel tests: the GPU precondition, device buffers poisoned with NaN,
// host-side bf16/fp16 rounding (written independently of the kernels' conversions), random
// inputs rounded to the compute dtype, and a relative + absolute comparison.
#pragma once

#include <cuda_runtime.h>

#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "device_arrays.hpp"
#include "zerotune/base/dtype.hpp"

namespace zerotune::cuda_test {

using HasGpu = testing::HasGpu;  // the one GPU precondition (device_arrays.hpp)

// Throws std::runtime_error naming the call when a CUDA call in a test fails.
void check(cudaError_t status, const char* call);
#define ZT_TEST_CUDA(call) ::zerotune::cuda_test::check((call), #call)

// IEEE round-to-nearest-even conversions on the host.
uint16_t float_to_bf16(float x);
float bf16_to_float(uint16_t h);
uint16_t float_to_half(float x);
float half_to_float(uint16_t h);
// x rounded to dt and back (what a kernel reading a dt buffer sees).
float round_to(DType dt, float x);

// The GPU dtypes each test runs over, and the tolerance each is held to (fp32 1e-5, bf16 1e-2
// relative).
inline const DType kGpuDtypes[] = {DType::kFloat32, DType::kBFloat16, DType::kFloat16};
double tolerance(DType dt);

// Uniform values in [lo, hi), rounded to dt.
std::vector<float> random_values(DType dt, size_t n, std::mt19937& rng, float lo = -1.f,
                                 float hi = 1.f);

// A device allocation of `bytes`, freed on scope exit; filled with 0xFF bytes (NaN in fp32,
// bf16 and fp16) when made, so that an output a kernel forgets to write shows up.
class DeviceBytes {
 public:
  explicit DeviceBytes(size_t bytes);
  ~DeviceBytes();
  DeviceBytes(const DeviceBytes&) = delete;
  DeviceBytes& operator=(const DeviceBytes&) = delete;
  void* get() const { return ptr_; }
  template <typename T>
  T* as() const {
    return static_cast<T*>(ptr_);
  }
  size_t bytes() const { return bytes_; }
  void poison();
  void upload(const void* host, size_t bytes, size_t offset = 0);
  void download(void* host, size_t bytes, size_t offset = 0) const;
  std::vector<unsigned char> raw() const;

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

// Values encoded as dt on the device (n elements of dt) and read back as floats.
void upload_as(DType dt, DeviceBytes& dst, const std::vector<float>& values);
std::vector<float> download_as(DType dt, const DeviceBytes& src, size_t n);

template <typename T>
void upload_vector(DeviceBytes& dst, const std::vector<T>& values) {
  dst.upload(values.data(), values.size() * sizeof(T));
}
template <typename T>
std::vector<T> download_vector(const DeviceBytes& src, size_t n) {
  std::vector<T> out(n);
  src.download(out.data(), n * sizeof(T));
  return out;
}

// A non-blocking stream (the kernels never use the legacy default stream).
class Stream {
 public:
  Stream();
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  cudaStream_t get() const { return stream_; }
  void sync() const;

 private:
  cudaStream_t stream_ = nullptr;
};

// BOOST_TEST fails unless |got[i] - want[i]| <= atol + rtol * |want[i]| for every i (NaN
// fails); atol < 0 means atol = rtol. The first mismatches are reported with `what` and index.
void expect_close(const std::vector<float>& got, const std::vector<double>& want, double rtol,
                  const std::string& what, double atol = -1);
void expect_close(const std::vector<float>& got, const std::vector<float>& want, double rtol,
                  const std::string& what, double atol = -1);

}  // namespace zerotune::cuda_test
