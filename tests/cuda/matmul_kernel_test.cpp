// cuda::Matmul against the CPU ops (ops::matmul_*, lm_head_*, gelu_forward) run in double on
// the same inputs rounded to the compute dtype: fresh random inputs, outputs poisoned with NaN,
// odd shapes (N=37, IC=96, OC=200, V=1001 padded to ld=1024), fp32 and bf16, and bit-identical
// repeats. Skipped where no GPU is visible.
#include <cuda_runtime_api.h>

#include <boost/test/unit_test.hpp>
#include <random>
#include <vector>

#include "device_arrays.hpp"
#include "matmul.cuh"
#include "zerotune/ops/gelu.hpp"
#include "zerotune/ops/lm_head.hpp"
#include "zerotune/ops/matmul.hpp"

using zerotune::DType;
using zerotune::cuda::Matmul;
using namespace zerotune::testing;
namespace ops = zerotune::ops;

namespace {

constexpr int64_t kN = 37, kIC = 96, kOC = 200;
constexpr int64_t kC = 96, kV = 1001, kLd = 1024;
const DType kDtypes[] = {DType::kFloat32, DType::kBFloat16};

}  // namespace

BOOST_AUTO_TEST_SUITE(matmul_kernel, *boost::unit_test::precondition(HasGpu{}))

BOOST_AUTO_TEST_CASE(forward_with_and_without_bias_matches_cpu) {
  std::mt19937 rng(11);
  for (DType dt : kDtypes) {
    Stream stream;
    Matmul mm(dt, stream.s);
    const auto x = random_values(kN * kIC, dt, rng), w = random_values(kIC * kOC, dt, rng);
    const auto b = random_values(kOC, dt, rng);
    DeviceArray gx(dt, x.size()), gw(dt, w.size()), gb(dt, b.size()), gy(dt, kN * kOC);
    gx.upload(x), gw.upload(w), gb.upload(b);
    for (bool with_bias : {true, false}) {
      gy.poison();
      mm.forward(gy.data(), gx.data(), gw.data(), with_bias ? gb.data() : nullptr, kN, kIC, kOC);
      std::vector<double> want(kN * kOC);
      const auto xd = to_double(x), wd = to_double(w), bd = to_double(b);
      ops::matmul_forward<double>(want.data(), xd.data(), wd.data(),
                                  with_bias ? bd.data() : nullptr, kN, kIC, kOC);
      check_close(gy.download(), want, dt, with_bias ? "y with bias" : "y without bias");
    }
  }
}

BOOST_AUTO_TEST_CASE(gelu_epilogue_matches_cpu_gelu) {
  std::mt19937 rng(12);
  for (DType dt : kDtypes) {
    Stream stream;
    Matmul mm(dt, stream.s);
    const auto x = random_values(kN * kIC, dt, rng), w = random_values(kIC * kOC, dt, rng, 0.3f);
    const auto b = random_values(kOC, dt, rng);
    DeviceArray gx(dt, x.size()), gw(dt, w.size()), gb(dt, b.size());
    DeviceArray gy(dt, kN * kOC), gpre(dt, kN * kOC);
    gx.upload(x), gw.upload(w), gb.upload(b);
    gy.poison(), gpre.poison();
    mm.forward(gy.data(), gx.data(), gw.data(), gb.data(), kN, kIC, kOC, gpre.data());
    std::vector<double> pre(kN * kOC), y(kN * kOC);
    const auto xd = to_double(x), wd = to_double(w), bd = to_double(b);
    ops::matmul_forward<double>(pre.data(), xd.data(), wd.data(), bd.data(), kN, kIC, kOC);
    // The epilogue applies GELU to the unrounded fp32 sum, so the reference does too.
    ops::gelu_forward<double>(y.data(), pre.data(), kN * kOC);
    check_close(gpre.download(), pre, dt, "gelu_pre");
    // The epilogue's tanh may be the hardware approximation (relative error ~2^-11), so the
    // GELU output is held to 1e-3 of the largest value in fp32 (bf16: its usual 1e-2).
    check_close_to_max(gy.download(), y, dt == DType::kFloat32 ? 1e-3 : 1e-2, "gelu(x@w+b)");
  }
}

