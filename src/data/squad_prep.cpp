#include <stdexcept>

#include "zerotune/base/error.hpp"
#include "zerotune/data/prep.hpp"
#include "zerotune/data/text_input.hpp"

namespace zerotune::data {

namespace {

constexpr int64_t kRowsPerAppend = 256;

// object[name] of the given type, or InputError "<source>: <path>.<name>: expected <what>".
const nlohmann::json& field(const nlohmann::json& object, const char* name,
                            nlohmann::json::value_t type, const std::string& source,
                            const std::string& path, const char* expected) {
  const auto it = object.find(name);
  if (it == object.end() || it->type() != type) {
    throw InputError(source + ": " + (path.empty() ? "" : path + ".") + name + ": expected " +
                     expected);
  }
  return *it;
}

void require_object(const nlohmann::json& value, const std::string& source,
                    const std::string& path) {
  if (!value.is_object()) throw InputError(source + ": " + path + ": expected an object");
}

std::string strip(std::string_view text) { return std::string(strip_unicode_space(text)); }

// " " + the stripped field: the piece that follows "Question:", "\nContext:" or "\nAnswer:".
std::string spaced(std::string_view field) {
  const std::string_view stripped = strip_unicode_space(field);
  std::string piece;
  piece.reserve(stripped.size() + 1);
  piece += ' ';
  piece += stripped;
  return piece;
}

constexpr const char* kNotV2 =
    "is SQuAD v2.0, which is not supported: prep squad reads SQuAD v1.1 (every question "
    "answered)";

}  // namespace

std::vector<SquadQuestion> parse_squad_v1(std::string_view json_text, const std::string& source) {
  using Type = nlohmann::json::value_t;
  check_utf8(json_text, source);
  const nlohmann::json root = parse_json(json_text, source);
  if (!root.is_object()) throw InputError(source + ": expected a JSON object with \"data\"");
  const auto version = root.find("version");
  if (version != root.end() && version->is_string() &&
      version->get<std::string>().starts_with("v2")) {
    throw InputError(source + ": version \"" + version->get<std::string>() + "\" " + kNotV2);
  }
  const nlohmann::json& data = field(root, "data", Type::array, source, "", "an array");
  std::vector<SquadQuestion> questions;
  for (size_t a = 0; a < data.size(); ++a) {
    const std::string article = "data[" + std::to_string(a) + "]";
    require_object(data[a], source, article);
    const nlohmann::json& paragraphs =
        field(data[a], "paragraphs", Type::array, source, article, "an array");
    for (size_t p = 0; p < paragraphs.size(); ++p) {
      const std::string paragraph = article + ".paragraphs[" + std::to_string(p) + "]";
      require_object(paragraphs[p], source, paragraph);
      const std::string context =
          field(paragraphs[p], "context", Type::string, source, paragraph, "a string");
      const nlohmann::json& qas =
          field(paragraphs[p], "qas", Type::array, source, paragraph, "an array");
      for (size_t q = 0; q < qas.size(); ++q) {
        const std::string path = paragraph + ".qas[" + std::to_string(q) + "]";
        require_object(qas[q], source, path);
        if (qas[q].contains("is_impossible")) {
          throw InputError(source + ": " + path + ".is_impossible: this " + kNotV2);
        }
        SquadQuestion question;
        question.id = field(qas[q], "id", Type::string, source, path, "a string");
        question.question = field(qas[q], "question", Type::string, source, path, "a string");
        question.context = context;
        const nlohmann::json& answers =
            field(qas[q], "answers", Type::array, source, path, "a non-empty array");
        if (answers.empty()) {
          throw InputError(source + ": " + path + ".answers: expected a non-empty array");
        }
        require_object(answers[0], source, path + ".answers[0]");
        question.answer =
            field(answers[0], "text", Type::string, source, path + ".answers[0]", "a string");
        questions.push_back(std::move(question));
      }
    }
  }
  return questions;
}

std::string squad_example_text(const SquadQuestion& q) {
  return "Question: " + strip(q.question) + "\nContext: " + strip(q.context) +
         "\nAnswer: " + strip(q.answer);
}

SquadPrepStats prep_squad(const std::vector<SquadQuestion>& questions,
                          const BpeTokenizer& tokenizer, int64_t seq_len, LossOn loss_on,
                          const ExampleSink& sink) {
  if (seq_len <= 0) throw std::invalid_argument("prep_squad: seq_len must be positive");
  const int32_t eos = tokenizer.eos_token_id();
  const std::vector<int32_t> question_label = tokenizer.encode("Question:");
  const std::vector<int32_t> context_label = tokenizer.encode("\nContext:");
  const std::vector<int32_t> answer_label = tokenizer.encode("\nAnswer:");
  SquadPrepStats stats;
  TokenExamples rows;
  rows.seq_len = seq_len;
  std::vector<int32_t> prompt, context, answer, ids;
  for (const SquadQuestion& q : questions) {
    // prompt = "Question: {q}\nContext:", context = " {c}", answer = "\nAnswer:" + " {a}" + EOS
    prompt = question_label;
    tokenizer.encode_into(spaced(q.question), prompt, "question " + q.id);
    prompt.insert(prompt.end(), context_label.begin(), context_label.end());
    context.clear();
    tokenizer.encode_into(spaced(q.context), context, "context of question " + q.id);
    answer = answer_label;
    const size_t answer_start = answer.size();  // first token of " {answer}"
    tokenizer.encode_into(spaced(q.answer), answer, "answer of question " + q.id);
    answer.push_back(eos);

    const int64_t fixed = static_cast<int64_t>(prompt.size() + answer.size());
    int64_t context_kept = static_cast<int64_t>(context.size());
    if (fixed + context_kept > seq_len) {
      ++stats.truncated_examples;
      context_kept = std::max<int64_t>(0, seq_len - fixed);
      if (fixed > seq_len) ++stats.answer_truncated_examples;
    }
    ids = prompt;
    ids.insert(ids.end(), context.begin(), context.begin() + context_kept);
    const int64_t loss_from = static_cast<int64_t>(ids.size() + answer_start);
    ids.insert(ids.end(), answer.begin(), answer.end());
    if (static_cast<int64_t>(ids.size()) > seq_len) ids.resize(seq_len);

    const int64_t real = static_cast<int64_t>(ids.size());
    for (int64_t t = 0; t < seq_len; ++t) {
      const bool is_real = t < real;
      const bool takes_loss = is_real && (loss_on == LossOn::kAll || t >= loss_from);
      rows.input_ids.push_back(is_real ? ids[t] : eos);
      rows.labels.push_back(takes_loss ? ids[t] : kIgnoreLabel);
      rows.attention_mask.push_back(is_real ? 1 : 0);
      stats.loss_tokens += takes_loss ? 1 : 0;
    }
    stats.tokens += real;
    stats.padding_tokens += seq_len - real;
    ++stats.questions;
    ++stats.examples;
    if (++rows.count == kRowsPerAppend) {
      sink(rows);
      rows.count = 0;
      rows.input_ids.clear();
      rows.labels.clear();
      rows.attention_mask.clear();
    }
  }
  if (rows.count > 0) sink(rows);
  return stats;
}

}  // namespace zerotune::data
