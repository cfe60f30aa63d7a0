// The CUDA device: buffers round-trip through GPU memory, zeroing and copies keep the order
// of the compute stream, the pool's counters see what zerotune allocates, and running out of
// memory says what to change. Skipped where no GPU is visible.
#include "zerotune/runtime/cuda_device.hpp"

#include <cuda_runtime.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <numeric>
#include <string>
#include <vector>

#include "device_arrays.hpp"
#include "zerotune/base/error.hpp"

using namespace zerotune::runtime;
using zerotune::testing::HasGpu;

namespace {
bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(cuda_device, *boost::unit_test::precondition(HasGpu{}))

BOOST_AUTO_TEST_CASE(buffer_round_trips_through_gpu_memory) {
  auto gpu = make_cuda_device(0);
  BOOST_TEST(!gpu->is_host());
  BOOST_TEST(gpu->native_stream() != nullptr);
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

// A chain of asynchronous operations on large buffers: if any of them ran outside the compute
// stream's order, a later one would read data an earlier one had not yet written.
BOOST_AUTO_TEST_CASE(async_copies_and_zeroing_keep_stream_order) {
  auto gpu = make_cuda_device(0);
  const int64_t n = int64_t(32) << 20;  // 128 MiB of floats: long enough to overlap if unordered
  std::vector<float> host(n);
  for (int64_t i = 0; i < n; ++i) host[i] = float(i % 1000) + 0.25f;
  DeviceBuffer<float> a(*gpu, n), b(*gpu, n), c(*gpu, n);
  gpu->copy(a.data(), host.data(), a.bytes());
  gpu->copy(b.data(), a.data(), a.bytes());  // async
  a.zero();                                  // async, must come after b's read of a
  gpu->copy(c.data(), b.data(), b.bytes());  // async, must see b's new contents
  std::vector<float> back(n, -1.f);
  gpu->copy(back.data(), c.data(), c.bytes());
  BOOST_TEST(std::equal(back.begin(), back.end(), host.begin()));
  gpu->copy(back.data(), a.data(), a.bytes());
  BOOST_TEST(std::all_of(back.begin(), back.end(), [](float v) { return v == 0.f; }));
  gpu->synchronize();
}

BOOST_AUTO_TEST_CASE(pool_counters_see_an_allocation_and_its_free) {
  auto gpu = make_cuda_device(0);
  auto probe = make_cuda_memory_probe(0);
  gpu->synchronize();
  probe->reset_peak();
  const auto before = probe->sample();
  const int64_t bytes = int64_t(256) << 20;
  {
    DeviceBuffer<float> big(*gpu, bytes / 4, "test buffer");
    gpu->synchronize();  // the pool counts the allocation once the stream has reached it
    const auto during = probe->sample();
    BOOST_TEST(during.allocated_bytes - before.allocated_bytes >= bytes);
    BOOST_TEST(during.reserved_bytes >= during.allocated_bytes);
    BOOST_TEST(during.peak_allocated_bytes >= during.allocated_bytes);
    BOOST_TEST(during.device_used_bytes >= bytes);
  }
  gpu->synchronize();
  const auto after = probe->sample();
  BOOST_TEST(after.allocated_bytes == before.allocated_bytes);
  BOOST_TEST(after.peak_allocated_bytes - before.allocated_bytes >= bytes);  // the peak stays
  // The release threshold keeps the freed memory in the pool for the next step.
  BOOST_TEST(after.reserved_bytes - before.allocated_bytes >= bytes);
  BOOST_TEST(after.peak_reserved_bytes >= after.reserved_bytes);
  probe->reset_peak();
  BOOST_TEST(probe->sample().peak_allocated_bytes < after.peak_allocated_bytes);
}

BOOST_AUTO_TEST_CASE(out_of_memory_names_the_purpose_and_the_remedy) {
  auto gpu = make_cuda_device(0);
  BOOST_CHECK_EXCEPTION(gpu->allocate(size_t(1) << 50, "unit 7 parameters"), OutOfDeviceMemory,
                        [](const OutOfDeviceMemory& e) {
                          const std::string m = e.what();
                          BOOST_TEST_MESSAGE(m);
                          return contains(m, "unit 7 parameters") && contains(m, "zero.stage") &&
                                 contains(m, "1048576.00 GiB") && m.find('\n') == std::string::npos;
                        });
  // The failure left no error behind: the next operations work.
  BOOST_TEST(cudaGetLastError() == cudaSuccess);
  DeviceBuffer<int> small(*gpu, 16);
  std::vector<int> back(16, -1);
  gpu->copy(back.data(), small.data(), small.bytes());
  BOOST_TEST(std::all_of(back.begin(), back.end(), [](int v) { return v == 0; }));
}

BOOST_AUTO_TEST_CASE(device_buffer_passes_its_purpose) {
  auto gpu = make_cuda_device(0);
  BOOST_CHECK_EXCEPTION(
      DeviceBuffer<float>(*gpu, int64_t(1) << 48, "activations"), OutOfDeviceMemory,
      [](const OutOfDeviceMemory& e) { return contains(e.what(), "activations"); });
}

BOOST_AUTO_TEST_CASE(describes_the_card_and_selects_by_local_rank) {
  const std::string line = describe_cuda_device(0);
  BOOST_TEST_MESSAGE(line);
  BOOST_TEST(contains(line, " sm_"));
  BOOST_TEST(contains(line, " memory="));
  BOOST_TEST(contains(line, " driver="));
  BOOST_TEST(contains(line, " pci="));
  const int count = cuda_device_count();
  BOOST_TEST(select_cuda_device(0) == 0);
  BOOST_TEST(select_cuda_device(count) == 0);
  BOOST_TEST(select_cuda_device(count + 1) == 1 % count);
}

BOOST_AUTO_TEST_SUITE_END()
