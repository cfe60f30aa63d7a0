// The CUDA device's offload side: pinned host buffers, copies on the copy stream ordered after
// the compute stream's work, tickets that wait for them (also once the event ring wrapped),
// and compute_waits_for_copies ordering later compute-stream work after them. Skipped where
// no GPU is visible.
#include <cuda_runtime.h>

#include <boost/test/unit_test.hpp>
#include <cstring>
#include <vector>

#include "device_arrays.hpp"
#include "zerotune/runtime/cuda_device.hpp"

using namespace zerotune::runtime;
using zerotune::testing::HasGpu;

BOOST_AUTO_TEST_SUITE(cuda_offload_copy, *boost::unit_test::precondition(HasGpu{}))

BOOST_AUTO_TEST_CASE(pinned_host_buffers_are_page_locked_and_aligned) {
  auto gpu = make_cuda_device(0);
  HostBuffer<float> pinned(*gpu, 1000, true);
  cudaPointerAttributes attr{};
  BOOST_REQUIRE(cudaPointerGetAttributes(&attr, pinned.data()) == cudaSuccess);
  BOOST_TEST(attr.type == cudaMemoryTypeHost);
  BOOST_TEST(reinterpret_cast<uintptr_t>(pinned.data()) % Device::kHostAlignment == 0);
  HostBuffer<float> plain(*gpu, 1000, false);
  BOOST_TEST(reinterpret_cast<uintptr_t>(plain.data()) % Device::kHostAlignment == 0);
}

// Device work queued before copy_async (a zeroing, a device-to-device copy) is visible to
// the copy, and the copy back up is visible to compute-stream work queued after
// compute_waits_for_copies; tickets from well past the ring's size still wait correctly.
BOOST_AUTO_TEST_CASE(copies_follow_the_compute_stream_and_tickets_wait) {
  auto gpu = make_cuda_device(0);
  const int64_t n = int64_t(8) << 20;  // 32 MiB: long enough that a missing wait shows
  HostBuffer<float> up(*gpu, n, true), down(*gpu, n, true);
  for (int64_t i = 0; i < n; ++i) up.data()[i] = float(i % 977) + 0.5f;
  DeviceBuffer<float> a(*gpu, n), b(*gpu, n);
  for (int round = 0; round < 100; ++round) {   // > the 64 events of the ring
    gpu->copy(a.data(), up.data(), a.bytes());  // compute stream
    gpu->copy(b.data(), a.data(), a.bytes());   // async on the compute stream
    std::memset(down.data(), 0, down.bytes());
    const uint64_t ticket = gpu->copy_async(down.data(), b.data(), b.bytes());
    BOOST_REQUIRE(ticket > 0);
    gpu->wait_copy(ticket);
    BOOST_REQUIRE(std::memcmp(down.data(), up.data(), up.bytes()) == 0);
  }
  // Up on the copy stream, then the compute stream reads it after compute_waits_for_copies.
  for (int64_t i = 0; i < n; ++i) up.data()[i] = float(i % 31) - 3.0f;
  gpu->copy_async(a.data(), up.data(), a.bytes());
  gpu->compute_waits_for_copies();
  gpu->copy(b.data(), a.data(), a.bytes());
  std::vector<float> back(n);
  gpu->copy(back.data(), b.data(), b.bytes());
  BOOST_TEST(std::memcmp(back.data(), up.data(), up.bytes()) == 0);
}

BOOST_AUTO_TEST_SUITE_END()
