#include "zerotune/train/run_figures.hpp"

#include <boost/test/unit_test.hpp>

#include "test_support.hpp"

using namespace zerotune::train;
using zerotune::data::StepBatch;
using zerotune::data::TokenExamples;

BOOST_AUTO_TEST_SUITE(run_figures)

BOOST_AUTO_TEST_CASE(real_tokens_count_attention_mask_ones) {
  StepBatch batch;
  TokenExamples a, b;
  a.attention_mask = {1, 1, 1, 0, 1, 0, 0, 0};  // rows of 3 and 1 real tokens
  b.attention_mask = {0, 0, 0, 0, 1, 1, 1, 1};  // a filler row, then a full row
  batch.micro_batches = {a, b};
  BOOST_TEST(real_tokens(batch) == 3 + 1 + 0 + 4);
}

BOOST_AUTO_TEST_CASE(time_per_epoch_is_the_mean_of_complete_epochs) {
  bool estimated = true;
  BOOST_TEST(*time_per_epoch_s({80.0, 82.0}, 500.0, 999, 100, &estimated) == 81.0);
  BOOST_TEST(!estimated);
  // No complete epoch: 30 s for 25 of 100 steps -> 120 s an epoch, flagged.
  BOOST_TEST(*time_per_epoch_s({}, 30.0, 25, 100, &estimated) == 120.0);
  BOOST_TEST(estimated);
  BOOST_TEST(!time_per_epoch_s({}, 0.0, 0, 100));
}

BOOST_AUTO_TEST_CASE(durations_print_and_parse_as_h_mm_ss) {
  BOOST_TEST(format_duration(0) == "0:00:00");
  BOOST_TEST(format_duration(59.9) == "0:00:59");
  BOOST_TEST(format_duration(3723) == "1:02:03");
  BOOST_TEST(format_duration(100 * 3600 + 5) == "100:00:05");
  BOOST_TEST(format_duration(-4) == "0:00:00");
  BOOST_TEST(*parse_duration("1:02:03") == 3723.0);
  BOOST_TEST(*parse_duration("2:05") == 125.0);
  BOOST_TEST(*parse_duration("7.5") == 7.5);
  BOOST_TEST(!parse_duration("1::2"));
  BOOST_TEST(!parse_duration("abc"));
  BOOST_TEST(!parse_duration("1:2:3:4"));
}

// Two starts: the first ran steps 1..3 (epoch 1 ended at step 2) and died after step 3; the
// second resumed from an older checkpoint, redid step 3 and went on to step 4. Resuming at
// step 3 again takes step 3's last record and each step's loss once.
BOOST_AUTO_TEST_CASE(totals_at_step_carry_the_earlier_starts) {
  zerotune::testing::ScratchDir dir("zt-figures");
  zerotune::testing::write_text_file(
      dir / "metrics.jsonl",
      "{\"type\":\"config\",\"world_size\":2}\n"
      "{\"type\":\"step\",\"step\":1,\"epoch\":1,\"loss\":4.0,\"train_time_s\":1.0,"
      "\"train_steps\":1,\"train_samples\":8,\"train_tokens\":100}\n"
      "{\"type\":\"step\",\"step\":2,\"epoch\":1,\"loss\":3.0,\"train_time_s\":2.0,"
      "\"train_steps\":2,\"train_samples\":16,\"train_tokens\":200}\n"
      "{\"type\":\"epoch\",\"epoch\":1,\"step\":2,\"epoch_time_s\":2.0,\"train_time_s\":2.0}\n"
      "{\"type\":\"step\",\"step\":3,\"epoch\":2,\"loss\":2.5,\"train_time_s\":3.5,"
      "\"train_steps\":3,\"train_samples\":24,\"train_tokens\":300}\n"
      "{\"type\":\"config\",\"world_size\":4}\n"
      "{\"type\":\"step\",\"step\":3,\"epoch\":2,\"loss\":2.0,\"train_time_s\":3.0,"
      "\"train_steps\":3,\"train_samples\":24,\"train_tokens\":300}\n"
      "{\"type\":\"step\",\"step\":4,\"epoch\":2,\"loss\":1.0,\"train_time_s\":4.0,"
      "\"train_steps\":4,\"train_samples\":32,\"train_tokens\":400}\n"
      "{\"type\":\"step\",\"step\":5,\"epo");  // cut short by a kill
  const auto t = totals_at_step(dir / "metrics.jsonl", 3, 1);
  BOOST_REQUIRE(t.has_value());
  BOOST_TEST(t->step == 3);
  BOOST_TEST(t->steps == 3);
  BOOST_TEST(t->train_time_s == 3.0);  // the last record of step 3
  BOOST_TEST(t->train_samples == 24);
  BOOST_TEST(t->train_tokens == 300);
  BOOST_TEST(t->loss_sum == 4.0 + 3.0 + 2.0);
  BOOST_TEST(t->final_loss == 2.0);
  BOOST_TEST(t->epoch_time_s == std::vector<double>{2.0}, boost::test_tools::per_element());
  BOOST_TEST(t->epoch_start_s == 2.0);
  // Resumed inside epoch 1 (0-based epoch 0): no complete epoch yet.
  const auto early = totals_at_step(dir / "metrics.jsonl", 1, 0);
  BOOST_REQUIRE(early.has_value());
  BOOST_TEST(early->epoch_time_s.empty());
  BOOST_TEST(early->epoch_start_s == 0.0);
  // No record of the step, or no file: nothing to carry.
  BOOST_TEST(!totals_at_step(dir / "metrics.jsonl", 9, 1));
  BOOST_TEST(!totals_at_step(dir / "absent.jsonl", 3, 1));
}

BOOST_AUTO_TEST_CASE(clock_adds_steps_to_the_carried_totals) {
  RunTotals carried;
  carried.step = 10;
  carried.steps = 10;
  carried.train_time_s = 100.0;
  carried.train_samples = 80;
  carried.epoch_start_s = 90.0;
  RunClock clock(carried, 20);
  clock.exclude(1e6);  // an evaluation longer than the training so far: time never grows
  clock.step_done(11, 8, 64, 1.5);
  BOOST_TEST(clock.totals().steps == 11);
  BOOST_TEST(clock.totals().train_samples == 88);
  BOOST_TEST(clock.totals().train_tokens == 64);
  BOOST_TEST(clock.totals().final_loss == 1.5);
  BOOST_TEST(clock.train_time_s() < 100.0);
  BOOST_TEST(clock.eta_s() == 0.0);  // nothing but excluded time in this start
  RunClock fresh(RunTotals{}, 4);
  BOOST_TEST(fresh.eta_s() == 0.0);
  fresh.step_done(1, 8, 64, 2.0);
  BOOST_TEST(fresh.eta_s() >= 0.0);
  const double first = fresh.epoch_done();
  BOOST_TEST(first >= 0.0);
  BOOST_TEST(fresh.totals().epoch_time_s.size() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()
