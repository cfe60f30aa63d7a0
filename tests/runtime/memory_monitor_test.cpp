// The memory monitor's CSV: the header names its seven columns in the documented order and
// every row fills all of them (the allocator peaks are 0 on the CPU, which has no pool).
#include "zerotune/runtime/memory_monitor.hpp"

#include <boost/test/unit_test.hpp>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "test_support.hpp"

using namespace zerotune::runtime;

namespace {
std::vector<std::string> split_csv(const std::string& line) {
  std::vector<std::string> fields;
  std::stringstream in(line);
  for (std::string field; std::getline(in, field, ',');) fields.push_back(field);
  return fields;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(memory_monitor)

BOOST_AUTO_TEST_CASE(csv_has_the_peak_columns_after_the_original_ones) {
  zerotune::testing::ScratchDir dir("monitor");
  const auto csv = dir.path() / "rank-00000.csv";
  {
    MemoryMonitor monitor(make_cpu_memory_probe(), csv,
                          60000);  // no periodic sample during the test
    monitor.set_step(3);
  }
  std::ifstream in(csv);
  std::string header, row;
  std::getline(in, header);
  BOOST_TEST(header ==
             "time_s,step,device_used_bytes,allocated_bytes,reserved_bytes,"
             "peak_allocated_bytes,peak_reserved_bytes");
  int rows = 0;
  std::string last_step;
  while (std::getline(in, row)) {
    const auto fields = split_csv(row);
    BOOST_REQUIRE(fields.size() == 7u);
    BOOST_TEST(std::stoll(fields[2]) > 0);  // the resident set of this process
    BOOST_TEST(fields[5] == "0");
    BOOST_TEST(fields[6] == "0");
    last_step = fields[1];
    ++rows;
  }
  BOOST_TEST(rows == 2);  // one sample at start, one at stop
  BOOST_TEST(last_step == "3");
}

BOOST_AUTO_TEST_SUITE_END()
