#include "zerotune/base/quoted.hpp"

#include <boost/test/unit_test.hpp>
#include <string>

using zerotune::one_line;
using zerotune::quote_value;

BOOST_AUTO_TEST_SUITE(quoted)

BOOST_AUTO_TEST_CASE(short_values_are_quoted_whole) {
  BOOST_TEST(quote_value("eight") == "\"eight\"");
  BOOST_TEST(quote_value("") == "\"\"");
  BOOST_TEST(quote_value(std::string(64, 'a')) == "\"" + std::string(64, 'a') + "\"");
}

BOOST_AUTO_TEST_CASE(long_values_keep_a_prefix_and_their_length) {
  BOOST_TEST(quote_value(std::string(65, 'a')) == "\"" + std::string(64, 'a') + "...\" (65 bytes)");
  BOOST_TEST(quote_value(std::string(10 << 20, 'b')).size() < 100u);
}

BOOST_AUTO_TEST_CASE(control_bytes_and_quotes_are_escaped) {
  BOOST_TEST(quote_value("a\nb\tc\"d\\e\x1b[31m") == "\"a\\nb\\tc\\\"d\\\\e\\x1b[31m\"");
}

// "é" is two bytes (C3 A9); a cut at byte 64 falling between them keeps neither half.
BOOST_AUTO_TEST_CASE(the_cut_never_splits_a_utf8_character) {
  const std::string value = std::string(63, 'a') + "\xC3\xA9" + "zzz";
  BOOST_TEST(quote_value(value) == "\"" + std::string(63, 'a') + "...\" (68 bytes)");
}

BOOST_AUTO_TEST_CASE(one_line_escapes_newlines_and_cuts_long_messages) {
  BOOST_TEST(one_line("a\nb") == "a\\nb");
  BOOST_TEST(one_line("file: \"x\"") == "file: \"x\"");
  const std::string cut = one_line(std::string(5000, 'm'));
  BOOST_TEST(cut == std::string(2048, 'm') + "... (5000 bytes)");
}

BOOST_AUTO_TEST_SUITE_END()
