// cast_from_float / cast_to_float / add_into_float against host rounding (round to nearest
// even, written independently in kernel_test_support.cpp) and host fp32 adds.
#include <boost/test/unit_test.hpp>
#include <random>
#include <stdexcept>
#include <string>

#include "cuda/cast.cuh"
#include "kernel_test_support.hpp"

using namespace zerotune;
using namespace zerotune::cuda_test;

// The dtype is checked on the host before any launch, so it runs without a GPU.
BOOST_AUTO_TEST_CASE(fp64_is_rejected_by_name) {
  BOOST_CHECK_EXCEPTION(cuda::cast_from_float(DType::kFloat64, nullptr, nullptr, 4, nullptr),
                        std::invalid_argument, [](const std::invalid_argument& e) {
                          return std::string(e.what()).find("fp64") != std::string::npos;
                        });
}

BOOST_AUTO_TEST_SUITE(cast_kernel, *boost::unit_test::precondition(HasGpu{}))

// Both the packed path (aligned) and the element path (offset by one element) are run.
BOOST_AUTO_TEST_CASE(cast_round_trips_match_host_rounding) {
  std::mt19937 rng(11);
  Stream stream;
  const int64_t n = 1001;
  for (DType dt : {DType::kBFloat16, DType::kFloat16, DType::kFloat32}) {
    for (int64_t offset : {0, 1}) {
      const auto src = random_values(DType::kFloat32, n, rng, -300.f, 300.f);
      DeviceBytes d_src((n + 1) * 4), d_low((n + 1) * dtype_bytes(dt)), d_back((n + 1) * 4);
      d_src.upload(src.data(), n * 4, offset * 4);
      cuda::cast_from_float(dt, d_low.as<char>() + offset * dtype_bytes(dt),
                            d_src.as<float>() + offset, n, stream.get());
      cuda::cast_to_float(dt, d_back.as<float>() + offset,
                          d_low.as<char>() + offset * dtype_bytes(dt), n, stream.get());
      stream.sync();
      std::vector<float> back(n);
      d_back.download(back.data(), n * 4, offset * 4);
      size_t bad = 0;
      for (int64_t i = 0; i < n; ++i) bad += back[i] != round_to(dt, src[i]);
      BOOST_TEST(bad == 0u, dtype_name(dt) << " offset " << offset << ": " << bad << " wrong");
    }
  }
}

BOOST_AUTO_TEST_CASE(add_into_float_adds_elementwise) {
  std::mt19937 rng(12);
  Stream stream;
  for (int64_t n : {1001, 4096}) {
    const auto a = random_values(DType::kFloat32, n, rng);
    const auto b = random_values(DType::kFloat32, n, rng);
    DeviceBytes d_a(n * 4), d_b(n * 4);
    upload_vector(d_a, a);
    upload_vector(d_b, b);
    cuda::add_into_float(d_a.as<float>(), d_b.as<float>(), n, stream.get());
    stream.sync();
    const auto got = download_vector<float>(d_a, n);
    size_t bad = 0;
    for (int64_t i = 0; i < n; ++i) bad += got[i] != a[i] + b[i];
    BOOST_TEST(bad == 0u);
  }
}

BOOST_AUTO_TEST_SUITE_END()
