// zerotune tokenize: text lines -> GPT-2 token ids, or back with --decode.
#include <charconv>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "data_command_options.hpp"
#include "zerotune/base/error.hpp"
#include "zerotune/cli/data_commands.hpp"
#include "zerotune/data/bpe_tokenizer.hpp"
#include "zerotune/data/text_input.hpp"

namespace zerotune::cli {

namespace {

using namespace zerotune::data;

constexpr const char* kUsage =
    R"(usage: zerotune tokenize --tokenizer DIR [--input FILE] [--decode] [--jsonl] [--whole] [--stats]

Encodes each input line (without its newline) with GPT-2's byte-level BPE and prints one line of
space-separated token ids per input line; --decode reads such lines and prints the text.
Special tokens are not parsed: "<|endoftext|>" in the text is plain text.

options:
  --tokenizer DIR   directory with vocab.json and merges.txt
  --input FILE      read FILE instead of standard input
  --decode          ids -> text
  --jsonl           each text line is a JSON string (so texts may hold newlines); --decode
                    prints JSON strings (invalid UTF-8 from cut sequences becomes U+FFFD)
  --whole           the whole input is one text (one line of ids); with --decode all ids
                    decode to one text, printed as is
  --stats           print lines, bytes, tokens, encode/decode seconds and tokens_per_s on stderr
                    (tokenizer time only, single thread)
)";

// Lines of `text`: split at '\n' (a '\r' before it is dropped, so "\r\n" files read as "\n"
// files); a final '\n' does not start another line.
std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    if (line.ends_with('\r')) line.remove_suffix(1);
    lines.push_back(line);
    start = end + 1;
  }
  return lines;
}

std::vector<int32_t> parse_ids(std::string_view line, const std::string& where,
                               int64_t vocab_size) {
  std::vector<int32_t> ids;
  size_t i = 0;
  while (i < line.size()) {
    if (line[i] == ' ' || line[i] == '\t' || line[i] == '\r' || line[i] == '\n') {
      ++i;
      continue;
    }
    int64_t id = 0;
    const auto [end, error] = std::from_chars(line.data() + i, line.data() + line.size(), id);
    const size_t stop = line.find_first_of(" \t\r\n", i);
    const std::string_view word =
        line.substr(i, stop == std::string_view::npos ? line.npos : stop - i);
    if (error != std::errc() || end != word.data() + word.size()) {
      throw InputError(where + ": expected token ids separated by spaces, got \"" +
                       std::string(word) + "\"");
    }
    if (id < 0 || id >= vocab_size) {
      throw InputError(where + ": token id " + std::to_string(id) +
                       " is outside the vocabulary [0, " + std::to_string(vocab_size) + ")");
    }
    ids.push_back(static_cast<int32_t>(id));
    i += word.size();
  }
  return ids;
}

void append_ids(const int32_t* ids, size_t count, std::string& out) {
  char buffer[16];
  for (size_t i = 0; i < count; ++i) {
    if (i > 0) out += ' ';
    const auto result = std::to_chars(buffer, buffer + sizeof(buffer), ids[i]);
    out.append(buffer, result.ptr);
  }
}

}  // namespace

int run_tokenize_command(const std::vector<std::string>& args) {
  return run_tokenize_command(args, std::cin, std::cout, std::cerr);
}

int run_tokenize_command(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
                         std::ostream& err) {
  const DataCommandOptions options(args, "tokenize", {"--tokenizer", "--input"},
                                   {"--decode", "--jsonl", "--whole", "--stats"});
  if (options.help()) {
    out << kUsage;
    return 0;
  }
  const std::string dir = options.required("--tokenizer");
  const BpeTokenizer tokenizer = BpeTokenizer::from_directory(dir);
  const std::optional<std::string> input_path = options.value("--input");
  const std::string source = input_path && *input_path != "-" ? *input_path : "<stdin>";
  std::string input;
  if (source != "<stdin>") {
    input = read_file_bytes(source);
  } else {
    input.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  const bool decode = options.flag("--decode");
  const bool jsonl = options.flag("--jsonl");
  const bool whole = options.flag("--whole");
  if (jsonl && whole) throw InputError("tokenize: --jsonl and --whole do not go together");

  std::vector<std::string_view> lines =
      whole ? std::vector<std::string_view>{std::string_view(input)} : lines_of(input);
  std::string output;
  int64_t tokens = 0;
  double tokenizer_s = 0;
  auto timed = [&tokenizer_s](auto&& f) {
    const auto start = std::chrono::steady_clock::now();
    f();
    tokenizer_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  auto where = [&](size_t line) { return source + ":" + std::to_string(line + 1); };

  if (!decode) {
    if (!jsonl) check_utf8(input, source);  // names the line of a bad byte
    std::vector<std::string> json_texts;
    if (jsonl) {
      for (size_t i = 0; i < lines.size(); ++i) {
        const nlohmann::json value = parse_json(lines[i], where(i));
        if (!value.is_string()) throw InputError(where(i) + ": expected a JSON string");
        json_texts.push_back(value.get<std::string>());
      }
      lines.assign(json_texts.begin(), json_texts.end());
    }
    // Encode everything first (timed), then format.
    std::vector<int32_t> ids;
    std::vector<size_t> ends;
    ends.reserve(lines.size());
    timed([&] {
      for (size_t i = 0; i < lines.size(); ++i) {
        tokenizer.encode_into(lines[i], ids, source);
        ends.push_back(ids.size());
      }
    });
    tokens = static_cast<int64_t>(ids.size());
    output.reserve(ids.size() * 6);
    size_t begin = 0;
    for (size_t end : ends) {
      append_ids(ids.data() + begin, end - begin, output);
      output += '\n';
      begin = end;
    }
  } else {
    std::vector<std::vector<int32_t>> id_lines;
    for (size_t i = 0; i < lines.size(); ++i) {
      id_lines.push_back(parse_ids(lines[i], whole ? source : where(i), tokenizer.vocab_size()));
      tokens += static_cast<int64_t>(id_lines.back().size());
    }
    std::vector<std::string> texts(id_lines.size());
    timed([&] {
      for (size_t i = 0; i < id_lines.size(); ++i) texts[i] = tokenizer.decode(id_lines[i]);
    });
    for (const std::string& text : texts) {
      if (jsonl) {
        output +=
            nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      } else {
        output += text;
      }
      if (!whole) output += '\n';
    }
  }
  out.write(output.data(), static_cast<std::streamsize>(output.size()));
  out.flush();
  if (options.flag("--stats")) {
    char line[256];
    std::snprintf(line, sizeof(line),
                  "tokenize lines=%zu bytes=%zu tokens=%lld %s_s=%.6f tokens_per_s=%.0f\n",
                  lines.size(), input.size(), static_cast<long long>(tokens),
                  decode ? "decode" : "encode", tokenizer_s,
                  tokenizer_s > 0 ? static_cast<double>(tokens) / tokenizer_s : 0.0);
    err << line;
  }
  if (!out) throw_library_error("stdio", "write", "cannot write the output");
  return 0;
}

}  // namespace zerotune::cli
