// The CUDA device: buffers round-trip through GPU memory, zeroing works, and the memory
// probe sees what zerotune allocates. Skipped where no GPU is visible.
#include "zerotune/runtime/cuda_device.hpp"

#include <boost/test/unit_test.hpp>
#include <numeric>
#include <vector>

#include "zerotune/base/error.hpp"

using namespace zerotune::runtime;

namespace {
struct HasGpu {
  boost::test_tools::assertion_result operator()(boost::unit_test::test_unit_id) const {
    boost::test_tools::assertion_result r(cuda_device_count() > 0);
    r.message() << "no CUDA device visible";
    return r;
  }
};
}  // namespace

BOOST_AUTO_TEST_SUITE(cuda_device, *boost::unit_test::precondition(HasGpu{}))

BOOST_AUTO_TEST_CASE(buffer_round_trips_through_gpu_memory) {
  auto gpu = make_cuda_device(0);
  BOOST_TEST(!gpu->is_host());
  std::vector<float> host(1000), back(1000, -1.f);
  std::iota(host.begin(), host.end(), 0.5f);
  DeviceBuffer<float> buf(*gpu, 1000);
  gpu->copy(buf.data(), host.data(), buf.bytes());
  gpu->copy(back.data(), buf.data(), buf.bytes());
  BOOST_TEST(back == host, boost::test_tools::per_element());
  buf.zero();
  gpu->copy(back.data(), buf.data(), buf.bytes());
  BOOST_TEST(std::all_of(back.begin(), back.end(), [](float v) { return v == 0.f; }));
}

BOOST_AUTO_TEST_CASE(memory_probe_sees_allocations) {
  auto gpu = make_cuda_device(0);
  auto probe = make_cuda_memory_probe(0);
  const auto before = probe->sample();
  {
    DeviceBuffer<float> big(*gpu, 64 << 20);  // 256 MiB
    const auto during = probe->sample();
    BOOST_TEST(during.allocated_bytes - before.allocated_bytes == int64_t(256) << 20);
    BOOST_TEST(during.device_used_bytes - before.device_used_bytes >= int64_t(256) << 20);
  }
  BOOST_TEST(probe->sample().allocated_bytes == before.allocated_bytes);
}

BOOST_AUTO_TEST_CASE(a_failed_call_names_cuda_and_the_call) {
  auto gpu = make_cuda_device(0);
  BOOST_CHECK_EXCEPTION(gpu->allocate(size_t(1) << 60), zerotune::LibraryError,
                        [](const zerotune::LibraryError& e) {
                          return std::string(e.what()).find("cudaMalloc") != std::string::npos;
                        });
}

BOOST_AUTO_TEST_SUITE_END()
