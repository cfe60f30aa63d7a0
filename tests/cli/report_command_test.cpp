#include "zerotune/cli/report_command.hpp"

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>
#include <sstream>

#include "input_error.hpp"
#include "test_support.hpp"
#include "zerotune/cli/run_results.hpp"

using namespace zerotune::cli;
using zerotune::testing::fixture_dir;
using zerotune::testing::input_error;

namespace {

std::filesystem::path report_fixture(const std::string& name) {
  return fixture_dir() / "report" / name;
}

std::string trim(const std::string& s) {
  const size_t begin = s.find_first_not_of(' ');
  if (begin == std::string::npos) return "";
  return s.substr(begin, s.find_last_not_of(' ') - begin + 1);
}

// The cells of each table row (header first, the |---| line left out).
std::vector<std::vector<std::string>> table_cells(const std::string& markdown) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(markdown);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.starts_with("|") || line.starts_with("| --") || line.starts_with("| :-")) continue;
    std::vector<std::string> cells;
    size_t start = 1;
    for (size_t bar = line.find('|', start); bar != std::string::npos;
         bar = line.find('|', start)) {
      cells.push_back(trim(line.substr(start, bar - start)));
      start = bar + 1;
    }
    rows.push_back(cells);
  }
  return rows;
}

using Row = std::vector<std::string>;

}  // namespace

BOOST_AUTO_TEST_SUITE(report_command)

// Expected values worked out by hand from the fixtures in tests/data/report/.
BOOST_AUTO_TEST_CASE(reads_metrics_jsonl_of_a_run_directory) {
  const RunResults run = read_run_results(report_fixture("zero3-4gpu"));
  BOOST_TEST(run.name == "zero3-4gpu");
  BOOST_REQUIRE(run.segments.size() == 1u);
  BOOST_TEST(run.last_segment().strategy == "zero3");
  BOOST_TEST(run.last_segment().zero_stage.value_or(-1) == 3);
  BOOST_TEST(!run.last_segment().offload.value_or(true));
  BOOST_TEST(run.last_segment().precision == "bf16");
  BOOST_TEST(run.last_segment().world_size.value_or(-1) == 4);
  BOOST_TEST(run.final_loss.value_or(-1) == 2.66);
  BOOST_TEST(run.has_summary);
  BOOST_TEST(*run.time_per_epoch_s() == 61.0);  // mean of 60.0 and 62.0
  BOOST_TEST(*run.peak_mem_gib() == 6.25);      // the summary's, above the steps' 6.21
  BOOST_TEST(*run.train_samples_per_s == 16.4);
  // Epoch 1 had two evals (steps 60 and 125): the last one counts.
  BOOST_REQUIRE(run.eval_loss_by_epoch.size() == 2u);
  BOOST_TEST(run.eval_loss_by_epoch.at(1.0) == 2.82);
  BOOST_TEST(run.eval_loss_by_epoch.at(2.0) == 2.70);
}

BOOST_AUTO_TEST_CASE(reads_key_value_lines_of_an_out_file) {
  const RunResults run = read_run_results(report_fixture("zero2-offload.out"));
  BOOST_TEST(run.name == "zero2-offload");
  BOOST_TEST(run.last_segment().strategy == "zero2_offload");
  BOOST_TEST(run.last_segment().zero_stage.value_or(-1) == 2);
  BOOST_TEST(run.last_segment().offload.value_or(false));
  BOOST_TEST(run.last_segment().precision == "fp16");
  BOOST_TEST(run.last_segment().world_size.value_or(-1) == 2);
  // Logger prefixes, warnings, the model and checkpoint lines are skipped.
  BOOST_TEST(run.final_loss.value_or(-1) == 2.75);
  // No epoch times and no epochs in the summary: 250 s over the 2 epochs seen.
  BOOST_TEST(*run.time_per_epoch_s() == 125.0);
  BOOST_TEST(*run.peak_mem_gib() == 4.40);
  BOOST_TEST(run.eval_loss_by_epoch.at(1.0) == 2.88);
  BOOST_TEST(run.eval_loss_by_epoch.at(2.0) == 2.79);
}

