// zerotune prep wikitext|squad: raw text -> HDF5 token file.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "data_command_options.hpp"
#include "zerotune/base/error.hpp"
#include "zerotune/base/quoted.hpp"
#include "zerotune/cli/data_commands.hpp"
#include "zerotune/data/bpe_tokenizer.hpp"
#include "zerotune/data/prep.hpp"
#include "zerotune/data/sha256.hpp"
#include "zerotune/data/text_input.hpp"
#include "zerotune/data/token_file.hpp"

namespace zerotune::cli {

namespace {

namespace fs = std::filesystem;
using namespace zerotune::data;

constexpr const char* kUsage =
    R"(usage: zerotune prep wikitext --input FILE --tokenizer DIR --out FILE.h5 [options]
       zerotune prep squad --input FILE --tokenizer DIR --out FILE.h5 [options]

Tokenizes raw WikiText (wiki.*.raw) or SQuAD v1.1 JSON with GPT-2's byte-level BPE and writes
an HDF5 token file: /input_ids int32 [N, T], /labels int32 [N, T] (not shifted; -100 = no
loss), /attention_mask uint8 [N, T], and attributes (tokenizer, vocab_size, eos/pad ids,
seq_len, source name and sha256, split). The file appears only if everything succeeded.

  wikitext  articles (starting at " = Title = " lines) joined with <|endoftext|>, packed into
            blocks of T tokens; the last partial block is dropped.
  squad     one example per question: "Question: {q}\nContext: {c}\nAnswer: {a}<|endoftext|>",
            context truncated to fit T, right-padded with <|endoftext|> (mask 0, labels -100).

options:
  --input FILE        the raw file (wiki.valid.raw, dev-v1.1.json, ...)
  --tokenizer DIR     directory with vocab.json and merges.txt (GPT-2)
  --out FILE.h5       the token file to write
  --seq-len T         tokens per example (wikitext: 1024, squad: 512)
  --split NAME        train | validation | test ... (default: from the input name)
  --loss-on WHAT      squad: all (default) or answer (labels -100 on the prompt)
  --max-samples N     only N examples (squad: questions; wikitext: blocks of T tokens)
  --offset N          skip the first N examples first (default 0); with --max-samples it cuts
                      a train/eval pair from one file, e.g. --max-samples 2000 for train and
                      --offset 2000 --max-samples 200 for eval
)";

std::string default_split(const std::string& input) {
  const std::string name = fs::path(input).filename().string();
  if (name.find("train") != std::string::npos) return "train";
  if (name.find("valid") != std::string::npos || name.find("dev") != std::string::npos) {
    return "validation";
  }
  if (name.find("test") != std::string::npos) return "test";
  return "train";
}

BpeTokenizer load_tokenizer(const std::string& dir) {
  if (!fs::is_directory(dir)) {
    throw InputError(dir +
                     ": tokenizer directory does not exist (expected vocab.json and "
                     "merges.txt in it)");
  }
  return BpeTokenizer::from_directory(dir);
}

// The longest example prep writes: model.seq_len's bound (docs/config-reference.md).
constexpr int64_t kMaxPrepSeqLen = 1048576;

// prep reads the input whole before it writes, and writes to "<out>.tmp" then renames: an
// --out that is one of its inputs (or a directory) would replace what the user gave it to
// read. Compared by what the paths resolve to, so "./a.raw", "a.raw" and a link to it meet.
void check_output_is_not_an_input(const std::string& output,
                                  const std::vector<std::string>& inputs) {
  std::error_code ec;
  if (fs::is_directory(output, ec)) {
    throw InputError(output + ": --out is a directory, expected the token file's path");
  }
  const fs::path out = fs::weakly_canonical(output, ec);
  for (const std::string& input : inputs) {
    std::error_code input_ec;
    const fs::path in = fs::weakly_canonical(input, input_ec);
    if (!ec && !input_ec && out == in) {
      throw InputError(output + ": --out names an input of prep (" + input +
                       "); writing it would replace that input");
    }
  }
}

std::string seconds(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.3f", value);
  return text;
}

}  // namespace

int run_prep_command(const std::vector<std::string>& args) {
  return run_prep_command(args, std::cout);
}

