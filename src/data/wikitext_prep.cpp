#include <stdexcept>

#include "zerotune/data/prep.hpp"
#include "zerotune/data/text_input.hpp"

namespace zerotune::data {

namespace {

constexpr int64_t kRowsPerAppend = 256;

// " = Title = " but not " = = Section = = ".
bool is_title_line(std::string_view line) {
  return line.size() >= 7 && line.starts_with(" = ") && line.ends_with(" = ") && line[3] != '=' &&
         line[line.size() - 4] != '=';
}

}  // namespace

std::vector<std::string_view> split_wikitext_articles(std::string_view text) {
  // Every title line but the first starts an article; the first article starts at 0.
  std::vector<size_t> starts = {0};
  bool seen_title = false;
  size_t line_start = 0;
  while (line_start < text.size()) {
    size_t line_end = text.find('\n', line_start);
    if (line_end == std::string_view::npos) line_end = text.size();
    if (is_title_line(text.substr(line_start, line_end - line_start))) {
      if (seen_title) starts.push_back(line_start);
      seen_title = true;
    }
    line_start = line_end + 1;
  }
  std::vector<std::string_view> articles;
  for (size_t i = 0; i < starts.size(); ++i) {
    const size_t end = i + 1 < starts.size() ? starts[i + 1] : text.size();
    if (end > starts[i]) articles.push_back(text.substr(starts[i], end - starts[i]));
  }
  return articles;
}

WikitextPrepStats prep_wikitext(std::string_view text, std::string_view source,
                                const BpeTokenizer& tokenizer, int64_t seq_len,
                                const ExampleSink& sink) {
  if (seq_len <= 0) throw std::invalid_argument("prep_wikitext: seq_len must be positive");
  check_utf8(text, source);
  // Title lines are found line by line: "\r\n" files must split as "\n" files do.
  std::string unix_text;
  text = with_unix_line_endings(text, unix_text);
  WikitextPrepStats stats;
  std::vector<int32_t> stream;  // tokens not yet in a block
  TokenExamples rows;
  rows.seq_len = seq_len;
  auto flush = [&] {
    if (rows.count == 0) return;
    sink(rows);
    rows.count = 0;
    rows.input_ids.clear();
    rows.labels.clear();
    rows.attention_mask.clear();
  };
  auto take_blocks = [&] {
    const int64_t blocks = static_cast<int64_t>(stream.size()) / seq_len;
    for (int64_t b = 0; b < blocks; ++b) {
      const auto first = stream.begin() + b * seq_len;
      rows.input_ids.insert(rows.input_ids.end(), first, first + seq_len);
      rows.labels.insert(rows.labels.end(), first, first + seq_len);
      rows.attention_mask.insert(rows.attention_mask.end(), seq_len, 1);
      ++rows.count;
      ++stats.examples;
      if (rows.count == kRowsPerAppend) flush();
    }
    stream.erase(stream.begin(), stream.begin() + blocks * seq_len);
  };
  for (const std::string_view article : split_wikitext_articles(text)) {
    const size_t before = stream.size();
    tokenizer.encode_into(article, stream, source);
    stream.push_back(tokenizer.eos_token_id());
    stats.tokens += static_cast<int64_t>(stream.size() - before);
    ++stats.documents;
    take_blocks();
  }
  flush();
  stats.dropped_tail_tokens = static_cast<int64_t>(stream.size());
  return stats;
}

}  // namespace zerotune::data
