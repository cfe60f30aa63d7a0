// Gradient norm partials and their sum against a double host sum of squares, bit-identical
// on a second run, the same for an unaligned start; count_nonfinite counts NaN and inf.
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <random>

#include "cuda/grad_norm.cuh"
#include "kernel_test_support.hpp"

using namespace zerotune;
using namespace zerotune::cuda_test;

BOOST_AUTO_TEST_SUITE(grad_norm_kernel, *boost::unit_test::precondition(HasGpu{}))

BOOST_AUTO_TEST_CASE(sum_of_squares_matches_host_and_repeats_bit_for_bit) {
  std::mt19937 rng(41);
  Stream stream;
  for (int64_t n : {int64_t{37}, int64_t{1000003}}) {
    for (int64_t offset : {0, 1}) {
      const auto x = random_values(DType::kFloat32, n, rng);
      double want = 0.0;
      for (float v : x) want += static_cast<double>(v) * v;
      DeviceBytes d_x((n + 1) * 4), d_partials(cuda::kNormPartials * 4), d_out(8);
      d_x.upload(x.data(), n * 4, offset * 4);
      std::vector<unsigned char> first;
      for (int run = 0; run < 2; ++run) {
        d_partials.poison();
        d_out.poison();
        cuda::sum_squares_partials(d_partials.as<float>(), d_x.as<float>() + offset, n,
                                   stream.get());
        cuda::sum_partials(d_out.as<double>(), d_partials.as<float>(), cuda::kNormPartials,
                           stream.get());
        stream.sync();
        if (run == 0) first = d_out.raw();
      }
      const double got = download_vector<double>(d_out, 1)[0];
      BOOST_TEST(std::fabs(got - want) <= 1e-5 * want,
                 "n=" << n << " got " << got << " want " << want);
      BOOST_TEST((d_out.raw() == first));
    }
  }
}

BOOST_AUTO_TEST_CASE(count_nonfinite_counts_nan_and_inf) {
  std::mt19937 rng(42);
  Stream stream;
  const int64_t n = 100003;
  auto x = random_values(DType::kFloat32, n, rng);
  x[0] = NAN;
  x[5000] = INFINITY;
  x[70001] = -INFINITY;
  x[n - 1] = NAN;
  DeviceBytes d_x(n * 4), d_count(4);
  upload_vector(d_x, x);
  cuda::count_nonfinite(d_count.as<int32_t>(), d_x.as<float>(), n, stream.get());
  stream.sync();
  BOOST_TEST(download_vector<int32_t>(d_count, 1)[0] == 4);

  auto clean = random_values(DType::kFloat32, n, rng);
  upload_vector(d_x, clean);
  cuda::count_nonfinite(d_count.as<int32_t>(), d_x.as<float>(), n, stream.get());
  stream.sync();
  BOOST_TEST(download_vector<int32_t>(d_count, 1)[0] == 0);
}

BOOST_AUTO_TEST_SUITE_END()
