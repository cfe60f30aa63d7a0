// The C++ half of tests/python/test_optimizer_reference.py: runs AdamW / SGD with gradient
// clipping and LR schedules over the parameters and gradients the script wrote, evaluates
// schedules, and reads back dtype probes written by the safetensors library; the script
// compares all of it with torch.optim, clip_grad_norm_ and transformers' schedules. Skipped
// unless ZEROTUNE_REFERENCE_DIR names the exchange directory.
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdlib>
#include <deque>
#include <nlohmann/json.hpp>

#include "test_support.hpp"
#include "zerotune/model/safetensors.hpp"
#include "zerotune/ops/adamw.hpp"
#include "zerotune/ops/sgd.hpp"
#include "zerotune/train/grad_clip.hpp"
#include "zerotune/train/lr_schedule.hpp"

using namespace zerotune;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

struct ReferenceDirSet {
  boost::test_tools::assertion_result operator()(boost::unit_test::test_unit_id) const {
    boost::test_tools::assertion_result ok(std::getenv("ZEROTUNE_REFERENCE_DIR") != nullptr);
    ok.message() << "ZEROTUNE_REFERENCE_DIR is not set (tests/python/test_optimizer_reference.py"
                 << " sets it)";
    return ok;
  }
};

train::LrSchedule schedule_of(const json& c) {
  return train::LrSchedule(c.at("lr").get<double>(),
                           train::parse_lr_decay(c.at("schedule").get<std::string>()),
                           c.at("warmup_steps").get<int64_t>(), c.at("total_steps").get<int64_t>(),
                           c.at("min_lr_ratio").get<double>());
}

// Runs one optimizer over all steps; returns the parameters after each step, [steps, n].
// Elements [0, decay_numel) get the weight decay, the rest none (two torch param groups).
std::vector<float> run_optimizer(const json& c, const std::vector<float>& param0,
                                 const std::vector<float>& grads, int64_t steps) {
  const int64_t n = static_cast<int64_t>(param0.size());
  const int64_t k = c.at("decay_numel").get<int64_t>();
  const train::LrSchedule schedule = schedule_of(c);
  const double max_norm = c.at("max_norm").get<double>();
  const bool adamw = c.at("optimizer") == "adamw";
  std::vector<float> p = param0, m(n, 0.0f), v(n, 0.0f), trajectory;
  for (int64_t s = 0; s < steps; ++s) {
    const float* g = grads.data() + s * n;
    const double coef =
        train::clip_coefficient(std::sqrt(train::grad_sum_of_squares(g, n)), max_norm);
    const double lr = schedule.lr_at(s);
    const double wd = c.at("weight_decay").get<double>();
    if (adamw) {
      ops::AdamWHyper h;
      h.lr = lr;
      h.beta1 = c.at("beta1").get<double>();
      h.beta2 = c.at("beta2").get<double>();
      h.eps = c.at("eps").get<double>();
      h.grad_scale = coef;
      h.weight_decay = wd;
      ops::adamw_step(p.data(), g, m.data(), v.data(), k, h, s + 1);
      h.weight_decay = 0.0;
      ops::adamw_step(p.data() + k, g + k, m.data() + k, v.data() + k, n - k, h, s + 1);
    } else {
      ops::SgdHyper h;
      h.lr = lr;
      h.momentum = c.at("momentum").get<double>();
      h.grad_scale = coef;
      h.weight_decay = wd;
      ops::sgd_step(p.data(), g, m.data(), k, h);
      h.weight_decay = 0.0;
      ops::sgd_step(p.data() + k, g + k, m.data() + k, n - k, h);
    }
    trajectory.insert(trajectory.end(), p.begin(), p.end());
  }
  return trajectory;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(torch_optimizer_reference)

BOOST_AUTO_TEST_CASE(run_exchange_cases, *boost::unit_test::precondition(ReferenceDirSet{})) {
  const fs::path dir = std::getenv("ZEROTUNE_REFERENCE_DIR");
  const json cases = json::parse(zerotune::testing::read_text_file(dir / "cases.json"));
  const model::SafetensorsFile in(dir / "inputs.safetensors");
  const std::vector<float> param0 = in.read_f32("param");
  const std::vector<float> grads = in.read_f32("grads");  // stored as F64 by the script
  const int64_t steps = in.at("grads").shape.at(0);
  BOOST_TEST_REQUIRE(in.at("grads").shape.at(1) == static_cast<int64_t>(param0.size()));

  std::deque<std::vector<float>> keep;
  std::vector<model::TensorView> out;
  const int64_t n = static_cast<int64_t>(param0.size());
  for (const json& c : cases.at("optimizer_runs")) {
    keep.push_back(run_optimizer(c, param0, grads, steps));
    out.push_back({"run." + c.at("name").get<std::string>(), {steps, n}, keep.back().data()});
  }

  json schedules = json::array();
  for (const json& c : cases.at("schedules")) {
    const train::LrSchedule schedule = schedule_of(c);
    std::vector<double> lrs;
    for (int64_t s = 0; s <= c.at("total_steps").get<int64_t>(); ++s) {
      lrs.push_back(schedule.lr_at(s));
    }
    schedules.push_back(lrs);
  }
  zerotune::testing::write_text_file(dir / "schedules_out.json", schedules.dump());

  for (const auto& t : in.tensors()) {
    if (t.name.rfind("probe.", 0) != 0) continue;
    keep.push_back(in.read_f32(t.name));
    out.push_back({t.name, t.shape, keep.back().data()});
  }
  model::write_safetensors(dir / "outputs.safetensors", out);
}

BOOST_AUTO_TEST_SUITE_END()