BOOST_AUTO_TEST_CASE(backward_overwrites_dx_and_accumulates_fp32_dw_db) {
  std::mt19937 rng(13);
  for (DType dt : kDtypes) {
    Stream stream;
    Matmul mm(dt, stream.s);
    const auto x = random_values(kN * kIC, dt, rng), w = random_values(kIC * kOC, dt, rng);
    const auto dy = random_values(kN * kOC, dt, rng);
    const auto dw0 = random_values(kIC * kOC, DType::kFloat32, rng);
    const auto db0 = random_values(kOC, DType::kFloat32, rng);
    DeviceArray gx(dt, x.size()), gw(dt, w.size()), gdy(dt, dy.size()), gdx(dt, x.size());
    DeviceArray gdw(DType::kFloat32, dw0.size()), gdb(DType::kFloat32, db0.size());
    gx.upload(x), gw.upload(w), gdy.upload(dy), gdw.upload(dw0), gdb.upload(db0);
    gdx.poison();
    mm.backward(gdx.data(), gdw.f32(), gdb.f32(), gdy.data(), gx.data(), gw.data(), kN, kIC, kOC);

    std::vector<double> dx(kN * kIC), dw = to_double(dw0), db = to_double(db0);
    const auto xd = to_double(x), wd = to_double(w), dyd = to_double(dy);
    ops::matmul_backward<double>(dx.data(), dw.data(), db.data(), dyd.data(), xd.data(), wd.data(),
                                 kN, kIC, kOC);
    check_close(gdx.download(), dx, dt, "dx");
    // dw and db are fp32 whatever the compute dtype: held to the fp32 tolerance.
    check_close(gdw.download(), dw, DType::kFloat32, "dw (fp32, accumulated)");
    check_close(gdb.download(), db, DType::kFloat32, "db (fp32, accumulated)");

    // dx null: only the parameter gradients move (accumulated a second time).
    mm.backward(nullptr, gdw.f32(), nullptr, gdy.data(), gx.data(), gw.data(), kN, kIC, kOC);
    std::vector<double> dw2 = dw, db_unused(kOC);
    ops::matmul_backward<double>(nullptr, dw2.data(), db_unused.data(), dyd.data(), xd.data(),
                                 wd.data(), kN, kIC, kOC);
    check_close(gdw.download(), dw2, DType::kFloat32, "dw accumulated twice");
    check_close(gdb.download(), db, DType::kFloat32, "db untouched when null");
  }
}

BOOST_AUTO_TEST_CASE(lm_head_forward_fills_v_columns_of_padded_rows) {
  std::mt19937 rng(14);
  for (DType dt : kDtypes) {
    Stream stream;
    Matmul mm(dt, stream.s);
    const auto x = random_values(kN * kC, dt, rng), wte = random_values(kV * kC, dt, rng);
    DeviceArray gx(dt, x.size()), gwte(dt, wte.size()), glogits(dt, kN * kLd);
    gx.upload(x), gwte.upload(wte);
    glogits.poison();
    mm.lm_head_forward(glogits.data(), gx.data(), gwte.data(), kN, kC, kV, kLd);
    std::vector<double> want(kN * kV);
    const auto xd = to_double(x), wd = to_double(wte);
    ops::lm_head_forward<double>(want.data(), xd.data(), wd.data(), kN, kC, kV);
    const auto got = glogits.download();
    std::vector<float> first_v(kN * kV);
    bool padding_untouched = true;
    for (int64_t n = 0; n < kN; ++n) {
      for (int64_t v = 0; v < kLd; ++v) {
        if (v < kV) {
          first_v[n * kV + v] = got[n * kLd + v];
        } else if (!std::isnan(got[n * kLd + v])) {
          padding_untouched = false;
        }
      }
    }
    check_close(first_v, want, dt, "logits");
    BOOST_TEST(padding_untouched, "padding columns V..ld-1 are not written");
  }
}

