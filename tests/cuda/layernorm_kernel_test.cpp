// LayerNorm forward (plain and residual-fused) and backward against ops::layernorm_* run on
// the same dtype-rounded inputs. Outputs start as NaN; dx, dweight and dbias start from
// random values because they accumulate. The backward repeats bit for bit.
#include <boost/test/unit_test.hpp>
#include <random>

#include "cuda/layernorm.cuh"
#include "kernel_test_support.hpp"
#include "zerotune/ops/layernorm.hpp"

using namespace zerotune;
using namespace zerotune::cuda_test;

namespace {
struct Shape {
  int64_t N, C;
};
// C = 96 and 768 take the 16-byte path in every dtype, C = 100 the element path.
const Shape kShapes[] = {{37, 96}, {37, 100}, {70, 768}};

std::string tag(DType dt, Shape s) {
  return std::string(dtype_name(dt)) + " N=" + std::to_string(s.N) + " C=" + std::to_string(s.C);
}
}  // namespace

BOOST_AUTO_TEST_SUITE(layernorm_kernel, *boost::unit_test::precondition(HasGpu{}))

BOOST_AUTO_TEST_CASE(forward_and_residual_forward_match_cpu_op) {
  std::mt19937 rng(51);
  Stream stream;
  for (DType dt : kGpuDtypes) {
    for (Shape s : kShapes) {
      const int64_t nc = s.N * s.C;
      const auto a = random_values(dt, nc, rng, -2.f, 3.f);
      const auto b = random_values(dt, nc, rng);
      const auto w = random_values(dt, s.C, rng, 0.5f, 1.5f);
      const auto bias = random_values(dt, s.C, rng);
      std::vector<float> res(nc);
      for (int64_t i = 0; i < nc; ++i) res[i] = round_to(dt, a[i] + b[i]);
      std::vector<float> y_ref(nc), mean_ref(s.N), rstd_ref(s.N), y_res_ref(nc);
      ops::layernorm_forward(y_ref.data(), mean_ref.data(), rstd_ref.data(), a.data(), w.data(),
                             bias.data(), s.N, s.C);
      std::vector<float> mean_res_ref(s.N), rstd_res_ref(s.N);
      ops::layernorm_forward(y_res_ref.data(), mean_res_ref.data(), rstd_res_ref.data(), res.data(),
                             w.data(), bias.data(), s.N, s.C);

      const size_t e = dtype_bytes(dt);
      DeviceBytes d_a(nc * e), d_b(nc * e), d_w(s.C * e), d_bias(s.C * e), d_y(nc * e),
          d_res(nc * e), d_mean(s.N * 4), d_rstd(s.N * 4);
      upload_as(dt, d_a, a);
      upload_as(dt, d_b, b);
      upload_as(dt, d_w, w);
      upload_as(dt, d_bias, bias);
      cuda::layernorm_forward(dt, d_y.get(), d_mean.as<float>(), d_rstd.as<float>(), d_a.get(),
                              d_w.get(), d_bias.get(), s.N, s.C, stream.get());
      stream.sync();
      const double tol = tolerance(dt);
      expect_close(download_as(dt, d_y, nc), y_ref, tol, "y " + tag(dt, s));
      expect_close(download_vector<float>(d_mean, s.N), mean_ref, 1e-5, "mean " + tag(dt, s));
      expect_close(download_vector<float>(d_rstd, s.N), rstd_ref, 1e-5, "rstd " + tag(dt, s));

      d_y.poison();
      d_mean.poison();
      d_rstd.poison();
      cuda::residual_layernorm_forward(dt, d_res.get(), d_y.get(), d_mean.as<float>(),
                                       d_rstd.as<float>(), d_a.get(), d_b.get(), d_w.get(),
                                       d_bias.get(), s.N, s.C, stream.get());
      stream.sync();
      expect_close(download_as(dt, d_res, nc), res, 1e-6, "res " + tag(dt, s), 0.0);
      expect_close(download_as(dt, d_y, nc), y_res_ref, tol, "residual y " + tag(dt, s));
      expect_close(download_vector<float>(d_mean, s.N), mean_res_ref, 1e-5,
                   "residual mean " + tag(dt, s));
      expect_close(download_vector<float>(d_rstd, s.N), rstd_res_ref, 1e-5,
                   "residual rstd " + tag(dt, s));
    }
  }
}

