// References: FIPS 180-4 example digests, the sha256 values published in the shared data README.
#include "zerotune/data/text_input.hpp"

#include <boost/test/unit_test.hpp>

#include "test_support.hpp"
#include "zerotune/base/error.hpp"
#include "zerotune/data/sha256.hpp"

using namespace zerotune;
using namespace zerotune::data;
namespace zt = zerotune::testing;

BOOST_AUTO_TEST_SUITE(text_input)

BOOST_AUTO_TEST_CASE(sha256_matches_fips_examples) {
  BOOST_TEST(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  BOOST_TEST(sha256_hex("abc") ==
             "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  BOOST_TEST(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
             "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  BOOST_TEST(sha256_hex(std::string(1000000, 'a')) ==
             "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

BOOST_AUTO_TEST_CASE(sha256_of_shared_files_matches_readme) {
  const auto dir = zt::shared_data_dir();
  BOOST_TEST(sha256_hex(read_file_bytes((dir / "wikitext-2-raw" / "wiki.valid.raw").string())) ==
             "4cd0f6876d07a413aa911261ff6d363c72d757d47f0fdd6015702014c89cb9c7");
  BOOST_TEST(sha256_hex(read_file_bytes((dir / "squad-v1.1" / "dev-v1.1.json").string())) ==
             "95aa6a52d5d6a735563366753ca50492a658031da74f301ac5238b03966972c9");
}

BOOST_AUTO_TEST_CASE(sha256_is_independent_of_update_sizes) {
  const std::string text(1000, 'x');
  for (size_t step : {1, 3, 55, 56, 63, 64, 65, 999}) {
    Sha256 hash;
    for (size_t i = 0; i < text.size(); i += step) hash.update(text.substr(i, step));
    const auto whole = [&] {
      Sha256 h;
      h.update(text);
      return h.finish();
    }();
    BOOST_TEST((hash.finish() == whole));
  }
}

BOOST_AUTO_TEST_CASE(accepts_all_well_formed_utf8) {
  BOOST_TEST(!find_invalid_utf8("plain ascii, long enough for the 8-byte path").has_value());
  BOOST_TEST(
      !find_invalid_utf8("caf\xC3\xA9 \xE6\x88\xA6 \xF0\x9F\x99\x82 \xF4\x8F\xBF\xBF").has_value());
  BOOST_TEST(find_invalid_utf8("\x80").value() == 0u);
  BOOST_TEST(find_invalid_utf8("abcdefghij\xFF").value() == 10u);
}

BOOST_AUTO_TEST_CASE(positions_count_lines_and_columns) {
  const TextPosition p = text_position("ab\ncd\nef", 7);
  BOOST_TEST(p.line == 3);
  BOOST_TEST(p.column == 2);
}

BOOST_AUTO_TEST_CASE(strips_unicode_white_space) {
  BOOST_TEST(strip_unicode_space(" \t\xE3\x80\x80 x y\xC2\xA0\n") == "x y");
  BOOST_TEST(strip_unicode_space(" \n ").empty());
}

BOOST_AUTO_TEST_CASE(missing_file_is_named) {
  zt::ScratchDir dir("txt");
  const std::string path = (dir / "nope.txt").string();
  try {
    read_file_bytes(path);
    BOOST_FAIL("no error");
  } catch (const InputError& e) {
    BOOST_TEST(std::string(e.what()) == path + ": cannot read (No such file or directory)");
  }
}

BOOST_AUTO_TEST_CASE(directory_is_named_not_read) {
  zt::ScratchDir dir("txt");
  try {
    read_file_bytes(dir.path().string());
    BOOST_FAIL("no error");
  } catch (const InputError& e) {
    BOOST_TEST(std::string(e.what()) == dir.path().string() + ": is a directory, expected a file");
  }
}

BOOST_AUTO_TEST_CASE(line_endings_become_newlines) {
  std::string storage;
  const std::string_view plain = "a\nb\n";
  BOOST_TEST(with_unix_line_endings(plain, storage).data() == plain.data());  // no copy
  BOOST_TEST(with_unix_line_endings("a\r\nb\r\n", storage) == "a\nb\n");
  BOOST_TEST(with_unix_line_endings("a\rb\r\r\nc\r", storage) == "a\nb\n\nc\n");
}

// Well-formed JSON with a number past a double: an InputError naming the file.
BOOST_AUTO_TEST_CASE(json_number_past_a_double_is_named) {
  try {
    parse_json("{\"answer_start\": 1e999}", "big.json");
    BOOST_FAIL("no error");
  } catch (const InputError& e) {
    BOOST_TEST(std::string(e.what()).starts_with("big.json: unreadable JSON: number overflow"));
  }
}

BOOST_AUTO_TEST_SUITE_END()
