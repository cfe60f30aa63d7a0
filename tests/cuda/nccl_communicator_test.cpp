// The NCCL transport on device buffers, at whatever world size mpiexec gives (CTest runs it
// alone and as gpu_nccl_np2): every collective against the same sums computed on the host,
// in fp32 and bf16, and the stream ordering that Request::wait() promises. Skipped where
// fewer GPUs than ranks are visible (one node: each rank takes its own GPU).
#if defined(ZEROTUNE_WITH_NCCL)

#include "zerotune/comm/nccl_communicator.hpp"

#include <mpi.h>

#include <boost/test/unit_test.hpp>
#include <cstring>
#include <memory>
#include <vector>

#include "zerotune/comm/mpi_communicator.hpp"
#include "zerotune/runtime/cuda_device.hpp"

using namespace zerotune;
using namespace zerotune::comm;

namespace {

int world_size() {
  int n = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &n);
  return n;
}

// Every rank sees the same answer on one node, so all ranks run or all skip.
struct EnoughGpus {
  boost::test_tools::assertion_result operator()(boost::unit_test::test_unit_id) const {
    boost::test_tools::assertion_result r(runtime::cuda_device_count() >= world_size());
    r.message() << "no CUDA device visible for each of " << world_size() << " ranks";
    return r;
  }
};

// The rank among the processes of this node (MPI's shared-memory split).
int node_local_rank() {
  MPI_Comm node;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
  int rank = 0;
  MPI_Comm_rank(node, &rank);
  MPI_Comm_free(&node);
  return rank;
}

// One device and communicator pair for the whole suite: NCCL setup takes a while.
struct Context {
  std::unique_ptr<Communicator> mpi = make_mpi_communicator();
  std::unique_ptr<runtime::Device> gpu =
      runtime::make_cuda_device(runtime::select_cuda_device(node_local_rank()));
  std::unique_ptr<Communicator> nccl = make_nccl_communicator(*mpi, *gpu);
};
Context* context = nullptr;

Context& ctx() {
  if (!context) context = new Context;
  return *context;
}

// Tears the context down before main() finalizes MPI.
struct ContextTeardown {
  ~ContextTeardown() {
    delete context;
    context = nullptr;
  }
};

// bf16 is the top half of an fp32. The test values are small integers, which bf16 holds
// exactly, so sums of them are exact too.
uint16_t to_bf16(float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, 4);
  return static_cast<uint16_t>(bits >> 16);
}
float from_bf16(uint16_t h) {
  const uint32_t bits = uint32_t(h) << 16;
  float v;
  std::memcpy(&v, &bits, 4);
  return v;
}

template <typename T>
runtime::DeviceBuffer<T> to_device(const std::vector<T>& host) {
  runtime::DeviceBuffer<T> buf(*ctx().gpu, static_cast<int64_t>(host.size()));
  ctx().gpu->copy(buf.data(), host.data(), buf.bytes());
  return buf;
}

