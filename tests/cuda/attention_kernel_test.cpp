// Both cuda::Attention implementations against ops::attention_forward / attention_backward run
// in double on the same inputs rounded to the compute dtype: fresh random inputs, outputs
// poisoned with NaN, odd shapes (T=35, NH=3, a head size of 10 for our own kernels), fp32 and
// bf16 for our own kernels, bf16 for cuDNN where the build has it, and bit-identical repeats.
// Skipped where no GPU is visible.
#include <boost/test/unit_test.hpp>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "attention.cuh"
#include "device_arrays.hpp"
#include "zerotune/ops/attention.hpp"

using zerotune::DType;
using zerotune::cuda::Attention;
using namespace zerotune::testing;
namespace ops = zerotune::ops;

namespace {

struct Shape {
  int64_t B, T, C, NH;
};

struct Case {
  std::string label;
  std::unique_ptr<Attention> attention;
  DType dtype;
  std::vector<Shape> shapes;
};

// Every implementation this build has, with the shapes it supports (cuDNN: head size a
// multiple of 8).
std::vector<Case> implementations(cudaStream_t stream) {
  std::vector<Case> cases;
  const std::vector<Shape> any_head{{2, 35, 48, 3}, {1, 35, 30, 3}, {2, 64, 256, 4}};
  const std::vector<Shape> head_of_8s{{2, 35, 48, 3}, {2, 64, 256, 4}};
  for (DType dt : {DType::kFloat32, DType::kBFloat16}) {
    cases.push_back({std::string("own ") + zerotune::dtype_name(dt),
                     zerotune::cuda::make_own_attention(dt, stream), dt, any_head});
  }
  if (auto cudnn = zerotune::cuda::make_cudnn_attention(DType::kBFloat16, stream)) {
    cases.push_back({"cudnn bf16", std::move(cudnn), DType::kBFloat16, head_of_8s});
  }
  BOOST_TEST(!zerotune::cuda::make_cudnn_attention(DType::kFloat32, stream),
             "cuDNN attention has no fp32 path");
  return cases;
}

std::string describe(const Case& c, const Shape& s, const char* what) {
  return c.label + " B=" + std::to_string(s.B) + " T=" + std::to_string(s.T) +
         " C=" + std::to_string(s.C) + " NH=" + std::to_string(s.NH) + ": " + what;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(attention_kernel, *boost::unit_test::precondition(HasGpu{}))

BOOST_AUTO_TEST_CASE(forward_and_backward_match_cpu) {
  Stream stream;
  std::mt19937 rng(21);
  for (Case& c : implementations(stream.s)) {
    for (const Shape& s : c.shapes) {
      const DType dt = c.dtype;
      const size_t rows = size_t(s.B * s.T);
      const auto qkv = random_values(rows * 3 * s.C, dt, rng);
      const auto dout = random_values(rows * s.C, dt, rng);
      DeviceArray gqkv(dt, qkv.size()), gdout(dt, dout.size());
      DeviceArray gout(dt, rows * s.C), gdqkv(dt, qkv.size());
      DeviceArray saved(DType::kFloat32, (c.attention->saved_bytes(s.B, s.T, s.NH) + 3) / 4);
      gqkv.upload(qkv), gdout.upload(dout);
      gout.poison(), gdqkv.poison(), saved.poison();

      c.attention->forward(gout.data(), saved.data(), gqkv.data(), s.B, s.T, s.C, s.NH);
      c.attention->backward(gdqkv.data(), gdout.data(), gqkv.data(), gout.data(), saved.data(), s.B,
                            s.T, s.C, s.NH);

      const auto qkvd = to_double(qkv), doutd = to_double(dout);
      std::vector<double> out(rows * s.C), att(size_t(s.B * s.NH * s.T * s.T));
      std::vector<double> dqkv(qkv.size()), scratch(size_t(s.T * s.T));
      ops::attention_forward<double>(out.data(), att.data(), qkvd.data(), s.B, s.T, s.C, s.NH);
      ops::attention_backward<double>(dqkv.data(), scratch.data(), doutd.data(), qkvd.data(),
                                      att.data(), s.B, s.T, s.C, s.NH);
      check_close(gout.download(), out, dt, describe(c, s, "out"));
      check_close(gdqkv.download(), dqkv, dt, describe(c, s, "dqkv"));
      if (c.label.rfind("own", 0) == 0) {
        // Our own kernels keep the probabilities (zeros above the diagonal included).
        BOOST_REQUIRE_EQUAL(c.attention->saved_bytes(s.B, s.T, s.NH),
                            att.size() * zerotune::dtype_bytes(dt));
        DeviceArray probs(dt, att.size());
        check_cuda(cudaMemcpy(probs.data(), saved.data(), probs.bytes(), cudaMemcpyDeviceToDevice),
                   "cudaMemcpy");
        check_close(probs.download(), att, dt, describe(c, s, "probabilities"));
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(repeated_runs_are_bit_identical) {
  Stream stream;
  std::mt19937 rng(22);
  const Shape s{4, 128, 384, 6};
  for (Case& c : implementations(stream.s)) {
    const DType dt = c.dtype;
    const size_t rows = size_t(s.B * s.T);
    const auto qkv = random_values(rows * 3 * s.C, dt, rng);
    const auto dout = random_values(rows * s.C, dt, rng);
    DeviceArray gqkv(dt, qkv.size()), gdout(dt, dout.size());
    gqkv.upload(qkv), gdout.upload(dout);
    std::vector<unsigned char> first_out, first_dqkv;
    for (int run = 0; run < 2; ++run) {
      DeviceArray gout(dt, rows * s.C), gdqkv(dt, qkv.size());
      DeviceArray saved(DType::kFloat32, (c.attention->saved_bytes(s.B, s.T, s.NH) + 3) / 4);
      gout.poison(), gdqkv.poison();
      c.attention->forward(gout.data(), saved.data(), gqkv.data(), s.B, s.T, s.C, s.NH);
      c.attention->backward(gdqkv.data(), gdout.data(), gqkv.data(), gout.data(), saved.data(), s.B,
                            s.T, s.C, s.NH);
      if (run == 0) {
        first_out = gout.raw(), first_dqkv = gdqkv.raw();
      } else {
        BOOST_TEST((gout.raw() == first_out), c.label << ": out differs between runs");
        BOOST_TEST((gdqkv.raw() == first_dqkv), c.label << ": dqkv differs between runs");
      }
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
