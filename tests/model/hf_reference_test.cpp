// The C++ half of tests/python/test_hf_reference.py. The script builds a random Hugging Face
// GPT2LMHeadModel and writes its config.json, model.safetensors, a batch (input_ids and
// Hugging Face labels) and AdamW settings into ZEROTUNE_REFERENCE_DIR; this case loads them
// with the zerotune readers, runs Gpt2<float> and Gpt2<double> forward/backward and writes
// the loss, logits and every gradient, then takes AdamW steps in float (gradients recomputed
// each step, weight decay on the decay tensors only) and writes the parameters and an export
// directory. The script compares everything with transformers and torch.optim.AdamW.
// Skipped unless the variable is set.
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>

#include "test_support.hpp"
#include "zerotune/model/gpt2.hpp"
#include "zerotune/model/gpt2_hf.hpp"
#include "zerotune/model/safetensors.hpp"
#include "zerotune/ops/adamw.hpp"

using namespace zerotune;
using namespace zerotune::model;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

struct ReferenceDirSet {
  boost::test_tools::assertion_result operator()(boost::unit_test::test_unit_id) const {
    boost::test_tools::assertion_result ok(std::getenv("ZEROTUNE_REFERENCE_DIR") != nullptr);
    ok.message() << "ZEROTUNE_REFERENCE_DIR is not set (tests/python/test_hf_reference.py sets it)";
    return ok;
  }
};

// Resident full buffers, as ZeRO stages 0-2 hand them to the model.
template <typename T>
class ResidentParams : public ParameterSource<T> {
 public:
  explicit ResidentParams(std::vector<std::vector<T>>& units) : units_(units) {}
  const T* acquire(int unit, int) override { return units_.at(unit).data(); }
  void release(int) override {}

 private:
  std::vector<std::vector<T>>& units_;
};

template <typename T>
class ResidentGrads : public GradientSink<T> {
 public:
  explicit ResidentGrads(const Gpt2Layout& layout) {
    for (const auto& u : layout.units) units.emplace_back(u.numel, T(0));
  }
  T* gradients(int unit) override { return units.at(unit).data(); }
  void gradients_ready(int) override {}
  void zero() {
    for (auto& u : units) std::fill(u.begin(), u.end(), T(0));
  }
  std::vector<std::vector<T>> units;
};

// One view per layout tensor of `units`, named prefix + "transformer." + HF name.
template <typename T>
void add_views(std::vector<TensorView>& views, const Gpt2Layout& layout,
               const std::vector<std::vector<T>>& units, const std::string& prefix) {
  for (size_t u = 0; u < layout.units.size(); ++u) {
    for (const auto& t : layout.units[u].tensors) {
      views.push_back({prefix + "transformer." + t.name, t.shape, units[u].data() + t.offset});
    }
  }
}

// The exchange directory's model and batch, and Gpt2<T> over them.
template <typename T>
struct Reference {
  explicit Reference(const fs::path& dir)
      : shape(read_gpt2_config_json(dir / "config.json")),
        layout(make_gpt2_layout(shape)),
        grads(layout) {
    for (const auto& u : layout.units) params.emplace_back(u.numel);
    std::vector<T*> pointers;
    for (auto& p : params) pointers.push_back(p.data());
    load_gpt2_safetensors<T>(dir / "model.safetensors", layout, pointers);

    // Hugging Face labels: position t's label is the token to predict at t - 1. Gpt2 wants
    // the target of position t at t, so shift left by one and end each row with -100.
    const SafetensorsFile batch(dir / "batch.safetensors");
    ids = batch.read_i32("input_ids");
    const std::vector<int32_t> hf_labels = batch.read_i32("labels");
    B = batch.at("input_ids").shape.at(0);
    T_len = batch.at("input_ids").shape.at(1);
    BOOST_TEST_REQUIRE(batch.at("labels").shape == batch.at("input_ids").shape);
    labels.assign(B * T_len, kIgnoreIndex);
    for (int64_t b = 0; b < B; ++b) {
      for (int64_t t = 0; t + 1 < T_len; ++t) {
        labels[b * T_len + t] = hf_labels[b * T_len + t + 1];
        count += labels[b * T_len + t] != kIgnoreIndex;
      }
    }
    BOOST_TEST_REQUIRE(count > 0);
    model = std::make_unique<Gpt2<T>>(shape, B);
  }

