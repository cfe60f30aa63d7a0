#include "zerotune/config/yaml_scalar.hpp"

#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <limits>

#include "zerotune/config/yaml_document.hpp"

using namespace zerotune::config;

namespace {

YamlNode plain(const std::string& text) {
  YamlNode node;
  node.text = text;
  return node;
}

YamlNode quoted(const std::string& text) {
  YamlNode node = plain(text);
  node.plain = false;
  return node;
}

// Writes a value, parses the text as the value of a YAML mapping and reads it back.
template <class T>
T round_trip(const T& value) {
  const YamlNode doc = parse_yaml("v: " + format_scalar(value) + "\n", "rt.yaml");
  T out{};
  BOOST_REQUIRE(read_scalar(*doc.find("v"), out));
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(yaml_scalar)

BOOST_AUTO_TEST_CASE(reads_plain_integers_only) {
  int64_t v = 0;
  BOOST_TEST((read_scalar(plain("42"), v) && v == 42));
  BOOST_TEST((read_scalar(plain("-7"), v) && v == -7));
  BOOST_TEST((read_scalar(plain("+5"), v) && v == 5));
  v = 99;
  for (const char* bad : {"eight", "8.0", "1e3", "0x10", "", "8 ", "99999999999999999999"}) {
    BOOST_TEST_CONTEXT(bad) { BOOST_TEST(!read_scalar(plain(bad), v)); }
  }
  BOOST_TEST(!read_scalar(quoted("8"), v));
  BOOST_TEST(v == 99);  // untouched on failure

  uint64_t u = 0;
  BOOST_TEST(
      (read_scalar(plain("18446744073709551615"), u) && u == std::numeric_limits<uint64_t>::max()));
  BOOST_TEST(!read_scalar(plain("-1"), u));
}

BOOST_AUTO_TEST_CASE(reads_decimal_numbers) {
  double d = 0;
  BOOST_TEST((read_scalar(plain("3e-5"), d) && d == 3e-5));
  BOOST_TEST((read_scalar(plain("2.0E-3"), d) && d == 2e-3));
  BOOST_TEST((read_scalar(plain("1"), d) && d == 1.0));
  BOOST_TEST((read_scalar(plain(".5"), d) && d == 0.5));
  BOOST_TEST((read_scalar(plain("+1.5"), d) && d == 1.5));
  BOOST_TEST((read_scalar(plain("-0.25"), d) && d == -0.25));
  for (const char* bad : {"abc", ".", "1e", "e5", ".inf", ".nan", "1e999", "1.2.3", "1,5"}) {
    BOOST_TEST_CONTEXT(bad) { BOOST_TEST(!read_scalar(plain(bad), d)); }
  }
  BOOST_TEST(!read_scalar(quoted("1.5"), d));
}

BOOST_AUTO_TEST_CASE(reads_core_schema_booleans_not_yaml11_words) {
  bool b = false;
  BOOST_TEST((read_scalar(plain("true"), b) && b));
  BOOST_TEST((read_scalar(plain("FALSE"), b) && !b));
  for (const char* bad : {"yes", "no", "on", "off", "1", "tru"}) {
    BOOST_TEST_CONTEXT(bad) { BOOST_TEST(!read_scalar(plain(bad), b)); }
  }
  BOOST_TEST(!read_scalar(quoted("true"), b));
}

BOOST_AUTO_TEST_CASE(reads_any_scalar_as_string_and_null_as_empty) {
  std::string s;
  BOOST_TEST((read_scalar(quoted("8"), s) && s == "8"));
  BOOST_TEST((read_scalar(plain("12"), s) && s == "12"));
  BOOST_TEST((read_scalar(plain("~"), s) && s.empty()));
  YamlNode mapping;
  mapping.kind = YamlNode::Kind::kMapping;
  BOOST_TEST(!read_scalar(mapping, s));
}

BOOST_AUTO_TEST_CASE(formats_values_that_read_back_equal) {
  for (double d : {3e-4, 0.1, 1e-8, 2.0, 0.0, -1.5, 1e300, 123456789.123456789}) {
    BOOST_TEST_CONTEXT(d) { BOOST_TEST(round_trip(d) == d); }
  }
  BOOST_TEST(format_scalar(2.0) == "2.0");
  BOOST_TEST(format_scalar(int64_t{-3}) == "-3");
  BOOST_TEST(round_trip(std::numeric_limits<uint64_t>::max()) ==
             std::numeric_limits<uint64_t>::max());
  BOOST_TEST(round_trip(true));
  BOOST_TEST(!round_trip(false));
  for (const std::string s :
       {"runs", "", "true", "no", "123", "1e5", "a: b", "# x", "- x", "quote\"back\\slash",
        "line\nbreak\ttab", "~", "data/wiki.h5", " lead", "\x01"}) {
    BOOST_TEST_CONTEXT(s) { BOOST_TEST(round_trip(s) == s); }
  }
  BOOST_TEST(format_scalar(std::string("data/wiki.h5")) == "data/wiki.h5");
  BOOST_TEST(format_scalar(std::string("yes")) == "\"yes\"");
}

BOOST_AUTO_TEST_SUITE_END()
