// Activation bytes of zerotune estimate against the buffers Gpt2Model allocates on the CPU
// backend (Gpt2Model::activation_bytes()), over batch sizes, row lengths and checkpointing.
#include "zerotune/train/memory_estimate.hpp"

#include <boost/test/unit_test.hpp>

#include "zerotune/model/gpt2_model.hpp"
#include "zerotune/ops/backend.hpp"

using namespace zerotune;

BOOST_AUTO_TEST_SUITE(memory_estimate)

BOOST_AUTO_TEST_CASE(activation_bytes_equal_the_model_buffers) {
  auto backend = ops::make_cpu_backend(DType::kFloat32);
  const model::Gpt2Shape shape{3, 2, 16, 24, 29};
  for (int64_t batch : {1, 3}) {
    for (int64_t tokens : {8, 24}) {
      for (bool checkpointing : {false, true}) {
        for (bool keep_logits : {false, true}) {
          BOOST_TEST_CONTEXT("B=" << batch << " T=" << tokens << " ckpt=" << checkpointing
                                  << " keep_logits=" << keep_logits) {
            model::Gpt2Options options;
            options.max_tokens = tokens;
            options.activation_checkpointing = checkpointing;
            options.keep_logits = keep_logits;
            const model::Gpt2Model gpt2(shape, batch, *backend, options);
            BOOST_TEST(gpt2.activation_bytes() ==
                       train::estimate_activation_bytes(shape, batch, tokens, checkpointing,
                                                        train::ActivationSizing::cpu_fp32(),
                                                        keep_logits));
          }
        }
      }
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
