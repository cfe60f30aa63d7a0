// The one interface the ZeRO engine talks to. Two transports implement it: MPI for host
// buffers (CPU runs, CI) and NCCL for device buffers (GPU runs). Every collective is
// non-blocking and returns a Request to wait on; wait() is bounded by the communicator's
// timeout so a dead peer ends the job with PeerFailure instead of hanging it.
// Buffers must be sized for `world` equal shards where a collective splits them.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "zerotune/base/dtype.hpp"

namespace zerotune::comm {

// kBFloat16 and kFloat16 are the GPU compute dtypes. The NCCL transport reduces them; the MPI
// transport only moves them (all_gather, broadcast) and rejects reductions on them.
enum class DataType { kFloat32, kFloat64, kInt32, kInt64, kUint8, kBFloat16, kFloat16 };
enum class ReduceOp { kSum, kMax, kMin };

size_t element_bytes(DataType type);

template <typename T>
constexpr DataType data_type_of();
template <>
constexpr DataType data_type_of<float>() {
  return DataType::kFloat32;
}
template <>
constexpr DataType data_type_of<double>() {
  return DataType::kFloat64;
}
template <>
constexpr DataType data_type_of<int32_t>() {
  return DataType::kInt32;
}
template <>
constexpr DataType data_type_of<int64_t>() {
  return DataType::kInt64;
}
template <>
constexpr DataType data_type_of<uint8_t>() {
  return DataType::kUint8;
}

// The collective element type of a floating-point DType.
constexpr DataType data_type_of(DType dtype) {
  switch (dtype) {
    case DType::kBFloat16:
      return DataType::kBFloat16;
    case DType::kFloat16:
      return DataType::kFloat16;
    case DType::kFloat64:
      return DataType::kFloat64;
    case DType::kFloat32:
      break;
  }
  return DataType::kFloat32;
}

// A peer rank died or stopped answering within the timeout.
class PeerFailure : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Request {
 public:
  virtual ~Request() = default;
  virtual void wait() = 0;  // throws PeerFailure after the communicator's timeout
};
using RequestPtr = std::unique_ptr<Request>;

// Where work is queued. Host transports run in submission order; the NCCL transport maps it
// onto a cudaStream_t. nullptr means the communicator's default queue.
class Stream {
 public:
  virtual ~Stream() = default;
};

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual const char* transport() const = 0;

  // recv[i] = op over ranks of send[i]; send == recv is an in-place reduction.
  virtual RequestPtr all_reduce(const void* send, void* recv, int64_t count, DataType type,
                                ReduceOp op, Stream* stream = nullptr) = 0;
  // send holds size() blocks of recv_count; recv = op over ranks of block rank().
  virtual RequestPtr reduce_scatter(const void* send, void* recv, int64_t recv_count, DataType type,
                                    ReduceOp op, Stream* stream = nullptr) = 0;
  // recv holds size() blocks of send_count; block r = send of rank r. send may point at
  // recv + rank() * send_count (in place).
  virtual RequestPtr all_gather(const void* send, void* recv, int64_t send_count, DataType type,
                                Stream* stream = nullptr) = 0;
  virtual RequestPtr broadcast(void* buffer, int64_t count, DataType type, int root,
                               Stream* stream = nullptr) = 0;
  virtual void barrier() = 0;

  // The transport that serves host buffers (the MPI one behind a device transport; itself for
  // MPI), for callers that need MPI as such (parallel HDF5).
  virtual const Communicator& host_transport() const { return *this; }

  // How long wait() gives a collective before PeerFailure (comm.timeout_s); requests take
  // the value current when they start. Transports without a bounded wait ignore it.
  virtual void set_timeout(std::chrono::seconds /*timeout*/) {}
  virtual std::chrono::seconds timeout() const { return std::chrono::seconds(0); }

  // Typed blocking conveniences.
  template <typename T>
  T all_reduce_value(T value, ReduceOp op) {
    all_reduce(&value, &value, 1, data_type_of<T>(), op)->wait();
    return value;
  }
};

struct CommOptions {
  std::chrono::seconds timeout{600};  // a collective waiting longer means a peer is gone
  // NCCL only: pass NCCL's own start-up report (the topology, rings and trees it chose)
  // through to stdout, as NCCL_DEBUG=INFO NCCL_DEBUG_SUBSYS=INIT,GRAPH would, unless the
  // user set NCCL_DEBUG: their NCCL_* environment always wins.
  bool nccl_init_report = false;
};

// A longer (or shorter) timeout for a scope, e.g. while a checkpoint is written; the
// previous one comes back at the end of the scope.
class ScopedTimeout {
 public:
  ScopedTimeout(Communicator& comm, std::chrono::seconds timeout)
      : comm_(comm), previous_(comm.timeout()) {
    comm_.set_timeout(timeout);
  }
  ~ScopedTimeout() { comm_.set_timeout(previous_); }
  ScopedTimeout(const ScopedTimeout&) = delete;
  ScopedTimeout& operator=(const ScopedTimeout&) = delete;

 private:
  Communicator& comm_;
  std::chrono::seconds previous_;
};

// Waits for `request`, if there is one, and clears it (so a second call does nothing).
inline void finish(RequestPtr& request) {
  if (!request) return;
  request->wait();
  request.reset();
}

// Waits for every request in order and empties the list.
inline void wait_all(std::vector<RequestPtr>& requests) {
  for (auto& r : requests) r->wait();
  requests.clear();
}

// Every rank learns rank 0's string (host-side coordination: paths, error messages).
std::string broadcast_string(Communicator& comm, const std::string& value);

}  // namespace zerotune::comm
