#include "zerotune/model/safetensors.hpp"

#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "input_error.hpp"
#include "test_support.hpp"
#include "zerotune/base/error.hpp"

using namespace zerotune;
using namespace zerotune::model;
using zerotune::testing::ScratchDir;
namespace fs = std::filesystem;

using zerotune::testing::input_error;

namespace {

// Writes a safetensors file byte by byte as the format describes it, independently of
// write_safetensors(): 8-byte little-endian header length, header JSON, raw data.
void write_raw(const fs::path& path, const std::string& header, const std::string& data) {
  std::ofstream out(path, std::ios::binary);
  const uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out.put(static_cast<char>((n >> (8 * i)) & 0xff));
  out << header << data;
}

template <typename Raw>
std::string bytes_of(std::initializer_list<Raw> values) {
  std::string s;
  for (Raw v : values) {
    char b[sizeof(Raw)];
    std::memcpy(b, &v, sizeof(Raw));
    s.append(b, sizeof(Raw));
  }
  return s;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(safetensors)

BOOST_AUTO_TEST_CASE(reads_every_float_dtype_from_hand_written_bytes) {
  ScratchDir dir("st");
  // F16: 1, -2, 65504 (max), 2^-24 (smallest subnormal), inf. BF16: 1, 3.140625, -0.
  // F64: 0.1. I32: -7, 123456. I64: 9.
  std::string data = bytes_of<uint16_t>({0x3c00, 0xc000, 0x7bff, 0x0001, 0x7c00});
  data += bytes_of<uint16_t>({0x3f80, 0x4049, 0x8000});
  data += bytes_of<double>({0.1});
  data += bytes_of<int32_t>({-7, 123456});
  data += bytes_of<int64_t>({9});
  data += bytes_of<float>({1.5f, -2.25f, 3.0f, 4.0f, 5.0f, 6.0f});
  const std::string header = R"({"h":{"dtype":"F16","shape":[5],"data_offsets":[0,10]},)"
                             R"("b":{"dtype":"BF16","shape":[3],"data_offsets":[10,16]},)"
                             R"("d":{"dtype":"F64","shape":[],"data_offsets":[16,24]},)"
                             R"("i":{"dtype":"I32","shape":[2],"data_offsets":[24,32]},)"
                             R"("l":{"dtype":"I64","shape":[1,1],"data_offsets":[32,40]},)"
                             R"("f":{"dtype":"F32","shape":[2,3],"data_offsets":[40,64]},)"
                             R"("__metadata__":{"format":"pt"}})";
  write_raw(dir / "a.safetensors", header, data);

  SafetensorsFile file(dir / "a.safetensors");
  BOOST_TEST(file.tensors().size() == 6u);
  BOOST_TEST(file.metadata().at("format") == "pt");
  BOOST_TEST(file.at("f").shape == (std::vector<int64_t>{2, 3}));
  BOOST_TEST(file.at("d").shape.empty());
  BOOST_TEST(file.at("d").numel == 1);

  const auto h = file.read_f32("h");
  BOOST_TEST(h[0] == 1.0f);
  BOOST_TEST(h[1] == -2.0f);
  BOOST_TEST(h[2] == 65504.0f);
  BOOST_TEST(h[3] == std::ldexp(1.0f, -24));
  BOOST_TEST(std::isinf(h[4]));
  const auto b = file.read_f64("b");
  BOOST_TEST(b[0] == 1.0);
  BOOST_TEST(b[1] == 3.140625);
  BOOST_TEST((b[2] == 0.0 && std::signbit(b[2])));
  BOOST_TEST(file.read_f64("d")[0] == 0.1);
  BOOST_TEST(file.read_f32("d")[0] == 0.1f);
  BOOST_TEST(file.read_i32("i") == (std::vector<int32_t>{-7, 123456}));
  BOOST_TEST(file.read_f32("i")[1] == 123456.0f);
  BOOST_TEST(file.read_i32("l")[0] == 9);
  BOOST_TEST(file.read_f32("f") == (std::vector<float>{1.5f, -2.25f, 3.0f, 4.0f, 5.0f, 6.0f}));
}

BOOST_AUTO_TEST_CASE(write_then_read_round_trips_and_leaves_no_temporary) {
  ScratchDir dir("st");
  const std::vector<float> a = {1.0f, -0.5f, 3.25f, 1e-30f, -7.0f, 8.0f};
  const std::vector<float> c = {42.0f};
  const std::vector<double> d = {0.1, -1e300};
  const std::vector<int32_t> i = {-100, 7, 2147483647};
  write_safetensors(dir / "w.safetensors",
                    {{"a", {3, 2}, a.data()},
                     {"empty", {0, 4}, static_cast<const float*>(nullptr)},
                     {"c", {}, c.data()},
                     {"d", {2}, d.data()},
                     {"i", {1, 3}, i.data()}},
                    {{"k", "v"}});
  BOOST_TEST(!fs::exists(dir / "w.safetensors.tmp"));

  SafetensorsFile file(dir / "w.safetensors");
  BOOST_TEST(file.metadata().at("k") == "v");
  BOOST_TEST(file.read_f32("a") == a);
  BOOST_TEST(file.read_f32("c") == c);
  BOOST_TEST(file.at("empty").numel == 0);
  BOOST_TEST(file.read_f64("d") == d);
  BOOST_TEST(std::string(dtype_name(file.at("d").dtype)) == "F64");
  BOOST_TEST(file.read_i32("i") == i);
  BOOST_TEST(std::string(dtype_name(file.at("i").dtype)) == "I32");
  BOOST_TEST(std::string(dtype_name(file.at("a").dtype)) == "F32");

  // The layout as the format fixes it: the header length, then JSON, data 8-byte aligned.
  const std::string raw = zerotune::testing::read_text_file(dir / "w.safetensors");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(raw[i]);
  BOOST_TEST((8 + n) % 8 == 0u);
  const auto header = nlohmann::json::parse(raw.substr(8, n));
  BOOST_TEST(header["a"]["dtype"] == "F32");
  BOOST_TEST(raw.size() == 8 + n + (a.size() + c.size() + i.size()) * 4 + d.size() * 8);
}

BOOST_AUTO_TEST_CASE(write_to_a_missing_directory_is_a_library_error) {
  ScratchDir dir("st");
  const float x = 1.0f;
  BOOST_CHECK_THROW(write_safetensors(dir / "no" / "such.safetensors", {{"x", {1}, &x}}),
                    LibraryError);
}

BOOST_AUTO_TEST_CASE(truncated_file_names_file_and_tensor) {
  ScratchDir dir("st");
  const std::vector<float> a(10, 1.0f), b(4, 2.0f);
  write_safetensors(dir / "t.safetensors", {{"first", {10}, a.data()}, {"second", {4}, b.data()}});
  fs::resize_file(dir / "t.safetensors", fs::file_size(dir / "t.safetensors") - 1);
  const std::string msg = input_error([&] { SafetensorsFile f(dir / "t.safetensors"); });
  BOOST_TEST(contains(msg, "t.safetensors"));
  BOOST_TEST(contains(msg, "\"second\""));
  BOOST_TEST(contains(msg, "truncated"));

  fs::resize_file(dir / "t.safetensors", 5);
  BOOST_TEST(contains(input_error([&] { SafetensorsFile f(dir / "t.safetensors"); }), "truncated"));
}

BOOST_AUTO_TEST_CASE(corrupt_headers_are_input_errors) {
  ScratchDir dir("st");
  const fs::path p = dir / "c.safetensors";
  const std::string eight(8, '\0');
  auto message = [&](const std::string& header, const std::string& data) {
    write_raw(p, header, data);
    return input_error([&] { SafetensorsFile f(p); });
  };
  BOOST_TEST(contains(message("{not json", ""), "not valid JSON"));
  BOOST_TEST(contains(message("[1, 2]", ""), "not a JSON object"));
  BOOST_TEST(contains(message(R"({"x":{"dtype":"Q7","shape":[2],"data_offsets":[0,8]}})", eight),
                      "unsupported dtype"));
  BOOST_TEST(contains(message(R"({"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", eight),
                      "needs 12"));
  BOOST_TEST(contains(message(R"({"x":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", eight),
                      "non-negative"));
  BOOST_TEST(contains(message(R"({"x":{"dtype":"F32","shape":[2]}})", eight), "data_offsets"));
  BOOST_TEST(contains(message(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                              R"("y":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}})",
                              eight),
                      "overlaps"));
  BOOST_TEST(
      contains(message(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", eight), "gap"));
  BOOST_TEST(contains(message(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", eight),
                      "4 bytes after the last tensor"));
  BOOST_TEST(contains(message(R"({"__metadata__":{"a":1}})", ""), "__metadata__.a"));

  // A header length past the end of the file.
  {
    std::ofstream out(p, std::ios::binary);
    const uint64_t n = 1000;
    out.write(reinterpret_cast<const char*>(&n), 8);
    out << "{}";
  }
  BOOST_TEST(contains(input_error([&] { SafetensorsFile f(p); }), "header length 1000"));
}

BOOST_AUTO_TEST_CASE(reading_names_the_tensor_on_misuse) {
  ScratchDir dir("st");
  write_raw(dir / "m.safetensors",
            R"({"big":{"dtype":"I64","shape":[1],"data_offsets":[0,8]},)"
            R"("u":{"dtype":"U8","shape":[8],"data_offsets":[8,16]}})",
            bytes_of<int64_t>({int64_t{1} << 40}) + std::string(8, '\x01'));
  SafetensorsFile file(dir / "m.safetensors");
  BOOST_TEST(contains(input_error([&] { file.read_i32("big"); }), "does not fit in int32"));
  BOOST_TEST(file.read_f64("big")[0] == std::ldexp(1.0, 40));
  BOOST_TEST(contains(input_error([&] { file.read_f32("u"); }), "U8"));
  BOOST_TEST(contains(input_error([&] { file.read_f32("nope"); }), "\"nope\": not in the file"));
  std::vector<float> wrong(3);
  BOOST_TEST(
      contains(input_error([&] { file.read("big", std::span<float>(wrong)); }), "expected 3"));
  BOOST_TEST(file.find("nope") == nullptr);
}

BOOST_AUTO_TEST_SUITE_END()