BOOST_AUTO_TEST_CASE(run_without_summary_reports_what_its_steps_give) {
  const RunResults run = read_run_results(report_fixture("zero1-stopped.out"));
  BOOST_TEST(!run.has_summary);
  // From strategy=zero1; the line gives no zero_stage.
  BOOST_TEST(run.last_segment().zero_stage.value_or(-1) == 1);
  BOOST_TEST(run.final_loss.value_or(-1) == 3.7);
  BOOST_TEST(*run.peak_mem_gib() == 2.75);  // highest mem_peak_gib of the steps
  BOOST_TEST(!run.time_per_epoch_s());
  BOOST_TEST(!run.train_samples_per_s);
  // samples/s from the logged steps only: mean of 900, 905 and 903, flagged as an estimate.
  bool estimated = false;
  BOOST_TEST(*run.samples_per_s(&estimated) == (900.0 + 905.0 + 903.0) / 3,
             boost::test_tools::tolerance(1e-12));
  BOOST_TEST(estimated);
}

// The strategy table's cells of each run (header first).
std::vector<Row> strategy_rows(const std::vector<RunResults>& runs) {
  const std::string md = render_report(runs);
  return table_cells(md.substr(0, md.find("## Workshop table")));
}

// A run started with ZeRO-Infinity, resumed with a partial CPU offload: the strategy names
// the tier, the parameters' home and the offloaded share.
BOOST_AUTO_TEST_CASE(strategy_names_the_offload_tiers) {
  const auto rows =
      strategy_rows({read_run_results(report_fixture("infinity-partial/metrics.jsonl"))});
  BOOST_REQUIRE(rows.size() == 2u);
  BOOST_TEST(rows[1][1] == "ZeRO-3 + offload nvme, params nvme -> ZeRO-2 + offload cpu 30%");
}

BOOST_AUTO_TEST_CASE(table_compares_runs_against_data_parallel) {
  const std::vector<RunResults> runs = {
      read_run_results(report_fixture("dp-4gpu")),
      read_run_results(report_fixture("zero3-4gpu/metrics.jsonl")),
      read_run_results(report_fixture("zero2-offload.out")),
      read_run_results(report_fixture("zero1-stopped.out"))};
  const auto rows = strategy_rows(runs);
  BOOST_REQUIRE(rows.size() == 5u);
  BOOST_TEST(rows[0] == (Row{"run", "strategy", "ranks", "model size", "precision",
                             "micro/global batch", "time/epoch (s)", "peak memory (GiB)",
                             "peak alloc (GiB)", "peak reserved (GiB)", "final loss",
                             "final eval loss", "samples/s", "tokens/s", "speed vs DP"}),
             boost::test_tools::per_element());
  BOOST_TEST(rows[1] == (Row{"dp-4gpu", "DP", "4", "-", "fp32", "2/8", "51.0", "9.60", "-", "-",
                             "2.6500", "2.6900", "19.8", "-", "1.00x"}),
             boost::test_tools::per_element());
  // 51.0 / 61.0 = 0.836
  BOOST_TEST(rows[2] == (Row{"zero3-4gpu", "ZeRO-3", "4", "-", "bf16", "2/8", "61.0", "6.25", "-",
                             "-", "2.6600", "2.7000", "16.4", "-", "0.84x"}),
             boost::test_tools::per_element());
  // 51.0 / 125.0 = 0.408; an old summary without epoch times: 250 s over its 2 epochs, an
  // estimate (~) since the epochs' own times are unknown
  BOOST_TEST(rows[3] == (Row{"zero2-offload", "ZeRO-2 + offload", "2", "-", "fp16", "-", "~125.0",
                             "4.40", "-", "-", "2.7500", "2.7900", "8.0", "-", "0.41x"}),
             boost::test_tools::per_element());
  // Samples/s from its three step lines (mean of 900, 905, 903), marked as an estimate.
  BOOST_TEST(rows[4] == (Row{"zero1-stopped (no summary)", "ZeRO-1", "8", "-", "bf16", "-", "-",
                             "2.75", "-", "-", "3.7000", "-", "~902.7", "-", "-"}),
             boost::test_tools::per_element());
}

