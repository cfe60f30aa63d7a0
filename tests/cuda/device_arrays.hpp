// Helpers for the GPU kernel tests: device arrays that upload and download float values in a
// compute dtype (fp32 or bf16), NaN poisoning, random inputs already rounded to the dtype, and
// the tolerance check against a CPU reference. Only host CUDA runtime calls.
#pragma once

#include <cuda_runtime_api.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "bf16_host.hpp"
#include "zerotune/base/dtype.hpp"
#include "zerotune/runtime/cuda_device.hpp"

namespace zerotune::testing {

struct HasGpu {
  boost::test_tools::assertion_result operator()(boost::unit_test::test_unit_id) const {
    boost::test_tools::assertion_result r(runtime::cuda_device_count() > 0);
    r.message() << "no CUDA device visible";
    return r;
  }
};

inline void check_cuda(cudaError_t status, const char* what) {
  if (status != cudaSuccess) {
    throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(status));
  }
}

// A stream of its own, as the backend gives the kernels (never the legacy default stream).
struct Stream {
  cudaStream_t s = nullptr;
  Stream() { check_cuda(cudaStreamCreate(&s), "cudaStreamCreate"); }
  ~Stream() { cudaStreamDestroy(s); }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
};

// count elements of dtype in device memory (cudaMalloc: tests only, outside any step).
class DeviceArray {
 public:
  DeviceArray(DType dtype, size_t count) : dtype_(dtype), count_(count) {
    check_cuda(cudaMalloc(&ptr_, bytes() ? bytes() : 1), "cudaMalloc");
  }
  ~DeviceArray() { cudaFree(ptr_); }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;

  void* data() const { return ptr_; }
  float* f32() const { return static_cast<float*>(ptr_); }
  size_t bytes() const { return count_ * dtype_bytes(dtype_); }

  // Every byte 0xFF: a NaN in fp32, bf16 and fp16 alike.
  void poison() { check_cuda(cudaMemset(ptr_, 0xFF, bytes()), "cudaMemset"); }

  void upload(const std::vector<float>& values) {
    BOOST_REQUIRE(values.size() == count_);
    if (dtype_ == DType::kBFloat16) {
      std::vector<uint16_t> bits(count_);
      for (size_t i = 0; i < count_; ++i) bits[i] = float_to_bf16_bits(values[i]);
      check_cuda(cudaMemcpy(ptr_, bits.data(), bytes(), cudaMemcpyHostToDevice), "cudaMemcpy");
    } else {
      BOOST_REQUIRE(dtype_ == DType::kFloat32);
      check_cuda(cudaMemcpy(ptr_, values.data(), bytes(), cudaMemcpyHostToDevice), "cudaMemcpy");
    }
  }

  std::vector<float> download() const {
    check_cuda(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
    std::vector<float> values(count_);
    if (dtype_ == DType::kBFloat16) {
      std::vector<uint16_t> bits(count_);
      check_cuda(cudaMemcpy(bits.data(), ptr_, bytes(), cudaMemcpyDeviceToHost), "cudaMemcpy");
      for (size_t i = 0; i < count_; ++i) values[i] = bf16_bits_to_float(bits[i]);
    } else {
      check_cuda(cudaMemcpy(values.data(), ptr_, bytes(), cudaMemcpyDeviceToHost), "cudaMemcpy");
    }
    return values;
  }

  // The raw bytes, for bit-identity checks.
  std::vector<unsigned char> raw() const {
    check_cuda(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
    std::vector<unsigned char> out(bytes());
    check_cuda(cudaMemcpy(out.data(), ptr_, bytes(), cudaMemcpyDeviceToHost), "cudaMemcpy");
    return out;
  }

 private:
  DType dtype_;
  size_t count_;
  void* ptr_ = nullptr;
};

// Uniform values in [-scale, scale], rounded to dtype so that host and device see the same.
inline std::vector<float> random_values(size_t count, DType dtype, std::mt19937& rng,
                                        float scale = 1.f) {
  std::uniform_real_distribution<float> dist(-scale, scale);
  std::vector<float> v(count);
  for (auto& x : v) x = dtype == DType::kBFloat16 ? round_to_bf16(dist(rng)) : dist(rng);
  return v;
}

inline std::vector<double> to_double(const std::vector<float>& v) {
  return std::vector<double>(v.begin(), v.end());
}

// |got - want| <= rel_of_max * max|want|, for results whose error does not scale with each
// element (approximated transcendental functions).
inline void check_close_to_max(const std::vector<float>& got, const std::vector<double>& want,
                               double rel_of_max, const std::string& what) {
  BOOST_REQUIRE_EQUAL(got.size(), want.size());
  double max_abs = 0, worst = 0;
  for (double w : want) max_abs = std::max(max_abs, std::abs(w));
  size_t bad = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double err = std::abs(double(got[i]) - want[i]);
    if (!(err <= rel_of_max * max_abs)) ++bad;
    worst = std::max(worst, std::isnan(err) ? INFINITY : err / std::max(max_abs, 1e-30));
  }
  BOOST_TEST(bad == 0u, what << ": " << bad << " of " << got.size()
                             << " outside tolerance; worst error / max|want| = " << worst);
}

// fp32: |got - want| <= 1e-5 (|want| + max|want|) (the max term: the rounding of a sum scales
// with its terms, not with a result that cancels). bf16: |got - want| <= 1e-2 max|want|.
inline void check_close(const std::vector<float>& got, const std::vector<double>& want, DType dtype,
                        const std::string& what) {
  BOOST_REQUIRE_EQUAL(got.size(), want.size());
  double max_abs = 0;
  for (double w : want) max_abs = std::max(max_abs, std::abs(w));
  const double rel = dtype == DType::kFloat32 ? 1e-5 : 1e-2;
  size_t bad = 0, first_bad = 0;
  double worst = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double tol =
        dtype == DType::kFloat32 ? rel * (std::abs(want[i]) + max_abs) : rel * max_abs;
    const double err = std::abs(double(got[i]) - want[i]);
    if (!(err <= tol)) {  // NaN fails too
      if (bad++ == 0) first_bad = i;
    }
    worst = std::max(worst, std::isnan(err) ? INFINITY : err / std::max(max_abs, 1e-30));
  }
  BOOST_TEST(bad == 0u, what << " (" << dtype_name(dtype) << "): " << bad << " of " << got.size()
                             << " outside tolerance, first at " << first_bad << ": got "
                             << (bad ? got[first_bad] : 0.f) << " want "
                             << (bad ? want[first_bad] : 0.0)
                             << "; worst error / max|want| = " << worst);
}

}  // namespace zerotune::testing
