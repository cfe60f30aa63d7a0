// Communicator over MPI at any world size: results against closed forms in the ranks.
#include <mpi.h>

#include <boost/test/unit_test.hpp>
#include <numeric>
#include <vector>

#include "zerotune/comm/mpi_communicator.hpp"

using namespace zerotune::comm;

BOOST_AUTO_TEST_SUITE(mpi_communicator)

BOOST_AUTO_TEST_CASE(all_reduce_sums_in_place_and_out_of_place) {
  auto comm = make_mpi_communicator();
  const int n = comm->size(), r = comm->rank();
  std::vector<float> x(5), y(5, -1.f);
  for (int i = 0; i < 5; ++i) x[i] = static_cast<float>(r * 10 + i);
  comm->all_reduce(x.data(), y.data(), 5, DataType::kFloat32, ReduceOp::kSum)->wait();
  comm->all_reduce(x.data(), x.data(), 5, DataType::kFloat32, ReduceOp::kSum)->wait();
  for (int i = 0; i < 5; ++i) {
    const float expected = 10.f * n * (n - 1) / 2 + static_cast<float>(i) * n;
    BOOST_TEST(y[i] == expected);
    BOOST_TEST(x[i] == expected);
  }
  BOOST_TEST(comm->all_reduce_value<int32_t>(r, ReduceOp::kMax) == n - 1);
}

BOOST_AUTO_TEST_CASE(reduce_scatter_gives_each_rank_its_summed_block) {
  auto comm = make_mpi_communicator();
  const int n = comm->size(), r = comm->rank();
  const int block = 3;
  std::vector<double> send(block * n), recv(block, 0.0);
  for (int i = 0; i < block * n; ++i) send[i] = (r + 1) * 1000.0 + i;
  comm->reduce_scatter(send.data(), recv.data(), block, DataType::kFloat64, ReduceOp::kSum)->wait();
  const double rank_sum = n * (n + 1) / 2 * 1000.0;
  for (int j = 0; j < block; ++j) BOOST_TEST(recv[j] == rank_sum + n * (r * block + j));
}

BOOST_AUTO_TEST_CASE(all_gather_in_place_assembles_every_block) {
  auto comm = make_mpi_communicator();
  const int n = comm->size(), r = comm->rank();
  const int block = 4;
  std::vector<float> buf(block * n, -1.f);
  for (int j = 0; j < block; ++j) buf[r * block + j] = static_cast<float>(r * 100 + j);
  comm->all_gather(buf.data() + r * block, buf.data(), block, DataType::kFloat32)->wait();
  for (int q = 0; q < n; ++q)
    for (int j = 0; j < block; ++j) BOOST_TEST(buf[q * block + j] == q * 100 + j);
}

BOOST_AUTO_TEST_CASE(broadcast_and_string_broadcast_reach_every_rank) {
  auto comm = make_mpi_communicator();
  int64_t v = comm->rank() == 0 ? 77 : 0;
  comm->broadcast(&v, 1, DataType::kInt64, 0)->wait();
  BOOST_TEST(v == 77);
  const std::string s = broadcast_string(*comm, comm->rank() == 0 ? "runs/job-12" : "");
  BOOST_TEST(s == "runs/job-12");
  comm->barrier();
}

BOOST_AUTO_TEST_CASE(outstanding_requests_complete_in_any_wait_order) {
  auto comm = make_mpi_communicator();
  std::vector<float> a(1000, 1.f), b(1000, 2.f);
  auto ra = comm->all_reduce(a.data(), a.data(), 1000, DataType::kFloat32, ReduceOp::kSum);
  auto rb = comm->all_reduce(b.data(), b.data(), 1000, DataType::kFloat32, ReduceOp::kSum);
  rb->wait();
  ra->wait();
  BOOST_TEST(a[999] == static_cast<float>(comm->size()));
  BOOST_TEST(b[0] == 2.f * comm->size());
}

// bf16/fp16 travel as opaque 2-byte elements: every bit pattern (NaN payloads included)
// arrives unchanged; a reduction on them is refused rather than done on integers.
BOOST_AUTO_TEST_CASE(sixteen_bit_floats_are_moved_bit_exactly_and_never_reduced) {
  auto comm = make_mpi_communicator();
  const int n = comm->size(), r = comm->rank();
  const int block = 3;
  std::vector<uint16_t> buf(block * n, 0);
  for (int j = 0; j < block; ++j) buf[r * block + j] = static_cast<uint16_t>(0x7fc1 + r * 7 + j);
  comm->all_gather(buf.data() + r * block, buf.data(), block, DataType::kBFloat16)->wait();
  for (int q = 0; q < n; ++q)
    for (int j = 0; j < block; ++j) BOOST_TEST(buf[q * block + j] == 0x7fc1 + q * 7 + j);
  uint16_t half = r == 0 ? 0xfbff : 0;  // fp16 -65504
  comm->broadcast(&half, 1, DataType::kFloat16, 0)->wait();
  BOOST_TEST(half == 0xfbff);
  BOOST_CHECK_THROW(
      comm->all_reduce(buf.data(), buf.data(), 1, DataType::kBFloat16, ReduceOp::kSum),
      std::invalid_argument);
  BOOST_CHECK_THROW(comm->reduce_scatter(buf.data(), &half, 1, DataType::kFloat16, ReduceOp::kMax),
                    std::invalid_argument);
  BOOST_TEST(element_bytes(DataType::kBFloat16) == 2u);
  BOOST_TEST(element_bytes(DataType::kFloat16) == 2u);
}

BOOST_AUTO_TEST_SUITE_END()