// Copies to the host on the compute stream: correct only because wait() ordered it after
// the collective.
template <typename T>
std::vector<T> to_host(const runtime::DeviceBuffer<T>& buf) {
  std::vector<T> host(static_cast<size_t>(buf.size()));
  ctx().gpu->copy(host.data(), buf.data(), buf.bytes());
  return host;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(nccl_communicator, *boost::unit_test::precondition(EnoughGpus{}) *
                                             boost::unit_test::fixture<ContextTeardown>())

BOOST_AUTO_TEST_CASE(all_reduce_fp32_sums_in_place_and_out_of_place) {
  Communicator& c = *ctx().nccl;
  BOOST_TEST(c.transport() == std::string("nccl"));
  const int n = c.size(), r = c.rank(), len = 1000;
  std::vector<float> x(len), expected(len, 0.f);
  for (int i = 0; i < len; ++i) x[i] = float(r * 10 + i % 97);
  for (int q = 0; q < n; ++q)
    for (int i = 0; i < len; ++i) expected[i] += float(q * 10 + i % 97);
  auto a = to_device(x);
  runtime::DeviceBuffer<float> out(*ctx().gpu, len);
  c.all_reduce(a.data(), out.data(), len, DataType::kFloat32, ReduceOp::kSum)->wait();
  c.all_reduce(a.data(), a.data(), len, DataType::kFloat32, ReduceOp::kSum)->wait();
  BOOST_TEST(to_host(out) == expected, boost::test_tools::per_element());
  BOOST_TEST(to_host(a) == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(all_reduce_int32_max_and_min) {
  Communicator& c = *ctx().nccl;
  const int n = c.size(), r = c.rank();
  auto hi = to_device(std::vector<int32_t>{r, -r});
  auto lo = to_device(std::vector<int32_t>{r, -r});
  c.all_reduce(hi.data(), hi.data(), 2, DataType::kInt32, ReduceOp::kMax)->wait();
  c.all_reduce(lo.data(), lo.data(), 2, DataType::kInt32, ReduceOp::kMin)->wait();
  BOOST_TEST(to_host(hi) == (std::vector<int32_t>{n - 1, 0}), boost::test_tools::per_element());
  BOOST_TEST(to_host(lo) == (std::vector<int32_t>{0, 1 - n}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(reduce_scatter_fp32_gives_each_rank_its_summed_block) {
  Communicator& c = *ctx().nccl;
  const int n = c.size(), r = c.rank(), block = 257;
  std::vector<float> send(block * n), expected(block, 0.f);
  for (int i = 0; i < block * n; ++i) send[i] = float((r + 1) * 1000 + i);
  for (int q = 0; q < n; ++q)
    for (int j = 0; j < block; ++j) expected[j] += float((q + 1) * 1000 + r * block + j);
  auto s = to_device(send);
  runtime::DeviceBuffer<float> recv(*ctx().gpu, block);
  c.reduce_scatter(s.data(), recv.data(), block, DataType::kFloat32, ReduceOp::kSum)->wait();
  BOOST_TEST(to_host(recv) == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(all_gather_fp32_in_place_assembles_every_block) {
  Communicator& c = *ctx().nccl;
  const int n = c.size(), r = c.rank(), block = 129;
  std::vector<float> host(block * n, -1.f), expected(block * n);
  for (int j = 0; j < block; ++j) host[r * block + j] = float(r * 1000 + j);
  for (int q = 0; q < n; ++q)
    for (int j = 0; j < block; ++j) expected[q * block + j] = float(q * 1000 + j);
  auto buf = to_device(host);
  c.all_gather(buf.data() + r * block, buf.data(), block, DataType::kFloat32)->wait();
  BOOST_TEST(to_host(buf) == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(broadcast_fp32_from_the_last_rank) {
  Communicator& c = *ctx().nccl;
  const int n = c.size(), r = c.rank(), root = n - 1;
  std::vector<float> host(300), expected(300);
  for (int i = 0; i < 300; ++i) {
    host[i] = r == root ? float(i) * 0.5f : -7.f;
    expected[i] = float(i) * 0.5f;
  }
  auto buf = to_device(host);
  c.broadcast(buf.data(), 300, DataType::kFloat32, root)->wait();
  BOOST_TEST(to_host(buf) == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(bf16_collectives_match_host_sums) {
  Communicator& c = *ctx().nccl;
  const int n = c.size(), r = c.rank(), block = 64;
  auto value = [](int rank, int i) { return float((rank + 1) + i % 16); };  // < 32: exact sums
  std::vector<uint16_t> send(block * n);
  for (int i = 0; i < block * n; ++i) send[i] = to_bf16(value(r, i));

  // all_reduce (out of place) and reduce_scatter against host sums.
  auto s = to_device(send);
  runtime::DeviceBuffer<uint16_t> summed(*ctx().gpu, block * n), mine(*ctx().gpu, block);
  c.all_reduce(s.data(), summed.data(), block * n, DataType::kBFloat16, ReduceOp::kSum)->wait();
  c.reduce_scatter(s.data(), mine.data(), block, DataType::kBFloat16, ReduceOp::kSum)->wait();
  const auto all = to_host(summed), block_sum = to_host(mine);
  for (int i = 0; i < block * n; ++i) {
    float expected = 0.f;
    for (int q = 0; q < n; ++q) expected += value(q, i);
    BOOST_TEST(from_bf16(all[i]) == expected);
    if (i / block == r) BOOST_TEST(from_bf16(block_sum[i - r * block]) == expected);
  }

  // all_gather (out of place) and broadcast move bit patterns unchanged.
  std::vector<uint16_t> own(block);
  for (int j = 0; j < block; ++j) own[j] = to_bf16(value(r, j) * 0.125f);
  auto o = to_device(own);
  runtime::DeviceBuffer<uint16_t> gathered(*ctx().gpu, block * n);
  c.all_gather(o.data(), gathered.data(), block, DataType::kBFloat16)->wait();
  const auto g = to_host(gathered);
  for (int q = 0; q < n; ++q)
    for (int j = 0; j < block; ++j) BOOST_TEST(g[q * block + j] == to_bf16(value(q, j) * 0.125f));
  c.broadcast(o.data(), block, DataType::kBFloat16, 0)->wait();
  const auto b = to_host(o);
  for (int j = 0; j < block; ++j) BOOST_TEST(b[j] == to_bf16(value(0, j) * 0.125f));
}

// The collective must see what the compute stream wrote before it was issued, and work queued
// on the compute stream after wait() must see its result. Both copies are asynchronous and
// large, so either missing dependency shows as zeros (the buffers start zeroed).
BOOST_AUTO_TEST_CASE(collective_orders_after_prior_compute_work_and_wait_orders_later_work) {
  Communicator& c = *ctx().nccl;
  runtime::Device& gpu = *ctx().gpu;
  const int n = c.size();
  const int64_t len = int64_t(16) << 20;  // 64 MiB of floats
  std::vector<float> host(len);
  for (int64_t i = 0; i < len; ++i) host[i] = float(i % 1024 + 1);
  auto source = to_device(host);
  runtime::DeviceBuffer<float> input(gpu, len), reduced(gpu, len), copied(gpu, len);
  gpu.copy(input.data(), source.data(), input.bytes());  // queued on the compute stream
  auto request =
      c.all_reduce(input.data(), reduced.data(), len, DataType::kFloat32, ReduceOp::kSum);
  request->wait();                                           // returns without a host wait
  gpu.copy(copied.data(), reduced.data(), reduced.bytes());  // queued after the collective
  const auto back = to_host(copied);
  int64_t wrong = 0;
  for (int64_t i = 0; i < len; ++i) wrong += back[i] != host[i] * float(n);
  BOOST_TEST(wrong == 0);
}

BOOST_AUTO_TEST_CASE(requests_complete_in_any_wait_order_and_barrier_returns) {
  Communicator& c = *ctx().nccl;
  const int n = c.size();
  auto a = to_device(std::vector<float>(1000, 1.f));
  auto b = to_device(std::vector<float>(1000, 2.f));
  auto ra = c.all_reduce(a.data(), a.data(), 1000, DataType::kFloat32, ReduceOp::kSum);
  auto rb = c.all_reduce(b.data(), b.data(), 1000, DataType::kFloat32, ReduceOp::kSum);
  rb->wait();
  ra->wait();
  BOOST_TEST(to_host(a)[999] == float(n));
  BOOST_TEST(to_host(b)[0] == 2.f * float(n));
  c.barrier();
}

// Host values take the MPI transport underneath; mixing host and device buffers is refused.
BOOST_AUTO_TEST_CASE(host_buffers_go_through_mpi_and_mixed_ones_are_refused) {
  Communicator& c = *ctx().nccl;
  std::vector<float> host(4, 1.f);
  c.all_reduce(host.data(), host.data(), 4, DataType::kFloat32, ReduceOp::kSum)->wait();
  BOOST_TEST(host[3] == float(c.size()));
  BOOST_TEST(c.all_reduce_value<int64_t>(c.rank() + 1, ReduceOp::kSum) ==
             int64_t{c.size()} * (c.size() + 1) / 2);
  auto device = to_device(std::vector<float>(4, 1.f));
  BOOST_CHECK_THROW(c.all_reduce(host.data(), device.data(), 4, DataType::kFloat32, ReduceOp::kSum),
                    std::invalid_argument);
}

BOOST_AUTO_TEST_SUITE_END()

#endif  // ZEROTUNE_WITH_NCCL
