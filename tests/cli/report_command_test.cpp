#include "zerotune/cli/report_command.hpp"

#include <boost/test/unit_test.hpp>
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
  BOOST_TEST(run.strategy == "zero3");
  BOOST_TEST(run.zero_stage.value_or(-1) == 3);
  BOOST_TEST(!run.offload.value_or(true));
  BOOST_TEST(run.precision == "bf16");
  BOOST_TEST(run.world_size.value_or(-1) == 4);
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
  BOOST_TEST(run.strategy == "zero2_offload");
  BOOST_TEST(run.zero_stage.value_or(-1) == 2);
  BOOST_TEST(run.offload.value_or(false));
  BOOST_TEST(run.precision == "fp16");
  BOOST_TEST(run.world_size.value_or(-1) == 2);
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
  BOOST_TEST(run.zero_stage.value_or(-1) ==
             1);  // from strategy=zero1; the line gives no zero_stage
  BOOST_TEST(run.final_loss.value_or(-1) == 3.7);
  BOOST_TEST(*run.peak_mem_gib() == 2.75);  // highest mem_peak_gib of the steps
  BOOST_TEST(!run.time_per_epoch_s());
  BOOST_TEST(!run.train_samples_per_s);
}

BOOST_AUTO_TEST_CASE(table_compares_runs_against_data_parallel) {
  const std::vector<RunResults> runs = {
      read_run_results(report_fixture("dp-4gpu")),
      read_run_results(report_fixture("zero3-4gpu/metrics.jsonl")),
      read_run_results(report_fixture("zero2-offload.out")),
      read_run_results(report_fixture("zero1-stopped.out"))};
  const auto rows = table_cells(render_report(runs));
  BOOST_REQUIRE(rows.size() == 5u);
  BOOST_TEST(rows[0] == (Row{"run", "strategy", "world_size", "time/epoch (s)", "peak memory (GiB)",
                             "final loss", "samples/s", "eval loss per epoch", "speed vs DP"}),
             boost::test_tools::per_element());
  BOOST_TEST(rows[1] == (Row{"dp-4gpu", "DP, fp32", "4", "51.0", "9.60", "2.6500", "19.8",
                             "2.8100, 2.6900", "1.00x"}),
             boost::test_tools::per_element());
  // 51.0 / 61.0 = 0.836
  BOOST_TEST(rows[2] == (Row{"zero3-4gpu", "ZeRO-3, bf16", "4", "61.0", "6.25", "2.6600", "16.4",
                             "2.8200, 2.7000", "0.84x"}),
             boost::test_tools::per_element());
  // 51.0 / 125.0 = 0.408
  BOOST_TEST(rows[3] == (Row{"zero2-offload", "ZeRO-2, offload, fp16", "2", "125.0", "4.40",
                             "2.7500", "8.0", "2.8800, 2.7900", "0.41x"}),
             boost::test_tools::per_element());
  BOOST_TEST(rows[4] == (Row{"zero1-stopped (no summary)", "ZeRO-1, bf16", "8", "-", "2.75",
                             "3.7000", "-", "-", "-"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(table_is_aligned_markdown_without_dp_column_when_no_dp_run) {
  const std::string table = render_report({read_run_results(report_fixture("zero3-4gpu"))});
  const std::string expected =
      "| run        | strategy     | world_size | time/epoch (s) | peak memory (GiB) | final loss "
      "| samples/s | eval loss per epoch |\n"
      "| ---------- | ------------ | ---------: | -------------: | ----------------: | ---------: "
      "| --------: | ------------------- |\n"
      "| zero3-4gpu | ZeRO-3, bf16 |          4 |           61.0 |              6.25 |     2.6600 "
      "|      16.4 | 2.8200, 2.7000      |\n";
  BOOST_TEST(table.substr(0, expected.size()) == expected);
  BOOST_TEST(table.find("speed vs DP") == std::string::npos);
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
  const int rc = run_report_command(
      {report_fixture("dp-4gpu").string(), report_fixture("zero2-offload.out").string()});
  std::cout.rdbuf(old);
  BOOST_TEST(rc == zerotune::kExitOk);
  BOOST_TEST(captured.str() ==
             render_report({read_run_results(report_fixture("dp-4gpu")),
                            read_run_results(report_fixture("zero2-offload.out"))}));
  BOOST_TEST(captured.str().find("| zero2-offload ") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
