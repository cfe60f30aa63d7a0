// Communicator over MPI for host buffers: MPI_Iallreduce, MPI_Ireduce_scatter_block,
// MPI_Iallgather, MPI_Ibcast. wait() polls MPI_Test so it can give up after the timeout:
// a peer that died (or hangs) turns into PeerFailure rather than a job that never ends.
#include "zerotune/comm/mpi_communicator.hpp"

#include <mpi.h>

#include <stdexcept>
#include <thread>

#include "zerotune/base/error.hpp"

namespace zerotune::comm {

namespace {

void check_mpi(int rc, const char* call) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  throw PeerFailure(std::string("MPI: ") + call + " failed: " + std::string(text, len));
}

MPI_Datatype mpi_type(DataType type) {
  switch (type) {
    case DataType::kFloat32:
      return MPI_FLOAT;
    case DataType::kFloat64:
      return MPI_DOUBLE;
    case DataType::kInt32:
      return MPI_INT32_T;
    case DataType::kInt64:
      return MPI_INT64_T;
    case DataType::kUint8:
      return MPI_UINT8_T;
    case DataType::kBFloat16:
    case DataType::kFloat16:
      return MPI_UINT16_T;  // moved as opaque 2-byte elements: MPI has no bf16/fp16 arithmetic
  }
  return MPI_DATATYPE_NULL;
}

// The MPI type of a reduction's elements: the 16-bit floats have none MPI can add.
MPI_Datatype mpi_reduction_type(DataType type, const char* call) {
  if (type == DataType::kBFloat16 || type == DataType::kFloat16) {
    throw std::invalid_argument(
        std::string("MPI transport: ") + call + " cannot reduce " +
        (type == DataType::kBFloat16 ? "bf16" : "fp16") +
        " elements (MPI has no 16-bit float arithmetic); reduce in fp32 or use the NCCL transport");
  }
  return mpi_type(type);
}

MPI_Op mpi_op(ReduceOp op) {
  switch (op) {
    case ReduceOp::kSum:
      return MPI_SUM;
    case ReduceOp::kMax:
      return MPI_MAX;
    case ReduceOp::kMin:
      return MPI_MIN;
  }
  return MPI_OP_NULL;
}

// MPI counts are int; our buffers can exceed that, so large collectives are split upstream.
int mpi_count(int64_t count) {
  if (count > INT32_MAX) throw std::length_error("MPI collective over 2^31 elements");
  return static_cast<int>(count);
}

class MpiRequest : public Request {
 public:
  MpiRequest(MPI_Request request, const char* call, std::chrono::seconds timeout)
      : request_(request), call_(call), timeout_(timeout) {}
  ~MpiRequest() override {
    // An abandoned request (exception unwinding: a peer timed out, another request of the
    // same batch failed). MPI_Request_free on a collective still in flight is fatal in MPICH
    // and would replace the job's own line and exit code by an MPI abort, so a request that
    // is not complete is left to MPI_Abort, which ends the job anyway.
    if (request_ != MPI_REQUEST_NULL) {
      int done = 0;
      MPI_Test(&request_, &done, MPI_STATUS_IGNORE);
    }
  }
  void wait() override {
    if (request_ == MPI_REQUEST_NULL) return;
    const auto deadline = std::chrono::steady_clock::now() + timeout_;
    auto pause = std::chrono::microseconds(1);
    int done = 0;
    while (true) {
      check_mpi(MPI_Test(&request_, &done, MPI_STATUS_IGNORE), call_);
      if (done) return;
      if (std::chrono::steady_clock::now() > deadline) {
        // The request is still active: freeing it (as the destructor would) is fatal in
        // MPICH and would replace this line and exit 4 by an MPI abort. It is left to
        // MPI_Abort, which ends the job anyway.
        request_ = MPI_REQUEST_NULL;
        throw PeerFailure(std::string("MPI: ") + call_ + " did not complete within " +
                          std::to_string(timeout_.count()) +
                          " s: a peer rank died or stopped answering");
      }
      std::this_thread::sleep_for(pause);
      if (pause < std::chrono::microseconds(500)) pause *= 2;
    }
  }

