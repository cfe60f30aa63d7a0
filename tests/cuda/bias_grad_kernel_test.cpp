// bias_grad: db += column sums of dy, against a double-precision host sum of the same
// dtype-rounded dy; it accumulates onto db, and two runs are bit-identical.
#include <boost/test/unit_test.hpp>
#include <random>

#include "cuda/bias_grad.cuh"
#include "kernel_test_support.hpp"

using namespace zerotune;
using namespace zerotune::cuda_test;

BOOST_AUTO_TEST_SUITE(bias_grad_kernel, *boost::unit_test::precondition(HasGpu{}))

BOOST_AUTO_TEST_CASE(accumulates_column_sums_deterministically) {
  std::mt19937 rng(31);
  Stream stream;
  struct Shape {
    int64_t N, OC;
  };
  for (DType dt : kGpuDtypes) {
    for (Shape s : {Shape{37, 1001}, Shape{300, 96}, Shape{8200, 40}}) {
      const auto dy = random_values(dt, s.N * s.OC, rng);
      const auto db0 = random_values(DType::kFloat32, s.OC, rng);
      std::vector<double> want(db0.begin(), db0.end());
      for (int64_t r = 0; r < s.N; ++r) {
        for (int64_t c = 0; c < s.OC; ++c) want[c] += dy[r * s.OC + c];
      }
      DeviceBytes d_dy(dy.size() * dtype_bytes(dt)), d_db(s.OC * 4),
          d_scratch(cuda::bias_grad_scratch_floats(s.N, s.OC) * 4);
      upload_as(dt, d_dy, dy);
      std::vector<unsigned char> first;
      for (int run = 0; run < 2; ++run) {
        upload_vector(d_db, db0);
        d_scratch.poison();
        cuda::bias_grad(dt, d_db.as<float>(), d_dy.get(), d_scratch.as<float>(), s.N, s.OC,
                        stream.get());
        stream.sync();
        if (run == 0) first = d_db.raw();
      }
      const std::string tag = std::string(dtype_name(dt)) + " N=" + std::to_string(s.N);
      // The inputs are exact in every dtype; only the fp32 sum of N terms rounds, hence a
      // small absolute allowance for columns that nearly cancel.
      expect_close(download_vector<float>(d_db, s.OC), want, 1e-5, "db " + tag, 1e-4);
      BOOST_TEST((d_db.raw() == first), "two runs differ: " << tag);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
