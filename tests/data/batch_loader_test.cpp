#include "zerotune/data/batch_loader.hpp"

#include <boost/test/unit_test.hpp>
#include <map>
#include <random>
#include <set>

#include "test_support.hpp"
#include "zerotune/base/error.hpp"

using namespace zerotune;
using namespace zerotune::data;
namespace zt = zerotune::testing;

namespace {

constexpr int64_t kSeqLen = 3;

// A file whose row r holds the tokens r, r, r (labels the same), so rows are identifiable.
std::shared_ptr<const TokenFile> numbered_file(const zt::ScratchDir& dir, int64_t rows,
                                               int32_t bad_row = -1) {
  const std::string path = (dir / ("n" + std::to_string(rows) + ".h5")).string();
  TokenFileInfo info;
  info.seq_len = kSeqLen;
  info.vocab_size = 1000;
  info.eos_token_id = 0;
  info.pad_token_id = 0;
  info.tokenizer = info.source = info.source_sha256 = info.split = "test";
  TokenFileWriter writer(path, info);
  TokenExamples ex;
  ex.count = rows;
  ex.seq_len = kSeqLen;
  for (int32_t r = 0; r < rows; ++r) {
    for (int t = 0; t < kSeqLen; ++t) {
      ex.input_ids.push_back(r == bad_row ? 5000 : r);
      ex.labels.push_back(r);
      ex.attention_mask.push_back(1);
    }
  }
  writer.append(ex);
  writer.commit();
  return std::make_shared<const TokenFile>(path);
}

struct Row {
  int64_t id;
  bool filler;
  bool operator==(const Row&) const = default;
};

// The rows of one step on one rank, in rank order (micro-batch by micro-batch).
std::vector<Row> rows_of(const StepBatch& step) {
  std::vector<Row> rows;
  for (const TokenExamples& micro : step.micro_batches) {
    for (int64_t i = 0; i < micro.count; ++i) {
      bool filler = true;
      for (int64_t t = 0; t < kSeqLen; ++t) filler &= micro.labels[i * kSeqLen + t] == -100;
      rows.push_back(Row{micro.input_ids[i * kSeqLen], filler});
    }
  }
  return rows;
}

LoaderConfig config(int64_t micro, int64_t accum, int world, int rank, bool drop_last = true,
                    int prefetch = 2) {
  LoaderConfig c;
  c.micro_batch = micro;
  c.grad_accum = accum;
  c.world = world;
  c.rank = rank;
  c.seed = 1234;
  c.drop_last = drop_last;
  c.prefetch_steps = prefetch;
  return c;
}

// The global order the ranks consumed: global position -> row, from every rank's steps.
std::map<int64_t, Row> global_order(std::shared_ptr<const TokenFile> file, int64_t micro,
                                    int64_t accum, int world, bool drop_last,
                                    LoaderPosition start = {}, int64_t max_steps = 1 << 30) {
  std::map<int64_t, Row> order;
  for (int rank = 0; rank < world; ++rank) {
    BatchLoader loader(file, config(micro, accum, world, rank, drop_last));
    loader.seek(start);
    for (int64_t s = 0; s < max_steps; ++s) {
      const auto step = loader.next();
      if (!step) break;
      const std::vector<Row> rows = rows_of(*step);
      for (size_t k = 0; k < rows.size(); ++k) {
        const int64_t global = step->position.consumed_samples + rank + int64_t(k) * world;
        BOOST_REQUIRE(order.emplace(global, rows[k]).second);
      }
    }
  }
  return order;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(batch_loader)

BOOST_AUTO_TEST_CASE(mt19937_64_is_the_standard_engine) {
  std::mt19937_64 rng;
  rng.discard(9999);
  BOOST_TEST(rng() == 9981545732273789042ull);  // [rand.predef]
}

// Expected values from tests/python/test_sampler_reference.py, an independent implementation
// of MT19937-64 and the documented Fisher-Yates shuffle.
BOOST_AUTO_TEST_CASE(permutation_matches_independent_reference) {
  using V = std::vector<int64_t>;
  BOOST_TEST(epoch_permutation(10, 1234, 0, true) == (V{0, 3, 4, 7, 9, 8, 5, 6, 1, 2}),
             boost::test_tools::per_element());
  BOOST_TEST(epoch_permutation(10, 1234, 1, true) == (V{9, 8, 0, 4, 6, 5, 1, 2, 7, 3}),
             boost::test_tools::per_element());
  BOOST_TEST(epoch_permutation(16, 0, 0, true) ==
                 (V{7, 8, 9, 15, 10, 12, 1, 6, 0, 13, 11, 4, 5, 3, 2, 14}),
             boost::test_tools::per_element());
  BOOST_TEST(epoch_permutation(7, ~uint64_t{0}, 1, true) == (V{4, 0, 1, 2, 6, 5, 3}),
             boost::test_tools::per_element());
  BOOST_TEST(epoch_permutation(4, 99, 3, false) == (V{0, 1, 2, 3}),
             boost::test_tools::per_element());
  BOOST_TEST(epoch_permutation(0, 1, 0, true).empty());
}

BOOST_AUTO_TEST_CASE(ranks_are_disjoint_and_cover_the_epoch) {
  zt::ScratchDir dir("bl");
  const auto file = numbered_file(dir, 50);
  for (int world = 1; world <= 4; ++world) {
    for (bool drop_last : {true, false}) {
      BOOST_TEST_CONTEXT("world " << world << " drop_last " << drop_last) {
        const auto order = global_order(file, 2, 2, world, drop_last);
        const int64_t global_batch = 4 * world;
        const int64_t steps =
            drop_last ? 50 / global_batch : (50 + global_batch - 1) / global_batch;
        BOOST_TEST(static_cast<int64_t>(order.size()) == steps * global_batch);
        const auto perm = epoch_permutation(50, 1234, 0, true);
        std::set<int64_t> real;
        for (const auto& [global, row] : order) {
          BOOST_TEST(row.filler == (global >= 50));
          BOOST_TEST(row.id == perm[global % 50]);
          if (!row.filler) BOOST_TEST(real.insert(row.id).second);
        }
        BOOST_TEST(static_cast<int64_t>(real.size()) == (drop_last ? steps * global_batch : 50));
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(global_order_does_not_depend_on_world_size) {
  zt::ScratchDir dir("bl");
  const auto file = numbered_file(dir, 37);
  const auto single = global_order(file, 8, 1, 1, false);
  BOOST_TEST((global_order(file, 4, 1, 2, false) == single));
  BOOST_TEST((global_order(file, 1, 2, 4, false) == single));
  BOOST_TEST((global_order(file, 2, 2, 2, false) == single));
}

BOOST_AUTO_TEST_CASE(resume_at_any_step_continues_the_same_order) {
  zt::ScratchDir dir("bl");
  const auto file = numbered_file(dir, 30);
  for (int rank = 0; rank < 2; ++rank) {
    // Two uninterrupted epochs.
    std::vector<StepBatch> steps;
    BatchLoader loader(file, config(3, 2, 2, rank));
    for (int epoch = 0; epoch < 2; ++epoch) {
      while (auto step = loader.next()) steps.push_back(std::move(*step));
      BOOST_TEST(loader.position().epoch == epoch + 1);
    }
    BOOST_TEST(steps.size() == 4u);  // 30 / 12 = 2 steps per epoch
    BOOST_TEST(steps[2].position.epoch == 1);
    for (const StepBatch& expected : steps) {
      for (int prefetch : {0, 3}) {
        BatchLoader resumed(file, config(3, 2, 2, rank, true, prefetch));
        resumed.next();  // read ahead, then jump
        resumed.seek(expected.position);
        const auto got = resumed.next();
        BOOST_REQUIRE(got.has_value());
        BOOST_TEST(got->position.epoch == expected.position.epoch);
        BOOST_TEST(got->position.consumed_samples == expected.position.consumed_samples);
        const auto a = rows_of(*got), b = rows_of(expected);
        BOOST_TEST(a.size() == b.size());
        for (size_t k = 0; k < a.size(); ++k) BOOST_TEST(a[k].id == b[k].id);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(world_size_change_keeps_the_global_order) {
  zt::ScratchDir dir("bl");
  const auto file = numbered_file(dir, 40);
  const auto uninterrupted = global_order(file, 2, 1, 4, false);  // global batch 8
  // Two steps at world 4, then resume at consumed 16 on world 2 with micro 4.
  auto order = global_order(file, 2, 1, 4, false, {}, 2);
  const auto rest = global_order(file, 4, 1, 2, false, LoaderPosition{0, 16});
  order.insert(rest.begin(), rest.end());
  BOOST_TEST((order == uninterrupted));
  // Resuming on another global batch size also continues from the consumed count.
  const auto odd = global_order(file, 3, 1, 1, false, LoaderPosition{0, 16});
  for (const auto& [global, row] : odd) {
    if (global < 40) BOOST_TEST(row.id == uninterrupted.at(global).id);
  }
}

BOOST_AUTO_TEST_CASE(last_partial_batch_is_filled_with_no_loss_rows) {
  zt::ScratchDir dir("bl");
  const auto file = numbered_file(dir, 10);
  BatchLoader loader(file, config(2, 1, 2, 1, false));
  BOOST_TEST(loader.steps_per_epoch() == 3);
  std::vector<StepBatch> steps;
  while (auto step = loader.next()) steps.push_back(std::move(*step));
  BOOST_TEST(steps.size() == 3u);
  BOOST_TEST(steps[2].global_samples == 2);
  BOOST_TEST(steps[0].global_samples == 4);
  // Rank 1 of the last step holds global positions 9 (real) and 11 (filler).
  const auto rows = rows_of(steps[2]);
  const auto perm = epoch_permutation(10, 1234, 0, true);
  BOOST_TEST(!rows[0].filler);
  BOOST_TEST(rows[0].id == perm[9]);
  BOOST_TEST(rows[1].filler);
  BOOST_TEST(rows[1].id == perm[1]);
  // The filler keeps its tokens (same compute) but has no real token: its mask is all 0,
  // the real row's (the fixture's masks are all 1) is untouched.
  const TokenExamples& micro = steps[2].micro_batches[0];
  for (int64_t t = 0; t < kSeqLen; ++t) {
    BOOST_TEST(micro.attention_mask[t] == 1);
    BOOST_TEST(micro.attention_mask[kSeqLen + t] == 0);
  }
  BOOST_TEST(loader.position().epoch == 1);
  BOOST_TEST(loader.position().consumed_samples == 0);
}

BOOST_AUTO_TEST_CASE(epochs_reshuffle_and_drop_last_drops_the_tail) {
  zt::ScratchDir dir("bl");
  const auto file = numbered_file(dir, 10);
  BatchLoader loader(file, config(4, 1, 1, 0));
  BOOST_TEST(loader.steps_per_epoch() == 2);
  std::vector<int64_t> epoch0, epoch1;
  while (auto step = loader.next()) {
    for (const Row& row : rows_of(*step)) epoch0.push_back(row.id);
  }
  BOOST_TEST(loader.position().epoch == 1);
  while (auto step = loader.next()) {
    for (const Row& row : rows_of(*step)) epoch1.push_back(row.id);
  }
  BOOST_TEST(epoch0.size() == 8u);
  BOOST_TEST(epoch0 != epoch1);
  const auto perm1 = epoch_permutation(10, 1234, 1, true);
  BOOST_TEST(epoch1 == std::vector<int64_t>(perm1.begin(), perm1.begin() + 8),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(too_few_examples_for_one_batch_is_an_input_error) {
  zt::ScratchDir dir("bl");
  const auto file = numbered_file(dir, 5);
  BOOST_CHECK_THROW(BatchLoader(file, config(4, 1, 2, 0)), InputError);
  BatchLoader partial(file, config(4, 1, 2, 0, false));
  BOOST_TEST(partial.steps_per_epoch() == 1);
  BOOST_CHECK_THROW(BatchLoader(file, config(1, 1, 2, 2)), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(read_errors_surface_in_next) {
  zt::ScratchDir dir("bl");
  const auto file = numbered_file(dir, 8, 3);
  for (int prefetch : {0, 2}) {
    BatchLoader loader(file, config(8, 1, 1, 0, true, prefetch));
    BOOST_TEST_CONTEXT("prefetch " << prefetch) {
      BOOST_CHECK_THROW(loader.next(), InputError);
      BOOST_CHECK_THROW(loader.next(), InputError);
      BOOST_TEST(loader.position().consumed_samples == 0);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
