// References: reference-tokenizations.json (ids and whole-file counts produced by OpenAI's
// encoder ports gpt-3-encoder and js-tiktoken r50k_base) and the shared data README.
#include "zerotune/data/bpe_tokenizer.hpp"

#include <boost/test/unit_test.hpp>
#include <chrono>

#include "test_support.hpp"
#include "zerotune/base/error.hpp"
#include "zerotune/data/gpt2_pretokenizer.hpp"
#include "zerotune/data/text_input.hpp"

using namespace zerotune;
using namespace zerotune::data;
namespace zt = zerotune::testing;

namespace {

const BpeTokenizer& gpt2() {
  static const BpeTokenizer tokenizer =
      BpeTokenizer::from_directory((zt::shared_data_dir() / "gpt2-tokenizer").string());
  return tokenizer;
}

nlohmann::json reference() {
  const auto path = zt::shared_data_dir() / "gpt2-tokenizer" / "reference-tokenizations.json";
  return nlohmann::json::parse(zt::read_text_file(path));
}

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no InputError)";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(bpe_tokenizer)

BOOST_AUTO_TEST_CASE(hello_world_is_15496_995) {
  const std::vector<int32_t> expected = {15496, 995};
  BOOST_TEST(gpt2().encode("Hello world") == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(loads_the_published_vocabulary) {
  BOOST_TEST(gpt2().vocab_size() == 50257);
  BOOST_TEST(gpt2().num_merges() == 50000);
  BOOST_TEST(gpt2().eos_token_id() == 50256);
  BOOST_TEST(gpt2().token_id("!").value() == 0);
  BOOST_TEST(gpt2().token_id("\xC4\xA0the").value() == 262);  // "Ġthe"
  BOOST_TEST(!gpt2().token_id("no such token").has_value());
}

BOOST_AUTO_TEST_CASE(matches_every_reference_string) {
  const nlohmann::json ref = reference();
  BOOST_TEST(ref["cases"].size() == 21u);
  for (const auto& c : ref["cases"]) {
    const std::string text = c["text"];
    const std::vector<int32_t> expected = c["ids"].get<std::vector<int32_t>>();
    BOOST_TEST_CONTEXT("text: " << text) {
      BOOST_TEST(gpt2().encode(text) == expected, boost::test_tools::per_element());
      BOOST_TEST(gpt2().decode(expected) == text);
    }
  }
}

BOOST_AUTO_TEST_CASE(whole_file_counts_match_published_counts) {
  const nlohmann::json counts = reference()["file_token_counts"];
  for (const char* name : {"wikitext-2-raw/wiki.valid.raw", "wikitext-2-raw/wiki.test.raw"}) {
    const std::string text = zt::read_text_file(zt::shared_data_dir() / name);
    const auto start = std::chrono::steady_clock::now();
    const std::vector<int32_t> ids = gpt2().encode(text);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    BOOST_TEST_MESSAGE(name << ": " << ids.size() << " tokens in " << seconds << " s");
    BOOST_TEST(static_cast<int64_t>(ids.size()) == counts[name].get<int64_t>());
    BOOST_TEST(gpt2().decode(ids) == text);
  }
}

BOOST_AUTO_TEST_CASE(test_rows_joined_by_blank_lines_match_published_count) {
  // The Hugging Face `test` rows: a text line with its "\n", and "" for a blank line (" \n" in
  // the raw file). The published count is for the rows joined with "\n\n".
  const std::string text =
      zt::read_text_file(zt::shared_data_dir() / "wikitext-2-raw" / "wiki.test.raw");
  std::string joined;
  size_t start = 0;
  while (start < text.size()) {
    const size_t end = text.find('\n', start);
    if (start > 0) joined += "\n\n";
    const std::string_view line(text.data() + start, end - start);
    if (line.find_first_not_of(' ') != std::string_view::npos) {
      joined.append(line);
      joined += '\n';
    }
    start = end + 1;
  }
  const nlohmann::json counts = reference()["file_token_counts"];
  const auto key = "wiki.test.raw as Hugging Face rows joined with \"\\n\\n\"";
  BOOST_TEST(static_cast<int64_t>(gpt2().encode(joined).size()) == counts[key].get<int64_t>());
}

BOOST_AUTO_TEST_CASE(pieces_tile_the_text) {
  Gpt2PreTokenizer pre;
  std::vector<std::string_view> pieces;
  pre.split("Hello  world's 123 !!\n\n  x", pieces);
  // "\n\n  x": \s+(?!\S) gives back one space, which starts " x".
  const std::vector<std::string_view> expected = {"Hello", " ",   " world", "'s",
                                                  " 123",  " !!", "\n\n ",  " x"};
  BOOST_TEST(pieces == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(empty_text_has_no_tokens) { BOOST_TEST(gpt2().encode("").empty()); }

BOOST_AUTO_TEST_CASE(end_of_text_is_plain_text) {
  const std::vector<int32_t> ids = gpt2().encode("<|endoftext|>");
  BOOST_TEST(ids.size() > 1u);
  const std::vector<int32_t> eos = {50256};
  BOOST_TEST(gpt2().decode(eos) == "<|endoftext|>");
}

BOOST_AUTO_TEST_CASE(rejects_invalid_utf8_with_offset_and_line) {
  const std::string bad = "line one\nline \xC3\x28 two";
  BOOST_TEST(message_of([&] { gpt2().encode(bad, "input.txt"); }) ==
             "input.txt:2: invalid UTF-8 at byte offset 14");
  BOOST_TEST(message_of([&] { gpt2().encode("\xED\xA0\x80"); }) ==  // a surrogate
             "text:1: invalid UTF-8 at byte offset 0");
  BOOST_TEST(message_of([&] { gpt2().encode("ab\xF4\x90\x80\x80"); }) ==  // above U+10FFFF
             "text:1: invalid UTF-8 at byte offset 2");
  BOOST_TEST(message_of([&] { gpt2().encode("\xC0\xAF"); }) ==  // overlong '/'
             "text:1: invalid UTF-8 at byte offset 0");
  BOOST_TEST(message_of([&] { gpt2().encode("abc\xE2\x82"); }) ==  // cut short
             "text:1: invalid UTF-8 at byte offset 3");
}

BOOST_AUTO_TEST_CASE(rejects_out_of_range_ids_in_decode) {
  const std::vector<int32_t> ids = {15496, 50257};
  BOOST_TEST(message_of([&] { gpt2().decode(ids); }) ==
             "token 1: id 50257 is outside the vocabulary [0, 50257)");
}

BOOST_AUTO_TEST_CASE(missing_tokenizer_file_is_named) {
  zt::ScratchDir dir("bpe");
  zt::write_text_file(dir / "vocab.json", "{}");
  const std::string merges = (dir / "merges.txt").string();
  const std::string message =
      message_of([&] { BpeTokenizer::from_directory(dir.path().string()); });
  BOOST_TEST(message.find("vocab.json: expected a JSON object") != std::string::npos);
  std::filesystem::copy_file(zt::shared_data_dir() / "gpt2-tokenizer" / "vocab.json",
                             dir / "vocab.json", std::filesystem::copy_options::overwrite_existing);
  BOOST_TEST(message_of([&] { BpeTokenizer::from_directory(dir.path().string()); }) ==
             merges + ": cannot read (No such file or directory)");
}

BOOST_AUTO_TEST_CASE(malformed_tokenizer_files_give_line_numbers) {
  zt::ScratchDir dir("bpe");
  const auto vocab = (dir / "vocab.json").string();
  zt::write_text_file(dir / "vocab.json", "{\"a\": 0,\n \"b\" 1}");
  BOOST_TEST(
      message_of([&] { BpeTokenizer(vocab, vocab); }).starts_with(vocab + ":2:6: malformed JSON:"));
  std::filesystem::copy_file(zt::shared_data_dir() / "gpt2-tokenizer" / "vocab.json",
                             dir / "vocab.json", std::filesystem::copy_options::overwrite_existing);
  const auto merges = (dir / "merges.txt").string();
  zt::write_text_file(dir / "merges.txt", "#version: 0.2\n\xC4\xA0 t\nnot-a-token x\n");
  BOOST_TEST(message_of([&] { BpeTokenizer(vocab, merges); }) ==
             merges + ":3: token \"not-a-token\" is not in vocab.json");
  zt::write_text_file(dir / "merges.txt", "#version: 0.2\nabc\n");
  BOOST_TEST(message_of([&] { BpeTokenizer(vocab, merges); }) ==
             merges + ":2: expected two tokens separated by one space, got \"abc\"");
}

BOOST_AUTO_TEST_SUITE_END()
