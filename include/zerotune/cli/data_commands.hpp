// `zerotune prep` and `zerotune tokenize`. `args` exclude the program and command names.
// Both return the exit code (0), print usage on --help, and throw InputError (one line naming
// the file, line or option) for bad input, LibraryError for HDF5 / filesystem failures.
//
//   zerotune prep wikitext --input wiki.valid.raw --tokenizer DIR --out F.h5
//                          [--seq-len 1024] [--split NAME]
//   zerotune prep squad --input dev-v1.1.json --tokenizer DIR --out F.h5 [--seq-len 512]
//                       [--loss-on all|answer] [--max-samples N] [--split NAME]
//   zerotune tokenize --tokenizer DIR [--input FILE] [--decode] [--jsonl] [--whole] [--stats]
//
// prep prints one key=value line of counts and wall time on stdout; the output file appears
// only when everything succeeded (see token_file.hpp and prep.hpp for what it holds).
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace zerotune::cli {

int run_prep_command(const std::vector<std::string>& args);
int run_tokenize_command(const std::vector<std::string>& args);

// The same, on given streams (tests).
int run_prep_command(const std::vector<std::string>& args, std::ostream& out);
int run_tokenize_command(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
                         std::ostream& err);

}  // namespace zerotune::cli
