#include "zerotune/model/gpt2.hpp"

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <string>

#include "gpt2_fixtures.hpp"
#include "gradcheck.hpp"
#include "zerotune/base/error.hpp"

using namespace zerotune;
using namespace zerotune::model;
using namespace zerotune::testing;

BOOST_AUTO_TEST_SUITE(gpt2)

namespace {

const Gpt2Shape kSmall{2, 4, 32, 16, 50};  // n_layer, n_head, n_embd, seq_len, vocab

struct Batch {
  int64_t B = 0, Tlen = 0;
  std::vector<int32_t> ids, labels;
};

// Random tokens; the label is the next token, -100 on every fifth position and the last.
Batch random_batch(int64_t B, int64_t Tlen, int64_t V, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int32_t> tok(0, static_cast<int32_t>(V - 1));
  Batch b{B, Tlen, std::vector<int32_t>(B * Tlen), std::vector<int32_t>(B * Tlen)};
  for (auto& id : b.ids) id = tok(rng);
  for (int64_t i = 0; i < B * Tlen; ++i) {
    const bool ignored = i % 5 == 4 || i % Tlen == Tlen - 1;
    b.labels[i] = ignored ? kIgnoreIndex : b.ids[i + 1];
  }
  return b;
}

std::vector<double> as_double(const std::vector<float>& v) { return {v.begin(), v.end()}; }

}  // namespace

BOOST_AUTO_TEST_CASE(loss_is_the_summed_cross_entropy_of_the_returned_logits) {
  Gpt2<double> model(kSmall, 4);
  auto params = random_parameters(model.layout(), 1, 0.3);
  ResidentParameters<double> source(params);
  const Batch b = random_batch(3, 11, kSmall.vocab_size, 2);
  const LossSum loss = model.forward(b.ids.data(), b.labels.data(), b.B, b.Tlen, source);
  const int64_t V = kSmall.vocab_size;
  long double ref = 0.0L;
  int64_t count = 0;
  for (int64_t i = 0; i < b.B * b.Tlen; ++i) {
    if (b.labels[i] == kIgnoreIndex) continue;
    long double z = 0.0L;
    for (int64_t j = 0; j < V; ++j)
      z += std::exp(static_cast<long double>(model.logits()[i * V + j]));
    ref += std::log(z) - model.logits()[i * V + b.labels[i]];
    ++count;
  }
  BOOST_TEST(loss.tokens == count);
  BOOST_TEST(std::abs(loss.sum - static_cast<double>(ref)) < 1e-12 * std::abs(loss.sum));
}

BOOST_AUTO_TEST_CASE(forward_without_labels_gives_the_same_logits_and_no_loss) {
  Gpt2<float> model(kSmall, 2);
  auto params = cast_buffers<float>(random_parameters(model.layout(), 12, 0.3));
  ResidentParameters<float> source(params);
  const Batch b = random_batch(2, 10, kSmall.vocab_size, 13);
  model.forward(b.ids.data(), b.labels.data(), b.B, b.Tlen, source);
  const std::vector<float> with_labels(model.logits(),
                                       model.logits() + b.B * b.Tlen * kSmall.vocab_size);
  const LossSum loss = model.forward(b.ids.data(), nullptr, b.B, b.Tlen, source);
  BOOST_TEST(loss.tokens == 0);
  BOOST_TEST(loss.sum == 0.0);
  BOOST_TEST(std::equal(with_labels.begin(), with_labels.end(), model.logits()));
}

BOOST_AUTO_TEST_CASE(float_model_agrees_with_double_model) {
  Gpt2<double> model_d(kSmall, 4);
  Gpt2<float> model_f(kSmall, 4);
  auto params_d = random_parameters(model_d.layout(), 3, 0.3);
  auto params_f = cast_buffers<float>(params_d);
  ResidentParameters<double> source_d(params_d);
  ResidentParameters<float> source_f(params_f);
  const Batch b = random_batch(3, 13, kSmall.vocab_size, 4);

  const LossSum loss_d = model_d.forward(b.ids.data(), b.labels.data(), b.B, b.Tlen, source_d);
  const LossSum loss_f = model_f.forward(b.ids.data(), b.labels.data(), b.B, b.Tlen, source_f);
  BOOST_TEST(loss_f.tokens == loss_d.tokens);
  BOOST_TEST(std::abs(loss_f.sum - loss_d.sum) < 1e-5 * std::abs(loss_d.sum));

  ResidentGradients<double> grads_d(model_d.layout());
  ResidentGradients<float> grads_f(model_f.layout());
  model_d.backward(0.5, source_d, grads_d);
  model_f.backward(0.5f, source_f, grads_f);
  const Gpt2Layout& layout = model_d.layout();
  for (size_t u = 0; u < layout.units.size(); ++u) {
    for (const auto& t : layout.units[u].tensors) {
      const auto begin = static_cast<size_t>(t.offset), end = begin + t.numel;
      std::vector<double> gd(grads_d.buffers[u].begin() + begin, grads_d.buffers[u].begin() + end);
      std::vector<float> gf(grads_f.buffers[u].begin() + begin, grads_f.buffers[u].begin() + end);
      BOOST_TEST(max_relative_error(as_double(gf), gd) < 1e-5, t.name);
    }
  }
}