BOOST_AUTO_TEST_CASE(lm_head_backward_reads_only_v_columns) {
  std::mt19937 rng(15);
  for (DType dt : kDtypes) {
    Stream stream;
    Matmul mm(dt, stream.s);
    const auto x = random_values(kN * kC, dt, rng), wte = random_values(kV * kC, dt, rng);
    const auto dlogits = random_values(kN * kV, dt, rng);
    const auto dwte0 = random_values(kV * kC, DType::kFloat32, rng);
    // Padded rows: the padding holds NaN, so reading it would show in every output.
    std::vector<float> padded(kN * kLd, std::nanf(""));
    for (int64_t n = 0; n < kN; ++n) {
      for (int64_t v = 0; v < kV; ++v) padded[n * kLd + v] = dlogits[n * kV + v];
    }
    DeviceArray gx(dt, x.size()), gwte(dt, wte.size()), gdl(dt, padded.size());
    DeviceArray gdx(dt, x.size()), gdwte(DType::kFloat32, dwte0.size());
    gx.upload(x), gwte.upload(wte), gdl.upload(padded), gdwte.upload(dwte0);
    gdx.poison();
    mm.lm_head_backward(gdx.data(), gdwte.f32(), gdl.data(), gx.data(), gwte.data(), kN, kC, kV,
                        kLd);
    std::vector<double> dx(kN * kC), dwte = to_double(dwte0);
    const auto xd = to_double(x), wd = to_double(wte), dld = to_double(dlogits);
    ops::lm_head_backward<double>(dx.data(), dwte.data(), dld.data(), xd.data(), wd.data(), kN, kC,
                                  kV);
    check_close(gdx.download(), dx, dt, "dx");
    check_close(gdwte.download(), dwte, DType::kFloat32, "dwte (fp32, accumulated)");
  }
}

BOOST_AUTO_TEST_CASE(repeated_products_are_bit_identical) {
  std::mt19937 rng(16);
  const int64_t N = 512, IC = 768, OC = 2304;
  for (DType dt : kDtypes) {
    Stream stream;
    Matmul mm(dt, stream.s);
    const auto x = random_values(N * IC, dt, rng), w = random_values(IC * OC, dt, rng);
    const auto b = random_values(OC, dt, rng), dy = random_values(N * OC, dt, rng);
    DeviceArray gx(dt, x.size()), gw(dt, w.size()), gb(dt, b.size()), gdy(dt, dy.size());
    gx.upload(x), gw.upload(w), gb.upload(b), gdy.upload(dy);
    std::vector<unsigned char> first[4];
    for (int run = 0; run < 2; ++run) {
      DeviceArray y(dt, N * OC), dx(dt, N * IC), dw(DType::kFloat32, IC * OC),
          db(DType::kFloat32, OC);
      check_cuda(cudaMemset(dw.data(), 0, dw.bytes()), "cudaMemset");
      check_cuda(cudaMemset(db.data(), 0, db.bytes()), "cudaMemset");
      mm.forward(y.data(), gx.data(), gw.data(), gb.data(), N, IC, OC);
      mm.backward(dx.data(), dw.f32(), db.f32(), gdy.data(), gx.data(), gw.data(), N, IC, OC);
      const std::vector<unsigned char> now[4] = {y.raw(), dx.raw(), dw.raw(), db.raw()};
      for (int i = 0; i < 4; ++i) {
        if (run == 0) {
          first[i] = now[i];
        } else {
          BOOST_TEST((now[i] == first[i]), "output " << i << " differs between runs");
        }
      }
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
