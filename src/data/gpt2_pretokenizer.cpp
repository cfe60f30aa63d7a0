#include "zerotune/data/gpt2_pretokenizer.hpp"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <stdexcept>
#include <string>

#include "zerotune/base/error.hpp"

namespace zerotune::data {

namespace {

std::string pcre2_message(int code) {
  PCRE2_UCHAR buffer[256];
  const int len = pcre2_get_error_message(code, buffer, sizeof(buffer));
  return len < 0 ? "error " + std::to_string(code) : reinterpret_cast<const char*>(buffer);
}

struct MatchDataDeleter {
  void operator()(pcre2_match_data* md) const { pcre2_match_data_free(md); }
};

}  // namespace

struct Gpt2PreTokenizer::Impl {
  pcre2_code* code = nullptr;
  ~Impl() { pcre2_code_free(code); }
};

Gpt2PreTokenizer::Gpt2PreTokenizer() : impl_(std::make_unique<Impl>()) {
  int error = 0;
  PCRE2_SIZE error_offset = 0;
  // ANCHORED: every match starts where the previous one ended (the pieces tile the text), so
  // the matcher never scans ahead.
  impl_->code =
      pcre2_compile(reinterpret_cast<PCRE2_SPTR>(kGpt2PreTokenizerPattern), PCRE2_ZERO_TERMINATED,
                    PCRE2_UTF | PCRE2_UCP | PCRE2_ANCHORED, &error, &error_offset, nullptr);
  if (!impl_->code) {
    throw_library_error("PCRE2", "pcre2_compile",
                        pcre2_message(error) + " at offset " + std::to_string(error_offset));
  }
  // JIT is an optimisation: where the platform lacks it, pcre2_match interprets the pattern.
  (void)pcre2_jit_compile(impl_->code, PCRE2_JIT_COMPLETE);
}

Gpt2PreTokenizer::~Gpt2PreTokenizer() = default;
Gpt2PreTokenizer::Gpt2PreTokenizer(Gpt2PreTokenizer&&) noexcept = default;
Gpt2PreTokenizer& Gpt2PreTokenizer::operator=(Gpt2PreTokenizer&&) noexcept = default;

void Gpt2PreTokenizer::split(std::string_view text, std::vector<std::string_view>& pieces) const {
  for_each_piece(text, [&pieces](std::string_view piece) { pieces.push_back(piece); });
}

void Gpt2PreTokenizer::for_each_piece(std::string_view text,
                                      const std::function<void(std::string_view)>& visit) const {
  if (text.empty()) return;
  // The pattern has one capture-free group set: two ovector slots are enough.
  std::unique_ptr<pcre2_match_data, MatchDataDeleter> match(pcre2_match_data_create(1, nullptr));
  if (!match) throw_library_error("PCRE2", "pcre2_match_data_create", "out of memory");
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(match.get());
  size_t offset = 0;
  while (offset < text.size()) {
    const int rc = pcre2_match(impl_->code, subject, text.size(), offset, PCRE2_NO_UTF_CHECK,
                               match.get(), nullptr);
    if (rc < 0) {
      // Cannot happen for valid UTF-8: some alternative matches every character.
      throw_library_error("PCRE2", "pcre2_match",
                          pcre2_message(rc) + " at byte offset " + std::to_string(offset));
    }
    const size_t end = ovector[1];
    if (ovector[0] != offset || end <= offset) {
      throw std::logic_error("GPT-2 pre-tokenizer: a match did not continue at offset " +
                             std::to_string(offset));
    }
    visit(text.substr(offset, end - offset));
    offset = end;
  }
}

}  // namespace zerotune::data
