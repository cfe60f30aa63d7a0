// Fused softmax cross-entropy against ops::softmax_xent_* on the same dtype-rounded logits:
// lse, per-row losses (ignored rows 0), their fixed-order sum, and dlogits in place. Logits
// sit in rows of stride ld > V whose padding is NaN: a read of it would poison lse, and the
// backward must leave it as it was.
#include <boost/test/unit_test.hpp>
#include <cstring>
#include <random>

#include "cuda/softmax_xent.cuh"
#include "kernel_test_support.hpp"
#include "zerotune/ops/softmax_xent.hpp"

using namespace zerotune;
using namespace zerotune::cuda_test;

namespace {
struct Shape {
  int64_t N, V, ld;
};
// ld = 1008 takes the 16-byte path with a one-column tail; ld = 1001 the element path.
const Shape kShapes[] = {{37, 1001, 1008}, {37, 1001, 1001}, {5, 50257, 50304}};
}  // namespace

BOOST_AUTO_TEST_SUITE(softmax_xent_kernel, *boost::unit_test::precondition(HasGpu{}))

BOOST_AUTO_TEST_CASE(forward_sum_and_backward_match_cpu_op) {
  std::mt19937 rng(71);
  Stream stream;
  for (DType dt : kGpuDtypes) {
    for (Shape s : kShapes) {
      const auto logits = random_values(dt, s.N * s.V, rng, -6.f, 6.f);
      std::uniform_int_distribution<int32_t> target(0, static_cast<int32_t>(s.V - 1));
      std::vector<int32_t> targets(s.N);
      for (int64_t i = 0; i < s.N; ++i) targets[i] = i % 5 == 3 ? -100 : target(rng);

      std::vector<float> lse_ref(s.N), dlogits_ref(s.N * s.V);
      const ops::XentSum sum_ref =
          ops::softmax_xent_forward(lse_ref.data(), logits.data(), targets.data(), s.N, s.V);
      std::vector<double> loss_ref(s.N, 0.0);
      for (int64_t i = 0; i < s.N; ++i) {
        if (targets[i] != -100) loss_ref[i] = lse_ref[i] - logits[i * s.V + targets[i]];
      }
      const float dloss = 1.f / static_cast<float>(sum_ref.tokens);
      ops::softmax_xent_backward(dlogits_ref.data(), logits.data(), lse_ref.data(), targets.data(),
                                 dloss, s.N, s.V);

      // Rows of ld elements; columns [V, ld) keep the 0xFF poison (NaN) of DeviceBytes.
      const size_t e = dtype_bytes(dt);
      DeviceBytes d_logits(s.N * s.ld * e), d_targets(s.N * 4), d_lse(s.N * 4), d_loss(s.N * 4),
          d_sum(8);
      for (int64_t i = 0; i < s.N; ++i) {
        DeviceBytes row(s.V * e);
        upload_as(dt, row,
                  std::vector<float>(logits.begin() + i * s.V, logits.begin() + (i + 1) * s.V));
        ZT_TEST_CUDA(cudaMemcpy(d_logits.as<char>() + i * s.ld * e, row.get(), s.V * e,
                                cudaMemcpyDeviceToDevice));
      }
      upload_vector(d_targets, targets);
      cuda::softmax_xent_forward(dt, d_lse.as<float>(), d_loss.as<float>(), d_logits.get(),
                                 d_targets.as<int32_t>(), s.N, s.V, s.ld, stream.get());
      cuda::sum_rows(d_sum.as<double>(), d_loss.as<float>(), s.N, stream.get());
      stream.sync();
      const std::string tag =
          std::string(dtype_name(dt)) + " V=" + std::to_string(s.V) + " ld=" + std::to_string(s.ld);
      expect_close(download_vector<float>(d_lse, s.N), lse_ref, 1e-5, "lse " + tag);
      expect_close(download_vector<float>(d_loss, s.N), loss_ref, 1e-5, "row_loss " + tag);
      const double sum = download_vector<double>(d_sum, 1)[0];
      BOOST_TEST(std::fabs(sum - sum_ref.loss_sum) <= 1e-5 * std::fabs(sum_ref.loss_sum),
                 "loss sum " << tag << ": got " << sum << " want " << sum_ref.loss_sum);

      // In place: dlogits aliases logits.
      cuda::softmax_xent_backward(dt, d_logits.get(), d_logits.get(), d_lse.as<float>(),
                                  d_targets.as<int32_t>(), dloss, s.N, s.V, s.ld, stream.get());
      stream.sync();
      const auto all = d_logits.raw();
      std::vector<float> got(s.N * s.V);
      size_t padding_touched = 0;
      for (int64_t i = 0; i < s.N; ++i) {
        DeviceBytes row(s.V * e);
        ZT_TEST_CUDA(cudaMemcpy(row.get(), d_logits.as<char>() + i * s.ld * e, s.V * e,
                                cudaMemcpyDeviceToDevice));
        const auto values = download_as(dt, row, s.V);
        std::copy(values.begin(), values.end(), got.begin() + i * s.V);
        for (int64_t j = s.V * e; j < s.ld * static_cast<int64_t>(e); ++j) {
          padding_touched += all[i * s.ld * e + j] != 0xff;
        }
      }
      // Probabilities are ~1e-3; the absolute allowance is relative to dloss.
      expect_close(got, dlogits_ref, tolerance(dt), "dlogits " + tag, tolerance(dt) * dloss);
      BOOST_TEST(padding_touched == 0u, "padding bytes written: " << tag);
    }
  }
}

BOOST_AUTO_TEST_CASE(forward_repeats_bit_for_bit) {
  std::mt19937 rng(72);
  Stream stream;
  const int64_t N = 37, V = 1001;
  const auto logits = random_values(DType::kBFloat16, N * V, rng, -6.f, 6.f);
  std::vector<int32_t> targets(N, 7);
  DeviceBytes d_logits(N * V * 2), d_targets(N * 4), d_lse(N * 4), d_loss(N * 4), d_sum(8);
  upload_as(DType::kBFloat16, d_logits, logits);
  upload_vector(d_targets, targets);
  std::vector<unsigned char> first_lse, first_sum;
  for (int run = 0; run < 2; ++run) {
    d_lse.poison();
    d_sum.poison();
    cuda::softmax_xent_forward(DType::kBFloat16, d_lse.as<float>(), d_loss.as<float>(),
                               d_logits.get(), d_targets.as<int32_t>(), N, V, V, stream.get());
    cuda::sum_rows(d_sum.as<double>(), d_loss.as<float>(), N, stream.get());
    stream.sync();
    if (run == 0) {
      first_lse = d_lse.raw();
      first_sum = d_sum.raw();
    }
  }
  BOOST_TEST((d_lse.raw() == first_lse));
  BOOST_TEST((d_sum.raw() == first_sum));
}

BOOST_AUTO_TEST_SUITE_END()