// Runs that differ in model, data or global batch are not compared; the notes say why.
BOOST_AUTO_TEST_CASE(speed_vs_dp_only_between_comparable_runs) {
  auto run = [](std::string name, int stage, std::string file, double epoch_s) {
    RunResults r;
    r.name = std::move(name);
    RunSegment seg;
    seg.zero_stage = stage;
    seg.global_batch_size = 32;
    r.segments.push_back(seg);
    r.parameters = 124439808;
    r.train_file = std::move(file);
    r.epoch_time_by_epoch[1] = epoch_s;
    return r;
  };
  const std::vector<RunResults> runs = {
      run("dp-wiki", 0, "wiki.h5", 100.0), run("z3-squad", 3, "squad.h5", 50.0),
      run("dp-squad", 0, "squad.h5", 40.0), run("z2-wiki", 2, "wiki.h5", 80.0)};
  const auto rows = strategy_rows(runs);
  BOOST_REQUIRE(rows.size() == 5u);
  BOOST_TEST(rows[1].back() == "1.00x");
  BOOST_TEST(rows[2].back() == "0.80x");  // 40 / 50: against dp-squad, not dp-wiki
  BOOST_TEST(rows[3].back() == "1.00x");
  BOOST_TEST(rows[4].back() == "1.25x");  // 100 / 80
  const std::string md = render_report({runs[0], runs[1]});
  BOOST_TEST(md.find("speed vs DP of z3-squad: against itself (not compared with dp-wiki: data "
                     "differ (wiki.h5 vs squad.h5))") != std::string::npos);
}

