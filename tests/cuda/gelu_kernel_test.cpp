// GELU forward and backward against ops::gelu_forward/backward on the same dtype-rounded
// inputs; in place (y aliasing x, dx aliasing dy) as the model uses them.
#include <boost/test/unit_test.hpp>
#include <random>

#include "cuda/gelu.cuh"
#include "kernel_test_support.hpp"
#include "zerotune/ops/gelu.hpp"

using namespace zerotune;
using namespace zerotune::cuda_test;

BOOST_AUTO_TEST_SUITE(gelu_kernel, *boost::unit_test::precondition(HasGpu{}))

BOOST_AUTO_TEST_CASE(matches_cpu_op_in_every_dtype) {
  std::mt19937 rng(21);
  Stream stream;
  for (DType dt : kGpuDtypes) {
    for (int64_t n : {1001, 4096}) {
      const auto x = random_values(dt, n, rng, -5.f, 5.f);
      const auto dy = random_values(dt, n, rng);
      std::vector<float> y_ref(n), dx_ref(n);
      ops::gelu_forward(y_ref.data(), x.data(), n);
      ops::gelu_backward(dx_ref.data(), x.data(), dy.data(), n);

      const size_t bytes = n * dtype_bytes(dt);
      DeviceBytes d_x(bytes), d_y(bytes), d_dy(bytes), d_inplace(bytes);
      upload_as(dt, d_x, x);
      upload_as(dt, d_dy, dy);
      cuda::gelu_forward(dt, d_y.get(), d_x.get(), n, stream.get());
      cuda::gelu_backward(dt, d_dy.get(), d_x.get(), d_dy.get(), n, stream.get());  // in place
      upload_as(dt, d_inplace, x);
      cuda::gelu_forward(dt, d_inplace.get(), d_inplace.get(), n, stream.get());  // in place
      stream.sync();
      const std::string tag = std::string(dtype_name(dt)) + " n=" + std::to_string(n);
      expect_close(download_as(dt, d_y, n), y_ref, tolerance(dt), "gelu y " + tag);
      expect_close(download_as(dt, d_inplace, n), y_ref, tolerance(dt), "gelu in place " + tag);
      expect_close(download_as(dt, d_dy, n), dx_ref, tolerance(dt), "gelu dx " + tag);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
