// The NVML reader degrades instead of failing: a card that does not exist (or a host without
// libnvidia-ml.so.1, as on CI) gives available() == false and no reading.
#include "zerotune/runtime/nvml_memory.hpp"

#include <boost/test/unit_test.hpp>

using namespace zerotune::runtime;

BOOST_AUTO_TEST_SUITE(nvml_memory)

BOOST_AUTO_TEST_CASE(unknown_card_is_unavailable_not_an_error) {
  NvmlMemory nvml("ffff:ff:1f.7");
  BOOST_TEST(!nvml.available());
  BOOST_TEST(!nvml.used_bytes().has_value());
}

BOOST_AUTO_TEST_SUITE_END()