// A run preempted and resumed with another stage and world size: both starts are listed,
// epoch times come from both, and the time per epoch leaves the partial last epoch out.
BOOST_AUTO_TEST_CASE(resumed_run_reports_every_start) {
  zerotune::testing::ScratchDir dir("zt-report");
  zerotune::testing::write_text_file(
      dir / "job.out",
      "run strategy=zero1 zero_stage=1 offload=false precision=bf16 world_size=2 params=1000 "
      "micro_batch_size=4 global_batch_size=16 steps_per_epoch=10 train_file=a.h5\n"
      "step=10/25 epoch=1 elapsed=0:01:40 eta=0:02:30 loss=3.0000 samples_per_s=2.0\n"
      "epoch_end epoch=1 step=10 epoch_time_s=100.00 elapsed=0:01:40\n"
      "eval epoch=1 eval_loss=2.9000 eval_ppl=18.17 eval_samples_per_second=50.0\n"
      "step=12/25 epoch=2 elapsed=0:02:00 eta=0:02:10 loss=2.8000 samples_per_s=2.0\n"
      "checkpoint saved at step 12 (reason: preempted)\n"
      "run strategy=zero3 zero_stage=3 offload=false precision=bf16 world_size=4 params=1000 "
      "micro_batch_size=4 global_batch_size=16 steps_per_epoch=10 train_file=a.h5\n"
      "resumed from step 12\n"
      "step=20/25 epoch=2 elapsed=0:03:00 eta=0:00:30 loss=2.5000 samples_per_s=3.0\n"
      "epoch_end epoch=2 step=20 epoch_time_s=80.00 elapsed=0:03:00\n"
      "eval epoch=2 eval_loss=2.6000 eval_ppl=13.46 eval_samples_per_second=70.0\n"
      "step=25/25 epoch=3 elapsed=0:03:45 eta=0:00:00 loss=2.4000 samples_per_s=3.0\n"
      "eval epoch=3 eval_loss=2.5500 eval_ppl=12.81 eval_samples_per_second=70.0\n"
      "train_summary train_runtime=225.0 train_samples_per_second=1.8 "
      "train_tokens_per_second=900 train_loss=2.9 final_loss=2.4000 global_step=25 "
      "steps_per_epoch=10 epochs=3 time_per_epoch_s=90.00 epoch_time_s=100.00,80.00 "
      "peak_mem_gib=1.5\n");
  const RunResults run = read_run_results(dir / "job.out");
  BOOST_REQUIRE(run.segments.size() == 2u);
  BOOST_TEST(*run.time_per_epoch_s() == 90.0);  // (100 + 80) / 2; epoch 3's 5 steps left out
  BOOST_TEST(run.eval_loss_by_step.at(25) == 2.55);
  BOOST_TEST(run.loss_by_step.size() == 4u);
  const auto rows = strategy_rows({run});
  BOOST_REQUIRE(rows.size() == 2u);
  BOOST_TEST(rows[1] == (Row{"job", "ZeRO-1 -> ZeRO-3", "2 -> 4", "1.0K", "bf16", "4/16", "90.0",
                             "1.50", "-", "-", "2.4000", "2.5500", "1.8", "900", "1.00x"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(workshop_table_has_an_eval_loss_per_epoch) {
  const std::string md = render_report({read_run_results(report_fixture("dp-4gpu")),
                                        read_run_results(report_fixture("zero1-stopped.out"))});
  const auto rows = table_cells(md.substr(md.find("## Workshop table")));
  BOOST_REQUIRE(rows.size() == 3u);
  BOOST_TEST(rows[0] == (Row{"run", "Train Loss (final)", "Eval Loss (epoch 1)",
                             "Eval Loss (epoch 2)", "Training Speed (samples/s)",
                             "Evaluation Speed (samples/s)", "Steps per Epoch"}),
             boost::test_tools::per_element());
  // Evaluation speed: mean of 1300.0 and 1305.2.
  BOOST_TEST(rows[1] == (Row{"dp-4gpu", "2.6500", "2.8100", "2.6900", "19.8", "1302.6", "125"}),
             boost::test_tools::per_element());
  BOOST_TEST(rows[2] == (Row{"zero1-stopped", "3.7000", "-", "-", "~902.7", "-", "-"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(csv_and_json_hold_the_same_figures) {
  const std::vector<RunResults> runs = {read_run_results(report_fixture("dp-4gpu")),
                                        read_run_results(report_fixture("zero3-4gpu"))};
  const auto doc = nlohmann::json::parse(render_report(runs, ReportFormat::kJson));
  BOOST_REQUIRE(doc["strategy"].size() == 2u);
  BOOST_TEST(doc["strategy"][1]["run"] == "zero3-4gpu");
  BOOST_TEST(doc["strategy"][1]["time_per_epoch_s"].get<double>() == 61.0);
  BOOST_TEST(doc["strategy"][1]["speed_vs_dp"].get<double>() == 51.0 / 61.0,
             boost::test_tools::tolerance(1e-12));
  BOOST_TEST(doc["strategy"][1]["peak_alloc_gib"].is_null());
  BOOST_TEST(doc["workshop"][0]["eval_loss_epoch_2"].get<double>() == 2.69);
  BOOST_TEST(doc["notes"].size() > 0u);

  const std::string csv = render_report(runs, ReportFormat::kCsv);
  std::istringstream in(csv);
  std::string header, dp, zero3;
  std::getline(in, header);
  std::getline(in, dp);
  std::getline(in, zero3);
  BOOST_TEST(
      header.starts_with("run,strategy,ranks,parameters,precision,micro_global_batch,"
                         "time_per_epoch_s,"));
  BOOST_TEST(zero3.starts_with("zero3-4gpu,ZeRO-3,4,,bf16,2/8,61.0,6.25,,,2.66,2.7,16.4,,0.836"));
  BOOST_TEST(csv.find("\n\nrun,train_loss_final,eval_loss_epoch_1,") != std::string::npos);
  BOOST_TEST(input_error([] { parse_report_format("html"); }) ==
             "report: --format: expected markdown, csv or json, got \"html\"");
}

BOOST_AUTO_TEST_CASE(rejects_malformed_json_line_naming_file_and_line) {
  const auto file = report_fixture("bad-json") / "metrics.jsonl";
  const std::string message = input_error([&] { read_run_results(report_fixture("bad-json")); });
  BOOST_TEST(message == file.string() +
                            ":3:43: malformed JSON: syntax error while parsing value - unexpected "
                            "end of input; expected '[', '{', or a literal");
}

BOOST_AUTO_TEST_CASE(rejects_field_of_wrong_type) {
  const auto file = report_fixture("bad-field") / "metrics.jsonl";
  BOOST_TEST(input_error([&] { read_run_results(report_fixture("bad-field")); }) ==
             file.string() + ":2: step.loss: expected a number, got \"abc\"");
  zerotune::testing::ScratchDir dir("zt-report");
  zerotune::testing::write_text_file(dir / "x.out", "run world_size=4\nstep=1 loss=high\n");
  BOOST_TEST(input_error([&] { read_run_results(dir / "x.out"); }) ==
             (dir / "x.out").string() + ":2: step.loss: expected a number, got \"high\"");
  zerotune::testing::write_text_file(dir / "y.jsonl", "[1, 2]\n");
  BOOST_TEST(input_error([&] { read_run_results(dir / "y.jsonl"); }) ==
             (dir / "y.jsonl").string() + ":1: expected a JSON object");
  zerotune::testing::write_text_file(dir / "z.jsonl", "{\"step\": 1}\n");
  BOOST_TEST(input_error([&] { read_run_results(dir / "z.jsonl"); }) ==
             (dir / "z.jsonl").string() +
                 ":1: expected a \"type\" field (config, step, eval, summary, ...)");
}

BOOST_AUTO_TEST_CASE(rejects_missing_paths_and_files_without_runs) {
  zerotune::testing::ScratchDir dir("zt-report");
  BOOST_TEST(input_error([&] { read_run_results(dir / "gone.out"); }) ==
             (dir / "gone.out").string() + ": no such file or directory");
  BOOST_TEST(input_error([&] { read_run_results(dir.path()); }) ==
             dir.path().string() +
                 ": no metrics.jsonl (expected a run directory of zerotune train, or its .out "
                 "file)");
  zerotune::testing::write_text_file(dir / "other.out", "hello\nsrun: error: a=b\n");
  BOOST_TEST(input_error([&] { read_run_results(dir / "other.out"); }) ==
             (dir / "other.out").string() +
                 ": no run records found (expected metrics.jsonl records or the trainer's "
                 "key=value lines: run, step=..., eval, train_summary)");
}

BOOST_AUTO_TEST_CASE(command_rejects_no_runs_and_unknown_options) {
  BOOST_TEST(input_error([] {
               run_report_command({});
             }).starts_with("report: expected at least one run directory or .out file\nusage: "));
  BOOST_TEST(input_error([] {
               run_report_command({"--csv"});
             }).starts_with("report: unknown option --csv\n"));
  BOOST_TEST(run_report_command({"--help"}) == zerotune::kExitOk);
}

BOOST_AUTO_TEST_CASE(command_prints_the_table) {
  std::ostringstream captured;
  auto* old = std::cout.rdbuf(captured.rdbuf());
  const int rc = run_report_command({"--format", "markdown", report_fixture("dp-4gpu").string(),
                                     report_fixture("zero2-offload.out").string()});
  std::cout.rdbuf(old);
  BOOST_TEST(rc == zerotune::kExitOk);
  BOOST_TEST(captured.str() ==
             render_report({read_run_results(report_fixture("dp-4gpu")),
                            read_run_results(report_fixture("zero2-offload.out"))}));
  BOOST_TEST(captured.str().find("| zero2-offload ") != std::string::npos);
}

// The forgetting check: the .out's retention lines and metrics.jsonl's retention records give
// the same table; a resumed .out segment without the before line takes it from the later
// lines. Figures by hand: retention = 100 * before ppl / after ppl.
BOOST_AUTO_TEST_CASE(retention_table_from_out_and_metrics_jsonl) {
  zerotune::testing::ScratchDir dir("zt-report");
  zerotune::testing::write_text_file(
      dir / "job.out",
      "run strategy=dp zero_stage=0 world_size=1 params=1000 train_file=squad.h5\n"
      "retention file=wiki step=0 epoch=0 eval_loss=3.0000 eval_ppl=20.09\n"
      "step=2/4 epoch=1 loss=2.5\n"
      "retention file=wiki step=2 epoch=1 eval_loss=3.2000 eval_ppl=24.53 "
      "before_eval_loss=3.0000 before_eval_ppl=20.09 retention_pct=81.9\n"
      "step=4/4 epoch=2 loss=2.0\n"
      "retention file=wiki step=4 epoch=2 eval_loss=3.5000 eval_ppl=33.12 "
      "before_eval_loss=3.0000 before_eval_ppl=20.09 retention_pct=60.7\n"
      "warning: retention of wiki is 60.7% (below 80%) after epoch 2\n");
  std::filesystem::create_directories(dir / "run");
  zerotune::testing::write_text_file(
      dir / "run" / "metrics.jsonl",
      "{\"type\":\"config\",\"strategy\":\"dp\",\"world_size\":1}\n"
      "{\"type\":\"step\",\"step\":2,\"loss\":2.5}\n"
      "{\"type\":\"retention\",\"step\":2,\"epoch\":1,\"file\":\"wiki\","
      "\"retention/wiki/eval_loss\":3.2,\"retention/wiki/eval_ppl\":24.53,"
      "\"retention/wiki/before_eval_loss\":3.0,\"retention/wiki/before_eval_ppl\":20.09,"
      "\"retention/wiki/retention_pct\":81.9}\n"
      "{\"type\":\"retention\",\"step\":4,\"epoch\":2,\"file\":\"wiki\","
      "\"retention/wiki/eval_loss\":3.5,\"retention/wiki/eval_ppl\":33.12,"
      "\"retention/wiki/before_eval_loss\":3.0,\"retention/wiki/before_eval_ppl\":20.09,"
      "\"retention/wiki/retention_pct\":60.7}\n");
  const RunResults out = read_run_results(dir / "job.out");
  const RunResults jsonl = read_run_results(dir / "run");
  for (const RunResults* run : {&out, &jsonl}) {
    BOOST_REQUIRE(run->retention.count("wiki") == 1u);
    const RetentionFigures& f = run->retention.at("wiki");
    BOOST_TEST(*f.before_eval_loss == 3.0);
    BOOST_TEST(f.eval_loss_by_epoch.at(2) == 3.5);
    BOOST_TEST(f.retention_pct_by_epoch.at(1) == 81.9);
    BOOST_TEST(f.retention_pct_by_epoch.at(2) == 60.7);
  }
  const std::string md = render_report({out, jsonl});
  const size_t at = md.find("## Retention");
  BOOST_REQUIRE(at != std::string::npos);
  const auto rows = table_cells(md.substr(at, md.find("\n- ", at) - at));
  BOOST_REQUIRE(rows.size() == 3u);
  BOOST_TEST(rows[0] == (Row{"run", "file", "Eval Loss (before)", "Eval Loss (final)",
                             "Retention % (epoch 1)", "Retention % (epoch 2)"}),
             boost::test_tools::per_element());
  BOOST_TEST(rows[1] == (Row{"job", "wiki", "3.0000", "3.5000", "81.9", "60.7"}),
             boost::test_tools::per_element());
  BOOST_TEST(rows[2] == (Row{"run", "wiki", "3.0000", "3.5000", "81.9", "60.7"}),
             boost::test_tools::per_element());
  // Runs without the check have no retention table.
  BOOST_TEST(render_report({read_run_results(report_fixture("dp-4gpu"))}).find("## Retention") ==
             std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
