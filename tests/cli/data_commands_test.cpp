// `zerotune prep` and `zerotune tokenize` called as functions: outputs, and that every bad
// input is one InputError line naming the file and leaves no output file behind.
#include "zerotune/cli/data_commands.hpp"

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <sstream>

#include "test_support.hpp"
#include "zerotune/base/error.hpp"
#include "zerotune/data/token_file.hpp"

using namespace zerotune;
namespace zt = zerotune::testing;
namespace fs = std::filesystem;

namespace {

std::string tokenizer_dir() { return (zt::shared_data_dir() / "gpt2-tokenizer").string(); }

std::string prep_error(const std::vector<std::string>& args) {
  std::ostringstream out;
  try {
    cli::run_prep_command(args, out);
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no InputError)";
}

std::string tokenize(const std::vector<std::string>& args, const std::string& input,
                     std::string* err = nullptr) {
  std::istringstream in(input);
  std::ostringstream out, err_stream;
  BOOST_TEST(cli::run_tokenize_command(args, in, out, err_stream) == 0);
  if (err) *err = err_stream.str();
  return out.str();
}

// Nothing but the inputs the test put there.
bool only_inputs_left(const zt::ScratchDir& dir, size_t inputs) {
  return static_cast<size_t>(
             std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator())) == inputs;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(prep_command)

BOOST_AUTO_TEST_CASE(prep_wikitext_prints_counts_and_writes_the_file) {
  zt::ScratchDir dir("prep");
  const std::string text =
      zt::read_text_file(zt::shared_data_dir() / "wikitext-2-raw" / "wiki.valid.raw");
  zt::write_text_file(dir / "wiki.valid.raw", text.substr(0, text.find(" = Frank Headlam = ")));
  const std::string out = (dir / "w.h5").string();
  std::ostringstream report;
  BOOST_TEST(cli::run_prep_command({"wikitext", "--input", (dir / "wiki.valid.raw").string(),
                                    "--tokenizer", tokenizer_dir(), "--seq-len=256", "--out", out},
                                   report) == 0);
  BOOST_TEST_MESSAGE(report.str());
  BOOST_TEST(report.str().starts_with("prep wikitext input=wiki.valid.raw documents=1 tokens="));
  BOOST_TEST(report.str().find(" split=validation ") != std::string::npos);
  BOOST_TEST(report.str().find(" wall_s=") != std::string::npos);
  data::TokenFile file(out);
  BOOST_TEST(file.info().seq_len == 256);
  BOOST_TEST(file.info().tokenizer == "gpt2-bpe");
  BOOST_TEST(file.info().vocab_size == 50257);
  BOOST_TEST(file.info().pad_token_id == 50256);
  BOOST_TEST(file.info().source == "wiki.valid.raw");
  BOOST_TEST(file.info().source_sha256.size() == 64u);
  BOOST_TEST(only_inputs_left(dir, 2));
}

BOOST_AUTO_TEST_CASE(prep_squad_honours_max_samples_and_split) {
  zt::ScratchDir dir("prep");
  const std::string out = (dir / "s.h5").string();
  std::ostringstream report;
  cli::run_prep_command(
      {"squad", "--input", (zt::shared_data_dir() / "squad-v1.1" / "dev-v1.1.json").string(),
       "--tokenizer", tokenizer_dir(), "--out", out, "--max-samples", "7", "--split", "dev",
       "--loss-on", "answer"},
      report);
  BOOST_TEST(
      report.str().starts_with("prep squad input=dev-v1.1.json questions=10570 examples=7 "));
  BOOST_TEST(report.str().find(" loss_on=answer split=dev ") != std::string::npos);
  data::TokenFile file(out);
  BOOST_TEST(file.info().num_examples == 7);
  BOOST_TEST(file.info().seq_len == 512);
  BOOST_TEST(file.info().split == "dev");
}

BOOST_AUTO_TEST_CASE(bad_inputs_are_one_line_and_leave_nothing) {
  zt::ScratchDir dir("prep");
  const std::string out = (dir / "o.h5").string();
  const std::string tok = tokenizer_dir();
  const std::string missing = (dir / "missing.raw").string();
  BOOST_TEST(prep_error({"wikitext", "--input", missing, "--tokenizer", tok, "--out", out}) ==
             missing + ": cannot read (No such file or directory)");

  const std::string bad_utf8 = (dir / "bad.raw").string();
  zt::write_text_file(bad_utf8, " = T = \n fine\n caf\xE9 \n");
  BOOST_TEST(prep_error({"wikitext", "--input", bad_utf8, "--tokenizer", tok, "--out", out}) ==
             bad_utf8 + ":3: invalid UTF-8 at byte offset 18");

  const std::string malformed = (dir / "malformed.json").string();
  zt::write_text_file(malformed, "{\"version\": \"1.1\",\n \"data\": [\n  {\"paragraphs\": [}\n]}");
  BOOST_TEST(prep_error({"squad", "--input", malformed, "--tokenizer", tok, "--out", out})
                 .starts_with(malformed + ":3:19: malformed JSON: "));

  const std::string v2 = (dir / "v2.json").string();
  zt::write_text_file(v2, R"({"version": "v2.0", "data": []})");
  BOOST_TEST(prep_error({"squad", "--input", v2, "--tokenizer", tok, "--out", out})
                 .starts_with(v2 + ": version \"v2.0\" is SQuAD v2.0, which is not supported"));

  const std::string short_text = (dir / "short.raw").string();
  zt::write_text_file(short_text, " = T = \n few words\n");
  BOOST_TEST(prep_error({"wikitext", "--input", short_text, "--tokenizer", tok, "--out", out})
                 .ends_with(" tokens do not fill one block of --seq-len 1024"));

  fs::create_directory(dir / "tok");
  fs::copy_file(zt::shared_data_dir() / "gpt2-tokenizer" / "vocab.json",
                dir / "tok" / "vocab.json");
  BOOST_TEST(prep_error({"wikitext", "--input", short_text, "--tokenizer", (dir / "tok").string(),
                         "--out", out}) ==
             (dir / "tok").string() + "/merges.txt: cannot read (No such file or directory)");
  BOOST_TEST(prep_error({"wikitext", "--input", short_text, "--tokenizer", (dir / "none").string(),
                         "--out", out})
                 .starts_with((dir / "none").string() + ": tokenizer directory does not exist"));
  BOOST_TEST(prep_error({"wikitext", "--input", short_text, "--tokenizer", tok, "--out",
                         (dir / "nodir" / "o.h5").string()})
                 .find("does not exist") != std::string::npos);
  BOOST_TEST(prep_error({"wikitext", "--input", short_text, "--tokenizer", tok}) ==
             "prep wikitext: --out is required (see zerotune prep wikitext --help)");
  BOOST_TEST(prep_error({"wikitext", "--input", short_text, "--tokenizer", tok, "--out", out,
                         "--seq-len", "0"}) ==
             "prep wikitext: --seq-len: expected a positive integer <= 1048576, got \"0\"");
  BOOST_TEST(prep_error({"wikitext", "--bogus"}) ==
             "prep wikitext: unknown option --bogus (see zerotune prep wikitext --help)");
  BOOST_TEST(prep_error({"squad", "--input", v2, "--tokenizer", tok, "--out", out, "--loss-on",
                         "prompt"}) ==
             "prep squad: --loss-on: expected all or answer, got \"prompt\"");
  BOOST_TEST(prep_error({"books"}).starts_with("prep: unknown dataset kind \"books\""));
  BOOST_TEST(only_inputs_left(dir, 5));  // bad.raw malformed.json v2.json short.raw tok/
}

BOOST_AUTO_TEST_CASE(help_prints_usage) {
  std::ostringstream out;
  BOOST_TEST(cli::run_prep_command({"--help"}, out) == 0);
  BOOST_TEST(out.str().starts_with("usage: zerotune prep wikitext"));
  std::ostringstream out2;
  BOOST_TEST(cli::run_prep_command({"squad", "--help"}, out2) == 0);
  BOOST_TEST(out2.str().find("--loss-on") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(tokenize_command)

BOOST_AUTO_TEST_CASE(encodes_each_line_and_decodes_back) {
  const std::string ids =
      tokenize({"--tokenizer", tokenizer_dir()}, "Hello world\n\nHello, world!");
  BOOST_TEST(ids == "15496 995\n\n15496 11 995 0\n");
  BOOST_TEST(tokenize({"--tokenizer", tokenizer_dir(), "--decode"}, ids) ==
             "Hello world\n\nHello, world!\n");
}

BOOST_AUTO_TEST_CASE(whole_and_jsonl_modes) {
  BOOST_TEST(tokenize({"--tokenizer", tokenizer_dir(), "--whole"}, "Hello world\n") ==
             "15496 995 198\n");
  BOOST_TEST(tokenize({"--tokenizer", tokenizer_dir(), "--jsonl"},
                      "\"\\n\\n\"\n\"Hello world\"\n") == "628\n15496 995\n");
  BOOST_TEST(tokenize({"--tokenizer", tokenizer_dir(), "--decode", "--jsonl"},
                      "628\n15496 995\n") == "\"\\n\\n\"\n\"Hello world\"\n");
  BOOST_TEST(tokenize({"--tokenizer", tokenizer_dir(), "--decode", "--whole"},
                      "15496\n995 198\n") == "Hello world\n");
}

BOOST_AUTO_TEST_CASE(stats_go_to_stderr) {
  std::string err;
  tokenize({"--tokenizer", tokenizer_dir(), "--stats"}, "Hello world\n", &err);
  BOOST_TEST(err.starts_with("tokenize lines=1 bytes=12 tokens=2 encode_s="));
}

BOOST_AUTO_TEST_CASE(bad_input_names_the_line) {
  auto error = [](const std::vector<std::string>& args, const std::string& input) {
    std::istringstream in(input);
    std::ostringstream out, err;
    try {
      cli::run_tokenize_command(args, in, out, err);
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("(no InputError)");
  };
  const std::string tok = tokenizer_dir();
  BOOST_TEST(error({"--tokenizer", tok}, "ok\nbad \xFF\n") ==
             "<stdin>:2: invalid UTF-8 at byte offset 7");
  BOOST_TEST(error({"--tokenizer", tok, "--decode"}, "1 2\n3 x4\n") ==
             "<stdin>:2: expected token ids separated by spaces, got \"x4\"");
  BOOST_TEST(error({"--tokenizer", tok, "--decode"}, "50257\n") ==
             "<stdin>:1: token id 50257 is outside the vocabulary [0, 50257)");
  BOOST_TEST(error({"--tokenizer", tok, "--jsonl"}, "\"ok\"\n[1]\n") ==
             "<stdin>:2: expected a JSON string");
  BOOST_TEST(error({}, "") == "tokenize: --tokenizer is required (see zerotune tokenize --help)");
}

BOOST_AUTO_TEST_SUITE_END()