  // Hugging Face's loss is the mean over counted tokens; Gpt2 returns the sum.
  T loss_and_grads() {
    ResidentParams<T> source(params);
    grads.zero();
    const LossSum loss = model->forward(ids.data(), labels.data(), B, T_len, source);
    BOOST_TEST_REQUIRE(loss.tokens == count);
    model->backward(T(1) / static_cast<T>(count), source, grads);
    return static_cast<T>(loss.sum / static_cast<double>(count));
  }

  // loss, logits and every gradient of the current parameters.
  T write_forward(const fs::path& path) {
    const T loss = loss_and_grads();
    BOOST_TEST(std::isfinite(loss));
    std::vector<TensorView> out{{"loss", {}, &loss},
                                {"logits", {B, T_len, shape.vocab_size}, model->logits()}};
    add_views(out, layout, grads.units, "grad.");
    write_safetensors(path, out);
    return loss;
  }

  Gpt2Shape shape;
  Gpt2Layout layout;
  std::vector<std::vector<T>> params;
  ResidentGrads<T> grads;
  std::vector<int32_t> ids, labels;
  int64_t B = 0, T_len = 0, count = 0;
  std::unique_ptr<Gpt2<T>> model;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(hf_reference)

BOOST_AUTO_TEST_CASE(forward_backward_and_adamw_steps,
                     *boost::unit_test::precondition(ReferenceDirSet{})) {
  const fs::path dir = std::getenv("ZEROTUNE_REFERENCE_DIR");
  Reference<float> ref(dir);
  const float loss = ref.write_forward(dir / "forward_f32.safetensors");

  // AdamW as Hugging Face Trainer groups it: weight decay on TensorSpec::weight_decay tensors.
  const json settings = json::parse(zerotune::testing::read_text_file(dir / "adamw.json"));
  ops::AdamWHyper hyper;
  hyper.lr = settings.at("lr").get<double>();
  hyper.beta1 = settings.at("beta1").get<double>();
  hyper.beta2 = settings.at("beta2").get<double>();
  hyper.eps = settings.at("eps").get<double>();
  const double weight_decay = settings.at("weight_decay").get<double>();
  const int64_t steps = settings.at("steps").get<int64_t>();
  const Gpt2Layout& layout = ref.layout;
  std::vector<std::vector<float>> m, v;
  for (const auto& u : layout.units) {
    m.emplace_back(u.numel, 0.0f);
    v.emplace_back(u.numel, 0.0f);
  }
  std::vector<float> losses;
  for (int64_t t = 1; t <= steps; ++t) {
    losses.push_back(t == 1 ? loss : ref.loss_and_grads());
    for (size_t u = 0; u < layout.units.size(); ++u) {
      for (const auto& spec : layout.units[u].tensors) {
        ops::AdamWHyper h = hyper;
        h.weight_decay = spec.weight_decay ? weight_decay : 0.0;
        const int64_t o = spec.offset;
        ops::adamw_step(ref.params[u].data() + o, ref.grads.units[u].data() + o, m[u].data() + o,
                        v[u].data() + o, spec.numel, h, t);
      }
    }
  }
  {
    std::vector<TensorView> out{{"losses", {steps}, losses.data()}};
    add_views(out, layout, ref.params, "param.");
    write_safetensors(dir / "adamw.safetensors", out);
  }

  // The trained model as `zerotune export` writes it, for from_pretrained().
  fs::create_directories(dir / "export");
  std::vector<const float*> pointers;
  for (const auto& p : ref.params) pointers.push_back(p.data());
  save_gpt2_safetensors(dir / "export" / "model.safetensors", layout, pointers);
  write_gpt2_config_json(dir / "export" / "config.json", ref.shape);
}

// Gpt2<double> on the same float32 weights, against Hugging Face in float64: agreement to
// ~1e-12 rules out small constant differences (LayerNorm epsilon, GELU constants) that
// float32 rounding could hide.
BOOST_AUTO_TEST_CASE(forward_backward_in_double,
                     *boost::unit_test::precondition(ReferenceDirSet{})) {
  const fs::path dir = std::getenv("ZEROTUNE_REFERENCE_DIR");
  Reference<double> ref(dir);
  ref.write_forward(dir / "forward_f64.safetensors");
}

BOOST_AUTO_TEST_SUITE_END()
