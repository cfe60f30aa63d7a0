#include "kernel_test_support.hpp"

#include <cmath>
#include <stdexcept>

namespace zerotune::cuda_test {

void check(cudaError_t status, const char* call) {
  if (status != cudaSuccess) {
    throw std::runtime_error(std::string(call) + ": " + cudaGetErrorString(status));
  }
}

uint16_t float_to_bf16(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, 4);
  if (std::isnan(x)) return static_cast<uint16_t>((bits >> 16) | 0x40);
  bits += 0x7fffu + ((bits >> 16) & 1u);  // round to nearest even on the dropped 16 bits
  return static_cast<uint16_t>(bits >> 16);
}

float bf16_to_float(uint16_t h) {
  const uint32_t bits = static_cast<uint32_t>(h) << 16;
  float x;
  std::memcpy(&x, &bits, 4);
  return x;
}

uint16_t float_to_half(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, 4);
  const uint16_t sign = static_cast<uint16_t>((bits >> 16) & 0x8000u);
  const uint32_t abs_bits = bits & 0x7fffffffu;
  if (abs_bits > 0x7f800000u) return sign | 0x7e00u;   // NaN
  if (abs_bits >= 0x477ff000u) return sign | 0x7c00u;  // >= 65520 rounds to inf
  if (abs_bits < 0x38800000u) {                        // below 2^-14: subnormal half
    float a;
    std::memcpy(&a, &abs_bits, 4);
    return sign | static_cast<uint16_t>(std::nearbyint(a * 16777216.0f));  // units of 2^-24
  }
  const uint32_t exponent = (abs_bits >> 23) - 127 + 15;
  const uint32_t mantissa = abs_bits & 0x7fffffu;
  uint32_t h = (exponent << 10) | (mantissa >> 13);
  const uint32_t rest = mantissa & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h;  // may carry into the exponent
  return sign | static_cast<uint16_t>(h);
}

float half_to_float(uint16_t h) {
  const float sign = (h & 0x8000u) ? -1.f : 1.f;
  const int exponent = (h >> 10) & 0x1f;
  const int mantissa = h & 0x3ff;
  if (exponent == 0) return sign * std::ldexp(static_cast<float>(mantissa), -24);
  if (exponent == 31) return mantissa ? NAN : sign * INFINITY;
  return sign * std::ldexp(static_cast<float>(mantissa + 1024), exponent - 25);
}

float round_to(DType dt, float x) {
  switch (dt) {
    case DType::kBFloat16:
      return bf16_to_float(float_to_bf16(x));
    case DType::kFloat16:
      return half_to_float(float_to_half(x));
    default:
      return x;
  }
}

double tolerance(DType dt) {
  switch (dt) {
    case DType::kBFloat16:
      return 1e-2;
    case DType::kFloat16:
      return 2e-3;
    default:
      return 1e-5;
  }
}

std::vector<float> random_values(DType dt, size_t n, std::mt19937& rng, float lo, float hi) {
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = round_to(dt, dist(rng));
  return v;
}

DeviceBytes::DeviceBytes(size_t bytes) : bytes_(bytes) {
  ZT_TEST_CUDA(cudaMalloc(&ptr_, bytes_ == 0 ? 1 : bytes_));
  poison();
}

DeviceBytes::~DeviceBytes() { cudaFree(ptr_); }

void DeviceBytes::poison() { ZT_TEST_CUDA(cudaMemset(ptr_, 0xff, bytes_)); }

void DeviceBytes::upload(const void* host, size_t bytes, size_t offset) {
  ZT_TEST_CUDA(cudaMemcpy(static_cast<char*>(ptr_) + offset, host, bytes, cudaMemcpyHostToDevice));
}

void DeviceBytes::download(void* host, size_t bytes, size_t offset) const {
  ZT_TEST_CUDA(
      cudaMemcpy(host, static_cast<const char*>(ptr_) + offset, bytes, cudaMemcpyDeviceToHost));
}

std::vector<unsigned char> DeviceBytes::raw() const {
  std::vector<unsigned char> out(bytes_);
  download(out.data(), bytes_);
  return out;
}

void upload_as(DType dt, DeviceBytes& dst, const std::vector<float>& values) {
  if (dt == DType::kFloat32) {
    upload_vector(dst, values);
    return;
  }
  std::vector<uint16_t> encoded(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    encoded[i] = dt == DType::kBFloat16 ? float_to_bf16(values[i]) : float_to_half(values[i]);
  }
  upload_vector(dst, encoded);
}

std::vector<float> download_as(DType dt, const DeviceBytes& src, size_t n) {
  if (dt == DType::kFloat32) return download_vector<float>(src, n);
  const auto encoded = download_vector<uint16_t>(src, n);
  std::vector<float> out(n);
  for (size_t i = 0; i < n; ++i) {
    out[i] = dt == DType::kBFloat16 ? bf16_to_float(encoded[i]) : half_to_float(encoded[i]);
  }
  return out;
}

Stream::Stream() { ZT_TEST_CUDA(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking)); }
Stream::~Stream() { cudaStreamDestroy(stream_); }
void Stream::sync() const { ZT_TEST_CUDA(cudaStreamSynchronize(stream_)); }

void expect_close(const std::vector<float>& got, const std::vector<double>& want, double rtol,
                  const std::string& what, double atol) {
  BOOST_TEST_REQUIRE(got.size() == want.size());
  const double tol = rtol;
  if (atol < 0) atol = rtol;
  size_t bad = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double diff = std::fabs(static_cast<double>(got[i]) - want[i]);
    if (!(diff <= atol + tol * std::fabs(want[i]))) {
      if (++bad <= 5) {
        BOOST_ERROR(what << "[" << i << "]: got " << got[i] << ", want " << want[i]);
      }
    }
  }
  BOOST_TEST(bad == 0u,
             what << ": " << bad << " of " << got.size() << " elements outside tolerance " << tol);
}

void expect_close(const std::vector<float>& got, const std::vector<float>& want, double rtol,
                  const std::string& what, double atol) {
  expect_close(got, std::vector<double>(want.begin(), want.end()), rtol, what, atol);
}

}  // namespace zerotune::cuda_test