BOOST_AUTO_TEST_CASE(backward_accumulates_like_cpu_op_and_repeats_bit_for_bit) {
  std::mt19937 rng(52);
  Stream stream;
  for (DType dt : kGpuDtypes) {
    for (Shape s : kShapes) {
      const int64_t nc = s.N * s.C;
      const auto x = random_values(dt, nc, rng, -2.f, 3.f);
      const auto w = random_values(dt, s.C, rng, 0.5f, 1.5f);
      const auto bias = random_values(dt, s.C, rng);
      const auto dy = random_values(dt, nc, rng);
      const auto dx0 = random_values(dt, nc, rng);
      const auto dw0 = random_values(DType::kFloat32, s.C, rng);
      const auto db0 = random_values(DType::kFloat32, s.C, rng);
      std::vector<float> y(nc), mean(s.N), rstd(s.N);
      ops::layernorm_forward(y.data(), mean.data(), rstd.data(), x.data(), w.data(), bias.data(),
                             s.N, s.C);
      std::vector<float> dx_ref = dx0, dw_ref = dw0, db_ref = db0;
      ops::layernorm_backward(dx_ref.data(), dw_ref.data(), db_ref.data(), dy.data(), x.data(),
                              w.data(), mean.data(), rstd.data(), s.N, s.C);

      const size_t e = dtype_bytes(dt);
      DeviceBytes d_x(nc * e), d_w(s.C * e), d_dy(nc * e), d_dx(nc * e), d_dw(s.C * 4),
          d_db(s.C * 4), d_mean(s.N * 4), d_rstd(s.N * 4),
          d_scratch(cuda::layernorm_backward_scratch_floats(s.N, s.C) * 4);
      upload_as(dt, d_x, x);
      upload_as(dt, d_w, w);
      upload_as(dt, d_dy, dy);
      upload_vector(d_mean, mean);
      upload_vector(d_rstd, rstd);
      std::vector<unsigned char> first_dx, first_dw, first_db;
      for (int run = 0; run < 2; ++run) {
        upload_as(dt, d_dx, dx0);
        upload_vector(d_dw, dw0);
        upload_vector(d_db, db0);
        d_scratch.poison();
        cuda::layernorm_backward(dt, d_dx.get(), d_dw.as<float>(), d_db.as<float>(), d_dy.get(),
                                 d_x.get(), d_w.get(), d_mean.as<float>(), d_rstd.as<float>(),
                                 d_scratch.as<float>(), s.N, s.C, stream.get());
        stream.sync();
        if (run == 0) {
          first_dx = d_dx.raw();
          first_dw = d_dw.raw();
          first_db = d_db.raw();
        }
      }
      const double tol = tolerance(dt);
      // dx and dweight involve differences of nearly equal sums: a small absolute allowance.
      expect_close(download_as(dt, d_dx, nc), dx_ref, tol, "dx " + tag(dt, s),
                   dt == DType::kFloat32 ? 1e-4 : tol);
      expect_close(download_vector<float>(d_dw, s.C), dw_ref, 1e-5, "dweight " + tag(dt, s), 1e-4);
      expect_close(download_vector<float>(d_db, s.C), db_ref, 1e-5, "dbias " + tag(dt, s), 1e-4);
      BOOST_TEST((d_dx.raw() == first_dx), "dx differs between runs: " << tag(dt, s));
      BOOST_TEST((d_dw.raw() == first_dw), "dweight differs between runs: " << tag(dt, s));
      BOOST_TEST((d_db.raw() == first_db), "dbias differs between runs: " << tag(dt, s));
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
