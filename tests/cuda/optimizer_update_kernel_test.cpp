// AdamW and SGD updates against ops::adamw_step / ops::sgd_step over 3 steps, with segments
// that alternate weight decay and a gap (shard padding) that must stay untouched, plus the
// compute-dtype copy of the new parameters.
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <random>
#include <stdexcept>
#include <string>

#include "cuda/optimizer_update.cuh"
#include "kernel_test_support.hpp"
#include "zerotune/ops/adamw.hpp"
#include "zerotune/ops/sgd.hpp"

using namespace zerotune;
using namespace zerotune::cuda_test;

namespace {

constexpr int64_t kN = 1003;

// [0, 300) decayed, [300, 310) not, [310, 990) decayed, [990, 1000) not, [1000, 1003) padding.
cuda::UpdateSegments mixed_segments() {
  cuda::UpdateSegments s;
  s.n = 4;
  s.seg[0] = {0, 300, 1};
  s.seg[1] = {300, 10, 0};
  s.seg[2] = {310, 680, 1};
  s.seg[3] = {990, 10, 0};
  return s;
}

// Compares the copy with the GPU's own master rounded on the host, and the master with the
// CPU reference.
void check_copy(DType dt, const DeviceBytes& d_copy, const std::vector<float>& master,
                const std::string& what) {
  const auto copy = download_as(dt, d_copy, kN);
  size_t bad = 0;
  for (int64_t i = 0; i < 1000; ++i) bad += copy[i] != round_to(dt, master[i]);
  BOOST_TEST(bad == 0u, what << ": " << bad << " copies are not the rounded master");
}

}  // namespace

// Checked on the host before any launch, so it runs without a GPU.
BOOST_AUTO_TEST_CASE(rejects_a_segment_outside_the_range) {
  cuda::UpdateSegments s;
  s.n = 1;
  s.seg[0] = {10, 20, 0};
  BOOST_CHECK_THROW(cuda::sgd_update(nullptr, nullptr, nullptr, nullptr, DType::kFloat32, 25, s,
                                     cuda::SgdScalars{1.f, 0.f, 0.f, 1.f}, true, nullptr),
                    std::invalid_argument);
  s.n = cuda::kMaxUpdateSegments + 1;
  BOOST_CHECK_THROW(cuda::adamw_update(nullptr, nullptr, nullptr, nullptr, nullptr, DType::kFloat32,
                                       25, s, cuda::AdamWScalars{}, nullptr),
                    std::invalid_argument);
}

BOOST_AUTO_TEST_SUITE(optimizer_update_kernel, *boost::unit_test::precondition(HasGpu{}))

BOOST_AUTO_TEST_CASE(adamw_matches_cpu_step_over_three_steps) {
  std::mt19937 rng(81);
  Stream stream;
  const auto segments = mixed_segments();
  for (DType dt : kGpuDtypes) {
    auto p_ref = random_values(DType::kFloat32, kN, rng);
    std::vector<float> m_ref(kN, 0.f), v_ref(kN, 0.f);
    DeviceBytes d_p(kN * 4), d_g(kN * 4), d_m(kN * 4), d_v(kN * 4), d_copy(kN * dtype_bytes(dt));
    upload_vector(d_p, p_ref);
    upload_vector(d_m, m_ref);
    upload_vector(d_v, v_ref);
    // Hyperparameters that are floats already, so the CPU's doubles equal the kernel's inputs.
    const float lr = 1e-2f, beta1 = 0.9f, beta2 = 0.95f, eps = 1e-8f, wd = 0.1f, scale = 0.5f;
    for (int64_t t = 1; t <= 3; ++t) {
      const auto g = random_values(DType::kFloat32, kN, rng);
      upload_vector(d_g, g);
      for (int k = 0; k < segments.n; ++k) {
        const auto& seg = segments.seg[k];
        ops::AdamWHyper h{lr, beta1, beta2, eps, seg.weight_decay ? wd : 0.f, scale};
        ops::adamw_step(p_ref.data() + seg.begin, g.data() + seg.begin, m_ref.data() + seg.begin,
                        v_ref.data() + seg.begin, seg.count, h, t);
      }
      cuda::AdamWScalars s{lr,
                           beta1,
                           beta2,
                           eps,
                           wd,
                           scale,
                           static_cast<float>(1.0 - std::pow(double(beta1), double(t))),
                           static_cast<float>(1.0 - std::pow(double(beta2), double(t)))};
      d_copy.poison();
      cuda::adamw_update(d_p.as<float>(), d_g.as<float>(), d_m.as<float>(), d_v.as<float>(),
                         d_copy.get(), dt, kN, segments, s, stream.get());
      stream.sync();
      const std::string tag = std::string(dtype_name(dt)) + " step " + std::to_string(t);
      const auto p = download_vector<float>(d_p, kN);
      expect_close(p, p_ref, 1e-5, "master " + tag);
      expect_close(download_vector<float>(d_m, kN), m_ref, 1e-5, "m " + tag);
      expect_close(download_vector<float>(d_v, kN), v_ref, 1e-5, "v " + tag);
      check_copy(dt, d_copy, p, "copy " + tag);
      const auto padding = download_as(dt, d_copy, kN);
      BOOST_TEST(std::isnan(padding[1000]), "padding copy written: " << tag);
    }
  }
}

BOOST_AUTO_TEST_CASE(sgd_matches_cpu_step_over_three_steps) {
  std::mt19937 rng(82);
  Stream stream;
  const auto segments = mixed_segments();
  for (float momentum : {0.9f, 0.f}) {
    for (DType dt : kGpuDtypes) {
      auto p_ref = random_values(DType::kFloat32, kN, rng);
      std::vector<float> buf_ref(kN, 0.f);
      DeviceBytes d_p(kN * 4), d_g(kN * 4), d_buf(kN * 4), d_copy(kN * dtype_bytes(dt));
      upload_vector(d_p, p_ref);  // d_buf stays NaN: the first step must not read it
      const float lr = 5e-2f, wd = 0.01f, scale = 2.f;
      for (int t = 1; t <= 3; ++t) {
        const auto g = random_values(DType::kFloat32, kN, rng);
        upload_vector(d_g, g);
        for (int k = 0; k < segments.n; ++k) {
          const auto& seg = segments.seg[k];
          ops::SgdHyper h{lr, momentum, seg.weight_decay ? wd : 0.f, scale};
          ops::sgd_step(p_ref.data() + seg.begin, g.data() + seg.begin, buf_ref.data() + seg.begin,
                        seg.count, h);
        }
        d_copy.poison();
        cuda::sgd_update(d_p.as<float>(), d_g.as<float>(),
                         momentum != 0.f ? d_buf.as<float>() : nullptr, d_copy.get(), dt, kN,
                         segments, cuda::SgdScalars{lr, momentum, wd, scale}, t == 1, stream.get());
        stream.sync();
        const std::string tag = std::string(dtype_name(dt)) + " momentum " +
                                std::to_string(momentum) + " step " + std::to_string(t);
        const auto p = download_vector<float>(d_p, kN);
        expect_close(p, p_ref, 1e-5, "master " + tag);
        if (momentum != 0.f) {
          auto buf = download_vector<float>(d_buf, kN);
          buf.resize(1000);
          expect_close(buf, std::vector<float>(buf_ref.begin(), buf_ref.begin() + 1000), 1e-5,
                       "momentum_buffer " + tag);
        }
        check_copy(dt, d_copy, p, "copy " + tag);
      }
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