 private:
  MPI_Request request_;
  const char* call_;
  std::chrono::seconds timeout_;
};

class MpiCommunicator : public Communicator {
 public:
  MpiCommunicator(MPI_Comm base, const CommOptions& options) : options_(options) {
    check_mpi(MPI_Comm_dup(base, &comm_), "MPI_Comm_dup");
    // Errors come back as codes we turn into messages, never as a silent abort.
    MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
    MPI_Comm_rank(comm_, &rank_);
    MPI_Comm_size(comm_, &size_);
  }
  ~MpiCommunicator() override {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Comm_free(&comm_);
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  const char* transport() const override { return "mpi"; }
  void set_timeout(std::chrono::seconds timeout) override { options_.timeout = timeout; }
  std::chrono::seconds timeout() const override { return options_.timeout; }
  MPI_Comm mpi_comm() const { return comm_; }

  RequestPtr all_reduce(const void* send, void* recv, int64_t count, DataType type, ReduceOp op,
                        Stream*) override {
    MPI_Request r;
    check_mpi(MPI_Iallreduce(send == recv ? MPI_IN_PLACE : send, recv, mpi_count(count),
                             mpi_reduction_type(type, "all_reduce"), mpi_op(op), comm_, &r),
              "MPI_Iallreduce");
    return make(r, "MPI_Iallreduce");
  }

  RequestPtr reduce_scatter(const void* send, void* recv, int64_t recv_count, DataType type,
                            ReduceOp op, Stream*) override {
    MPI_Request r;
    check_mpi(MPI_Ireduce_scatter_block(send, recv, mpi_count(recv_count),
                                        mpi_reduction_type(type, "reduce_scatter"), mpi_op(op),
                                        comm_, &r),
              "MPI_Ireduce_scatter_block");
    return make(r, "MPI_Ireduce_scatter_block");
  }

  RequestPtr all_gather(const void* send, void* recv, int64_t send_count, DataType type,
                        Stream*) override {
    const char* in_place_at =
        static_cast<const char*>(recv) + rank_ * send_count * element_bytes(type);
    MPI_Request r;
    check_mpi(
        MPI_Iallgather(send == in_place_at ? MPI_IN_PLACE : send, mpi_count(send_count),
                       mpi_type(type), recv, mpi_count(send_count), mpi_type(type), comm_, &r),
        "MPI_Iallgather");
    return make(r, "MPI_Iallgather");
  }

  RequestPtr broadcast(void* buffer, int64_t count, DataType type, int root, Stream*) override {
    MPI_Request r;
    check_mpi(MPI_Ibcast(buffer, mpi_count(count), mpi_type(type), root, comm_, &r), "MPI_Ibcast");
    return make(r, "MPI_Ibcast");
  }

  void barrier() override {
    MPI_Request r;
    check_mpi(MPI_Ibarrier(comm_, &r), "MPI_Ibarrier");
    make(r, "MPI_Ibarrier")->wait();
  }

 private:
  RequestPtr make(MPI_Request r, const char* call) {
    return std::make_unique<MpiRequest>(r, call, options_.timeout);
  }

  CommOptions options_;
  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0;
  int size_ = 1;
};

}  // namespace

std::unique_ptr<Communicator> make_mpi_communicator(MPI_Comm base, const CommOptions& options) {
  return std::make_unique<MpiCommunicator>(base, options);
}

MPI_Comm mpi_comm_of(const Communicator& comm) {
  if (auto* mpi = dynamic_cast<const MpiCommunicator*>(&comm.host_transport())) {
    return mpi->mpi_comm();
  }
  throw std::invalid_argument(std::string("no MPI communicator behind transport ") +
                              comm.transport());
}

}  // namespace zerotune::comm
