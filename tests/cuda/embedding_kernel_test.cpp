// Embedding forward and the grouped, deterministic backward against ops::embedding_* on the
// same dtype-rounded inputs, with repeated token ids; and the host grouping helper.
#include <boost/test/unit_test.hpp>
#include <random>

#include "cuda/embedding.cuh"
#include "kernel_test_support.hpp"
#include "zerotune/ops/embedding.hpp"

using namespace zerotune;
using namespace zerotune::cuda_test;

namespace {
struct Shape {
  int64_t B, T, C, V;
};
// C = 96 takes the 16-byte path, C = 100 the element path; V small so that ids repeat.
const Shape kShapes[] = {{2, 37, 96, 50}, {3, 17, 100, 1001}};
}  // namespace

BOOST_AUTO_TEST_CASE(grouping_is_a_stable_sort_by_token) {
  const std::vector<int32_t> ids = {4, 1, 4, 0, 1, 4};
  const auto g = cuda::group_positions_by_token(ids.data(), 6, 5);
  BOOST_TEST(g.tokens == (std::vector<int32_t>{0, 1, 4}), boost::test_tools::per_element());
  BOOST_TEST(g.starts == (std::vector<int32_t>{0, 1, 3, 6}), boost::test_tools::per_element());
  BOOST_TEST(g.order == (std::vector<int32_t>{3, 1, 4, 0, 2, 5}), boost::test_tools::per_element());
  const std::vector<int32_t> bad = {0, 5};
  BOOST_CHECK_THROW(cuda::group_positions_by_token(bad.data(), 2, 5), std::out_of_range);
}

BOOST_AUTO_TEST_SUITE(embedding_kernel, *boost::unit_test::precondition(HasGpu{}))

BOOST_AUTO_TEST_CASE(forward_and_backward_match_cpu_op) {
  std::mt19937 rng(61);
  Stream stream;
  for (DType dt : kGpuDtypes) {
    for (Shape s : kShapes) {
      const int64_t n = s.B * s.T;
      std::uniform_int_distribution<int32_t> token(0, static_cast<int32_t>(s.V - 1));
      std::vector<int32_t> ids(n);
      for (auto& id : ids) id = token(rng);
      const auto wte = random_values(dt, s.V * s.C, rng);
      const auto wpe = random_values(dt, s.T * s.C, rng);
      const auto dout = random_values(dt, n * s.C, rng);
      const auto dwte0 = random_values(DType::kFloat32, s.V * s.C, rng);
      const auto dwpe0 = random_values(DType::kFloat32, s.T * s.C, rng);
      std::vector<float> out_ref(n * s.C), dwte_ref = dwte0, dwpe_ref = dwpe0;
      ops::embedding_forward(out_ref.data(), ids.data(), wte.data(), wpe.data(), s.B, s.T, s.C);
      ops::embedding_backward(dwte_ref.data(), dwpe_ref.data(), dout.data(), ids.data(), s.B, s.T,
                              s.C);

      const size_t e = dtype_bytes(dt);
      DeviceBytes d_ids(n * 4), d_wte(s.V * s.C * e), d_wpe(s.T * s.C * e), d_out(n * s.C * e),
          d_dout(n * s.C * e), d_dwte(s.V * s.C * 4), d_dwpe(s.T * s.C * 4);
      upload_vector(d_ids, ids);
      upload_as(dt, d_wte, wte);
      upload_as(dt, d_wpe, wpe);
      upload_as(dt, d_dout, dout);
      cuda::embedding_forward(dt, d_out.get(), d_ids.as<int32_t>(), d_wte.get(), d_wpe.get(), s.B,
                              s.T, s.C, stream.get());

      const auto groups = cuda::group_positions_by_token(ids.data(), n, s.V);
      DeviceBytes d_order(n * 4), d_tokens(groups.tokens.size() * 4),
          d_starts(groups.starts.size() * 4);
      upload_vector(d_order, groups.order);
      upload_vector(d_tokens, groups.tokens);
      upload_vector(d_starts, groups.starts);
      std::vector<unsigned char> first_wte, first_wpe;
      for (int run = 0; run < 2; ++run) {
        upload_vector(d_dwte, dwte0);
        upload_vector(d_dwpe, dwpe0);
        cuda::embedding_backward(dt, d_dwte.as<float>(), d_dwpe.as<float>(), d_dout.get(),
                                 d_order.as<int32_t>(), d_tokens.as<int32_t>(),
                                 d_starts.as<int32_t>(), static_cast<int64_t>(groups.tokens.size()),
                                 s.B, s.T, s.C, stream.get());
        stream.sync();
        if (run == 0) {
          first_wte = d_dwte.raw();
          first_wpe = d_dwpe.raw();
        }
      }
      const std::string tag = std::string(dtype_name(dt)) + " C=" + std::to_string(s.C);
      expect_close(download_as(dt, d_out, n * s.C), out_ref, tolerance(dt), "out " + tag);
      expect_close(download_vector<float>(d_dwte, s.V * s.C), dwte_ref, 1e-5, "dwte " + tag);
      expect_close(download_vector<float>(d_dwpe, s.T * s.C), dwpe_ref, 1e-5, "dwpe " + tag);
      BOOST_TEST((d_dwte.raw() == first_wte), "dwte differs between runs: " << tag);
      BOOST_TEST((d_dwpe.raw() == first_wpe), "dwpe differs between runs: " << tag);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