int run_prep_command(const std::vector<std::string>& args, std::ostream& out) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    if (args.empty()) {
      throw InputError("prep: expected wikitext or squad (see zerotune prep --help)");
    }
    out << kUsage;
    return 0;
  }
  const std::string kind = args[0];
  if (kind != "wikitext" && kind != "squad") {
    throw InputError("prep: unknown dataset kind " + quote_value(kind) +
                     ": expected wikitext or squad (see zerotune prep --help)");
  }
  const bool squad = kind == "squad";
  std::set<std::string> valued = {"--input", "--tokenizer", "--out", "--seq-len", "--split"};
  valued.insert({"--max-samples", "--offset"});
  if (squad) valued.insert("--loss-on");
  const DataCommandOptions options(std::vector<std::string>(args.begin() + 1, args.end()),
                                   "prep " + kind, valued, {});
  if (options.help()) {
    out << kUsage;
    return 0;
  }
  const auto start = std::chrono::steady_clock::now();
  const std::string input = options.required("--input");
  const std::string tokenizer_dir = options.required("--tokenizer");
  const std::string output = options.required("--out");
  const int64_t seq_len = options.positive_int("--seq-len", squad ? 512 : 1024, kMaxPrepSeqLen);
  const std::string split = options.value("--split").value_or(default_split(input));
  LossOn loss_on = LossOn::kAll;
  if (const auto value = options.value("--loss-on")) {
    if (*value == "answer") {
      loss_on = LossOn::kAnswer;
    } else if (*value != "all") {
      throw InputError("prep squad: --loss-on: expected all or answer, got " + quote_value(*value));
    }
  }
  const int64_t max_samples = options.positive_int("--max-samples", -1);
  int64_t offset = 0;
  if (const auto text = options.value("--offset")) {
    offset = *text == "0" ? 0 : options.positive_int("--offset", 0);
  }

  check_output_is_not_an_input(output, {input, (fs::path(tokenizer_dir) / "vocab.json").string(),
                                        (fs::path(tokenizer_dir) / "merges.txt").string()});
  const BpeTokenizer tokenizer = load_tokenizer(tokenizer_dir);
  const std::string bytes = read_file_bytes(input);
  TokenFileInfo info;
  info.seq_len = seq_len;
  info.vocab_size = tokenizer.vocab_size();
  info.eos_token_id = tokenizer.eos_token_id();
  info.pad_token_id = tokenizer.eos_token_id();
  info.tokenizer = kGpt2TokenizerName;
  info.source = fs::path(input).filename().string();
  info.source_sha256 = sha256_hex(bytes);
  info.split = split;

  std::ostringstream report;
  report << "prep " << kind << " input=" << info.source;
  if (!squad) {
    check_utf8(bytes, input);  // before the output file exists
    TokenFileWriter writer(output, info);
    // Blocks [offset, offset + max_samples) of the packed stream.
    int64_t seen = 0, kept = 0;
    const WikitextPrepStats stats =
        prep_wikitext(bytes, input, tokenizer, seq_len, [&](const TokenExamples& rows) {
          const int64_t first = std::clamp<int64_t>(offset - seen, 0, rows.count);
          int64_t last = rows.count;
          if (max_samples > 0) last = std::clamp<int64_t>(first + max_samples - kept, first, last);
          seen += rows.count;
          if (last <= first) return;
          TokenExamples part;
          part.count = last - first;
          part.seq_len = rows.seq_len;
          const auto a = first * rows.seq_len, b = last * rows.seq_len;
          part.input_ids.assign(rows.input_ids.begin() + a, rows.input_ids.begin() + b);
          part.labels.assign(rows.labels.begin() + a, rows.labels.begin() + b);
          part.attention_mask.assign(rows.attention_mask.begin() + a,
                                     rows.attention_mask.begin() + b);
          kept += part.count;
          writer.append(part);
        });
    if (stats.examples == 0) {
      throw InputError(input + ": " + std::to_string(stats.tokens) +
                       " tokens do not fill one block of --seq-len " + std::to_string(seq_len));
    }
    if (kept == 0) {
      throw InputError("prep wikitext: --offset " + std::to_string(offset) +
                       ": the file has only " + std::to_string(stats.examples) +
                       " blocks of --seq-len " + std::to_string(seq_len));
    }
    writer.commit();
    report << " documents=" << stats.documents << " tokens=" << stats.tokens << " examples=" << kept
           << " blocks=" << stats.examples << " offset=" << offset << " seq_len=" << seq_len
           << " dropped_tail_tokens=" << stats.dropped_tail_tokens;
  } else {
    std::vector<SquadQuestion> questions = parse_squad_v1(bytes, input);
    const int64_t total_questions = static_cast<int64_t>(questions.size());
    if (offset >= total_questions && total_questions > 0) {
      throw InputError("prep squad: --offset " + std::to_string(offset) + ": the file has only " +
                       std::to_string(total_questions) + " questions");
    }
    questions.erase(questions.begin(), questions.begin() + std::min(offset, total_questions));
    if (max_samples > 0 && max_samples < static_cast<int64_t>(questions.size())) {
      questions.resize(max_samples);
    }
    if (questions.empty()) throw InputError(input + ": no questions");
    TokenFileWriter writer(output, info);
    const SquadPrepStats stats =
        prep_squad(questions, tokenizer, seq_len, loss_on,
                   [&writer](const TokenExamples& rows) { writer.append(rows); });
    writer.commit();
    report << " questions=" << total_questions << " examples=" << stats.examples
           << " tokens=" << stats.tokens << " loss_tokens=" << stats.loss_tokens
           << " padding_tokens=" << stats.padding_tokens << " seq_len=" << seq_len
           << " truncated_examples=" << stats.truncated_examples
           << " answer_truncated_examples=" << stats.answer_truncated_examples
           << " offset=" << offset << " loss_on=" << (loss_on == LossOn::kAll ? "all" : "answer");
  }
  const double wall_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  report << " split=" << split << " out=" << output << " wall_s=" << seconds(wall_s) << "\n";
  out << report.str() << std::flush;
  return 0;
}

}  // namespace zerotune::cli
