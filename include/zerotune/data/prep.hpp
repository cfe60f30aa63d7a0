// Turning raw text into fixed-length token examples (what `zerotune prep` writes, see
// token_file.hpp for the file and DESIGN.md "Data").
//
// WikiText (packed): the file is cut into articles just before each title line " = Title = "
// (one '=' on each side; " = = Section = = " headings stay inside their article; text before
// the first title belongs to the first article). Each article is tokenized on its own and
// followed by EOS; the stream is cut into blocks of seq_len tokens and the last partial block
// is dropped. labels == input_ids (not shifted), attention_mask all 1. Cuts fall between a
// "\n" and a space, which is a pre-token boundary, so the tokens are those of the whole file
// plus one EOS per article.
//
// SQuAD v1.1: one example per question, the first answer, in the template
//   "Question: {question}\nContext: {context}\nAnswer: {answer}" + EOS
// where question, context and answer are stripped of leading and trailing white space. The
// pieces are tokenized as "Question:", " {question}", "\nContext:", " {context}", "\nAnswer:",
// " {answer}" (each cut is a pre-token boundary, so the ids equal those of the whole text).
// Longer than seq_len: context tokens are dropped from its end until the example fits (the
// question and answer are kept); if even an empty context does not fit, the example is cut at
// seq_len (answer_truncated_examples). Shorter: right-padded with pad_token_id = EOS,
// attention_mask 0 and labels -100. loss_on=answer also sets labels -100 on everything before
// " {answer}", so only the answer and EOS take loss.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "zerotune/data/bpe_tokenizer.hpp"
#include "zerotune/data/token_file.hpp"

namespace zerotune::data {

// Receives examples in order, a few hundred rows at a time.
using ExampleSink = std::function<void(const TokenExamples&)>;

// The articles of a WikiText file; they concatenate back to `text`.
std::vector<std::string_view> split_wikitext_articles(std::string_view text);

struct WikitextPrepStats {
  int64_t documents = 0;
  int64_t tokens = 0;  // including one EOS per document
  int64_t examples = 0;
  int64_t dropped_tail_tokens = 0;
};

// `source` names the text in errors (invalid UTF-8).
WikitextPrepStats prep_wikitext(std::string_view text, std::string_view source,
                                const BpeTokenizer& tokenizer, int64_t seq_len,
                                const ExampleSink& sink);

struct SquadQuestion {  // as in the file (prep_squad strips the white space)
  std::string id;
  std::string question;
  std::string context;
  std::string answer;  // the first answer's text
};

// The questions of a SQuAD v1.1 file, in file order. Malformed JSON, a missing field or a
// SQuAD v2.0 file (version "v2.0" or an is_impossible field): InputError naming `source` and
// the JSON path, e.g. "dev.json: data[3].paragraphs[0].qas[2].answers: expected a non-empty
// array".
std::vector<SquadQuestion> parse_squad_v1(std::string_view json_text, const std::string& source);

// The template text of one example (stripped fields), without EOS.
std::string squad_example_text(const SquadQuestion& question);

enum class LossOn { kAll, kAnswer };

struct SquadPrepStats {
  int64_t questions = 0;
  int64_t examples = 0;
  int64_t tokens = 0;       // real tokens (not padding), EOS included
  int64_t loss_tokens = 0;  // labels != -100
  int64_t padding_tokens = 0;
  int64_t truncated_examples = 0;
  int64_t answer_truncated_examples = 0;  // cut inside the question or answer
};

SquadPrepStats prep_squad(const std::vector<SquadQuestion>& questions,
                          const BpeTokenizer& tokenizer, int64_t seq_len, LossOn loss_on,
                          const ExampleSink& sink);

}  // namespace zerotune::data