BOOST_AUTO_TEST_CASE(units_are_acquired_released_and_reported_in_documented_order) {
  Gpt2<float> model(kSmall, 4);
  const Gpt2Layout& layout = model.layout();
  auto params = cast_buffers<float>(random_parameters(layout, 5, 0.3));
  const Batch b = random_batch(2, 16, kSmall.vocab_size, 6);

  // Reference: resident parameters and gradients.
  ResidentParameters<float> resident(params);
  ResidentGradients<float> resident_grads(layout);
  const LossSum ref_loss = model.forward(b.ids.data(), b.labels.data(), b.B, b.Tlen, resident);
  model.backward(1.0f, resident, resident_grads);

  RecordingUnits<float> units(params, layout);
  const LossSum loss = model.forward(b.ids.data(), b.labels.data(), b.B, b.Tlen, units);
  const std::vector<std::string> forward_events = {
      "acquire 0 next 1",  "release 0", "acquire 1 next 2", "release 1",
      "acquire 2 next 3",  "release 2", "acquire 3 next 0", "release 3",
      "acquire 0 next -1", "release 0"};
  BOOST_TEST(units.events == forward_events, boost::test_tools::per_element());

  units.events.clear();
  units.start_backward();
  model.backward(1.0f, units, units);
  const std::vector<std::string> backward_events = {
      "acquire 0 next 3", "gradients 0", "release 0", "acquire 3 next 2",
      "gradients 3",      "release 3",   "ready 3",   "acquire 2 next 1",
      "gradients 2",      "release 2",   "ready 2",   "acquire 1 next -1",
      "gradients 1",      "release 1",   "ready 1",   "gradients 0",
      "ready 0"};
  BOOST_TEST(units.events == backward_events, boost::test_tools::per_element());

  // Nothing was read after its release nor written after gradients_ready (both poison).
  BOOST_TEST(loss.sum == ref_loss.sum);
  for (size_t u = 0; u < layout.units.size(); ++u) {
    BOOST_TEST(units.ready[u] == resident_grads.buffers[u], "unit " << u);
  }
}

BOOST_AUTO_TEST_CASE(backward_adds_into_the_sink_so_micro_batches_accumulate) {
  Gpt2<double> model(kSmall, 4);
  const Gpt2Layout& layout = model.layout();
  auto params = random_parameters(layout, 7, 0.3);
  ResidentParameters<double> source(params);
  const Batch a = random_batch(2, 9, kSmall.vocab_size, 8);
  const Batch b = random_batch(4, 16, kSmall.vocab_size, 9);

  ResidentGradients<double> ga(layout), gb(layout), gab(layout), twice(layout);
  model.forward(a.ids.data(), a.labels.data(), a.B, a.Tlen, source);
  model.backward(1.0, source, ga);
  model.backward(1.0, source, twice);
  model.backward(1.0, source, twice);
  model.backward(1.0, source, gab);
  model.forward(b.ids.data(), b.labels.data(), b.B, b.Tlen, source);
  model.backward(1.0, source, gb);
  model.backward(1.0, source, gab);

  for (size_t u = 0; u < layout.units.size(); ++u) {
    std::vector<double> sum(ga.buffers[u].size()), doubled(ga.buffers[u].size());
    for (size_t i = 0; i < sum.size(); ++i) {
      sum[i] = ga.buffers[u][i] + gb.buffers[u][i];
      doubled[i] = 2.0 * ga.buffers[u][i];
    }
    BOOST_TEST(max_relative_error(gab.buffers[u], sum) < 1e-13, "unit " << u);
    BOOST_TEST(max_relative_error(twice.buffers[u], doubled) < 1e-13, "unit " << u);
  }
}

