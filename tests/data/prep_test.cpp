// References: article and question counts in the shared data README, token counts in
// reference-tokenizations.json; the rest checks the documented example layout by decoding.
#include "zerotune/data/prep.hpp"

#include <boost/test/unit_test.hpp>

#include "input_error.hpp"
#include "test_support.hpp"
#include "zerotune/base/error.hpp"
#include "zerotune/data/text_input.hpp"

using namespace zerotune;
using namespace zerotune::data;
namespace zt = zerotune::testing;

using zerotune::testing::input_error;

namespace {

const BpeTokenizer& gpt2() {
  static const BpeTokenizer tokenizer =
      BpeTokenizer::from_directory((zt::shared_data_dir() / "gpt2-tokenizer").string());
  return tokenizer;
}

std::string wiki(const char* split) {
  return zt::read_text_file(zt::shared_data_dir() / "wikitext-2-raw" /
                            (std::string("wiki.") + split + ".raw"));
}

int64_t published_count(const std::string& file) {
  const auto path = zt::shared_data_dir() / "gpt2-tokenizer" / "reference-tokenizations.json";
  return nlohmann::json::parse(zt::read_text_file(path))["file_token_counts"][file];
}

struct Collected {
  TokenExamples all;
  int calls = 0;
  ExampleSink sink() {
    return [this](const TokenExamples& rows) {
      ++calls;
      all.seq_len = rows.seq_len;
      all.count += rows.count;
      all.input_ids.insert(all.input_ids.end(), rows.input_ids.begin(), rows.input_ids.end());
      all.labels.insert(all.labels.end(), rows.labels.begin(), rows.labels.end());
      all.attention_mask.insert(all.attention_mask.end(), rows.attention_mask.begin(),
                                rows.attention_mask.end());
    };
  }
  std::vector<int32_t> row(int64_t r, bool real_only = true) const {
    std::vector<int32_t> ids;
    for (int64_t t = 0; t < all.seq_len; ++t) {
      if (!real_only || all.attention_mask[r * all.seq_len + t]) {
        ids.push_back(all.input_ids[r * all.seq_len + t]);
      }
    }
    return ids;
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(wikitext_prep)

BOOST_AUTO_TEST_CASE(finds_the_published_article_counts) {
  for (const auto& [split, articles] : {std::pair{"valid", 60u}, std::pair{"test", 62u}}) {
    const std::string text = wiki(split);
    const auto pieces = split_wikitext_articles(text);
    BOOST_TEST(pieces.size() == articles);
    std::string joined;
    for (auto piece : pieces) joined += piece;
    BOOST_TEST((joined == text));
    BOOST_TEST(pieces[1].starts_with(" = "));
  }
  BOOST_TEST(split_wikitext_articles(wiki("valid"))[0].starts_with(" \n = Homarus gammarus = \n"));
}

// "\r\n" files give what "\n" files give: the same articles, tokens and blocks (a CRLF copy
// once read as one article without a single end-of-text).
BOOST_AUTO_TEST_CASE(crlf_line_endings_change_nothing) {
  std::string lf = wiki("valid").substr(0, 60000);
  lf.resize(lf.rfind('\n') + 1);
  std::string crlf;
  for (char c : lf) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
  Collected from_lf, from_crlf;
  const WikitextPrepStats a = prep_wikitext(lf, "lf.raw", gpt2(), 64, from_lf.sink());
  const WikitextPrepStats b = prep_wikitext(crlf, "crlf.raw", gpt2(), 64, from_crlf.sink());
  BOOST_TEST(a.documents > 1);
  BOOST_TEST(b.documents == a.documents);
  BOOST_TEST(b.tokens == a.tokens);
  BOOST_TEST((from_crlf.all.input_ids == from_lf.all.input_ids));
}

BOOST_AUTO_TEST_CASE(packs_whole_file_tokens_plus_one_eos_per_article) {
  for (const auto& [split, name] : {std::pair{"valid", "wikitext-2-raw/wiki.valid.raw"},
                                    std::pair{"test", "wikitext-2-raw/wiki.test.raw"}}) {
    Collected got;
    const WikitextPrepStats stats = prep_wikitext(wiki(split), name, gpt2(), 1024, got.sink());
    BOOST_TEST(stats.tokens == published_count(name) + stats.documents);
    BOOST_TEST(stats.examples == stats.tokens / 1024);
    BOOST_TEST(stats.dropped_tail_tokens == stats.tokens % 1024);
    BOOST_TEST(got.all.count == stats.examples);
    BOOST_TEST(got.calls > 0);
    BOOST_TEST((got.all.labels == got.all.input_ids));
    BOOST_TEST(std::count(got.all.attention_mask.begin(), got.all.attention_mask.end(), 1) ==
               stats.examples * 1024);
    const auto eos = std::count(got.all.input_ids.begin(), got.all.input_ids.end(), 50256);
    BOOST_TEST(eos <= stats.documents);
    BOOST_TEST(eos >= stats.documents - 1);  // the last EOS may sit in the dropped tail
  }
}

BOOST_AUTO_TEST_CASE(blocks_decode_to_the_text_with_eos_between_articles) {
  const std::string text = " = A = \n \n Alpha text .\n \n = B = \n \n Beta words here .\n";
  Collected got;
  const auto stats = prep_wikitext(text, "t.raw", gpt2(), 4, got.sink());
  BOOST_TEST(stats.documents == 2);
  std::string decoded;
  for (int64_t r = 0; r < got.all.count; ++r) decoded += gpt2().decode(got.row(r));
  const std::string full =
      " = A = \n \n Alpha text .\n \n<|endoftext|> = B = \n \n Beta words "
      "here .\n<|endoftext|>";
  BOOST_TEST(decoded == full.substr(0, decoded.size()));
  BOOST_TEST(stats.examples * 4 + stats.dropped_tail_tokens == stats.tokens);
}

BOOST_AUTO_TEST_CASE(invalid_utf8_names_source_and_line) {
  Collected got;
  BOOST_TEST(input_error([&] {
               prep_wikitext(" = A = \n ok\n bad \xFF\n", "w.raw", gpt2(), 8, got.sink());
             }) == "w.raw:3: invalid UTF-8 at byte offset 17");
  BOOST_TEST(got.calls == 0);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(squad_prep)

BOOST_AUTO_TEST_CASE(parses_the_published_question_count) {
  const auto path = zt::shared_data_dir() / "squad-v1.1" / "dev-v1.1.json";
  const auto questions = parse_squad_v1(zt::read_text_file(path), path.string());
  BOOST_TEST(questions.size() == 10570u);
  BOOST_TEST(questions[0].question == "Which NFL team represented the AFC at Super Bowl 50?");
  BOOST_TEST(questions[0].answer == "Denver Broncos");
  BOOST_TEST(questions[0].context.starts_with("Super Bowl 50 was an American football game"));
}

SquadQuestion question(std::string q, std::string c, std::string a) {
  return SquadQuestion{"id", std::move(q), std::move(c), std::move(a)};
}

BOOST_AUTO_TEST_CASE(writes_the_template_padded_with_eos) {
  const SquadQuestion q = question("Who?", "Alice met Bob.", "Alice");
  Collected got;
  const auto stats = prep_squad({q}, gpt2(), 32, LossOn::kAll, got.sink());
  const std::string text = "Question: Who?\nContext: Alice met Bob.\nAnswer: Alice";
  BOOST_TEST(squad_example_text(q) == text);
  BOOST_TEST(gpt2().decode(got.row(0)) == text + "<|endoftext|>");
  BOOST_TEST((got.row(0) == [&] {
    auto ids = gpt2().encode(text);  // pieces tokenize like the whole text
    ids.push_back(50256);
    return ids;
  }()));
  const int64_t real = static_cast<int64_t>(got.row(0).size());
  BOOST_TEST(stats.tokens == real);
  BOOST_TEST(stats.padding_tokens == 32 - real);
  BOOST_TEST(stats.truncated_examples == 0);
  for (int64_t t = 0; t < 32; ++t) {
    BOOST_TEST(got.all.attention_mask[t] == (t < real ? 1 : 0));
    BOOST_TEST(got.all.labels[t] == (t < real ? got.all.input_ids[t] : -100));
    if (t >= real) BOOST_TEST(got.all.input_ids[t] == 50256);
  }
}

BOOST_AUTO_TEST_CASE(loss_on_answer_masks_the_prompt) {
  Collected got;
  const auto stats = prep_squad({question("Who?", "Alice met Bob.", "Alice")}, gpt2(), 32,
                                LossOn::kAnswer, got.sink());
  std::vector<int32_t> with_loss;
  for (int64_t t = 0; t < 32; ++t) {
    if (got.all.labels[t] != -100) with_loss.push_back(got.all.labels[t]);
  }
  BOOST_TEST(gpt2().decode(with_loss) == " Alice<|endoftext|>");
  BOOST_TEST(stats.loss_tokens == static_cast<int64_t>(with_loss.size()));
}

BOOST_AUTO_TEST_CASE(truncates_the_context_and_keeps_question_and_answer) {
  std::string context;
  for (int i = 0; i < 100; ++i) context += "word" + std::to_string(i) + " ";
  Collected got;
  const auto stats = prep_squad({question("  Which word?\n", context, " word7 ")}, gpt2(), 40,
                                LossOn::kAll, got.sink());
  BOOST_TEST(stats.truncated_examples == 1);
  BOOST_TEST(stats.answer_truncated_examples == 0);
  BOOST_TEST(got.row(0).size() == 40u);
  const std::string decoded = gpt2().decode(got.row(0));
  BOOST_TEST(decoded.starts_with("Question: Which word?\nContext: word0 word1"));
  BOOST_TEST(decoded.ends_with("\nAnswer: word7<|endoftext|>"));

  Collected cut;
  const auto cut_stats =
      prep_squad({question(context, "c", "a")}, gpt2(), 16, LossOn::kAll, cut.sink());
  BOOST_TEST(cut_stats.answer_truncated_examples == 1);
  BOOST_TEST(cut.row(0).size() == 16u);
}

BOOST_AUTO_TEST_CASE(rejects_squad_v2_and_malformed_files) {
  BOOST_TEST(input_error([] {
               parse_squad_v1(R"({"version": "v2.0", "data": []})", "v2.json");
             }).starts_with("v2.json: version \"v2.0\" is SQuAD v2.0, which is not supported"));
  const std::string impossible =
      R"({"data": [{"paragraphs": [{"context": "c", "qas": [{"id": "x", "question": "q",
          "answers": [], "is_impossible": true}]}]}]})";
  BOOST_TEST(input_error([&] { parse_squad_v1(impossible, "f.json"); })
                 .starts_with("f.json: data[0].paragraphs[0].qas[0].is_impossible: this is SQuAD "
                              "v2.0"));
  BOOST_TEST(input_error([] {
               parse_squad_v1("{\"data\": [\n  {\"paragraphs\": ]}", "m.json");
             }).starts_with("m.json:2:18: malformed JSON:"));
  const std::string no_answers =
      R"({"data": [{"paragraphs": [{"context": "c", "qas": [{"id": "x", "question": "q",
          "answers": []}]}]}]})";
  BOOST_TEST(input_error([&] { parse_squad_v1(no_answers, "f.json"); }) ==
             "f.json: data[0].paragraphs[0].qas[0].answers: expected a non-empty array");
  BOOST_TEST(input_error([] { parse_squad_v1(R"({"data": {}})", "f.json"); }) ==
             "f.json: data: expected an array");
  BOOST_TEST(input_error([] { parse_squad_v1("{\"data\": \"\xC3\"}", "u.json"); }) ==
             "u.json:1: invalid UTF-8 at byte offset 10");
}

BOOST_AUTO_TEST_SUITE_END()