BOOST_AUTO_TEST_CASE(rejects_tokens_outside_the_vocabulary_and_oversized_batches) {
  Gpt2<float> model(kSmall, 2);
  auto params = cast_buffers<float>(random_parameters(model.layout(), 10, 0.3));
  ResidentParameters<float> source(params);
  ResidentGradients<float> grads(model.layout());
  BOOST_CHECK_THROW(model.backward(1.0f, source, grads), std::logic_error);
  Batch b = random_batch(2, 8, kSmall.vocab_size, 11);
  auto names = [](const std::string& expected) {
    return [expected](const InputError& e) {
      BOOST_TEST_INFO(e.what());
      return std::string(e.what()).find(expected) != std::string::npos;
    };
  };
  b.ids[13] = static_cast<int32_t>(kSmall.vocab_size);
  BOOST_CHECK_EXCEPTION(model.forward(b.ids.data(), b.labels.data(), 2, 8, source), InputError,
                        names("input_ids[1][5] = 50"));
  b.ids[13] = 0;
  b.labels[3] = -1;
  BOOST_CHECK_EXCEPTION(model.forward(b.ids.data(), b.labels.data(), 2, 8, source), InputError,
                        names("labels[0][3] = -1"));
  b.labels[3] = kIgnoreIndex;
  BOOST_CHECK_THROW(model.forward(b.ids.data(), b.labels.data(), 3, 8, source),
                    std::invalid_argument);
  BOOST_CHECK_THROW(model.forward(b.ids.data(), b.labels.data(), 1, 17, source),
                    std::invalid_argument);
  BOOST_CHECK_THROW(Gpt2<float>(Gpt2Shape{2, 3, 32, 16, 50}, 1), InputError);
  BOOST_CHECK_NO_THROW(model.forward(b.ids.data(), b.labels.data(), 2, 8, source));
}

BOOST_AUTO_TEST_CASE(init_follows_gpt2_and_depends_only_on_seed_and_unit) {
  const Gpt2Shape shape{4, 4, 64, 32, 500};
  const Gpt2Layout layout = make_gpt2_layout(shape);
  auto init = [&](int unit, uint64_t seed) {
    std::vector<double> buf(layout.units[unit].numel, -7.0);
    Gpt2<double>::init_unit(layout, unit, buf.data(), seed);
    return buf;
  };
  auto stddev = [](const std::vector<double>& v, const TensorSpec& t) {
    double s = 0.0;
    for (int64_t i = 0; i < t.numel; ++i) s += v[t.offset + i] * v[t.offset + i];
    return std::sqrt(s / static_cast<double>(t.numel));
  };
  const auto emb = init(0, 42);
  BOOST_TEST(std::abs(stddev(emb, layout.find("wte.weight")) / 0.02 - 1.0) < 0.02);
  BOOST_TEST(std::abs(stddev(emb, layout.find("wpe.weight")) / 0.02 - 1.0) < 0.05);
  const auto blk = init(2, 42);
  BOOST_TEST(std::abs(stddev(blk, layout.find("h.1.attn.c_attn.weight")) / 0.02 - 1.0) < 0.05);
  BOOST_TEST(std::abs(stddev(blk, layout.find("h.1.mlp.c_fc.weight")) / 0.02 - 1.0) < 0.05);
  const double proj = 0.02 / std::sqrt(8.0);
  BOOST_TEST(std::abs(stddev(blk, layout.find("h.1.attn.c_proj.weight")) / proj - 1.0) < 0.05);
  BOOST_TEST(std::abs(stddev(blk, layout.find("h.1.mlp.c_proj.weight")) / proj - 1.0) < 0.05);
  for (const auto& t : layout.units[2].tensors) {
    const bool ln_weight = t.name.ends_with("ln_1.weight") || t.name.ends_with("ln_2.weight");
    if (!ln_weight && !t.name.ends_with(".bias")) continue;
    for (int64_t i = 0; i < t.numel; ++i) {
      BOOST_TEST(blk[t.offset + i] == (ln_weight ? 1.0 : 0.0), t.name);
    }
  }
  const auto lnf = init(5, 42);
  BOOST_TEST(lnf[layout.find("ln_f.weight").offset] == 1.0);
  BOOST_TEST(lnf[layout.find("ln_f.bias").offset] == 0.0);

  // Same (seed, unit), same values, whatever was initialised before; other seeds and units differ.
  init(1, 42);
  BOOST_TEST(init(2, 42) == blk);
  BOOST_TEST(init(2, 43) != blk);
  BOOST_TEST(init(3, 42) != blk);
  // float gets the double values rounded.
  std::vector<float> blk_f(blk.size());
  Gpt2<float>::init_unit(layout, 2, blk_f.data(), 42);
  BOOST_TEST(blk_f == std::vector<float>(blk.begin(), blk.end()));
}

BOOST_AUTO_TEST_SUITE_END()
