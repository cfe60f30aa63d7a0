// Communicator over NCCL for device buffers (see nccl_communicator.hpp for the stream and
// failure model). The communicator is created in NCCL's non-blocking mode so that no NCCL
// call can block the host for ever: a call that returns ncclInProgress is finished in the
// background and awaited here with ncclCommGetAsyncError, bounded by the timeout.
#include "zerotune/comm/nccl_communicator.hpp"

#include "zerotune/base/error.hpp"

#if defined(ZEROTUNE_WITH_CUDA) && defined(ZEROTUNE_WITH_NCCL)

#include <cuda_runtime.h>
#include <nccl.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <initializer_list>
#include <mutex>
#include <string>
#include <thread>

#include "../cuda/cuda_check.cuh"
#include "nccl_check.hpp"
#include "nccl_watchdog.hpp"

namespace zerotune::comm {

namespace {

ncclDataType_t nccl_type(DataType type) {
  switch (type) {
    case DataType::kFloat32:
      return ncclFloat32;
    case DataType::kFloat64:
      return ncclFloat64;
    case DataType::kInt32:
      return ncclInt32;
    case DataType::kInt64:
      return ncclInt64;
    case DataType::kUint8:
      return ncclUint8;
    case DataType::kBFloat16:
      return ncclBfloat16;
    case DataType::kFloat16:
      return ncclFloat16;
  }
  throw std::invalid_argument("NCCL transport: unknown DataType");
}

const char* type_name(DataType type) {
  switch (type) {
    case DataType::kFloat32:
      return "fp32";
    case DataType::kFloat64:
      return "fp64";
    case DataType::kInt32:
      return "int32";
    case DataType::kInt64:
      return "int64";
    case DataType::kUint8:
      return "uint8";
    case DataType::kBFloat16:
      return "bf16";
    case DataType::kFloat16:
      return "fp16";
  }
  return "?";
}

ncclRedOp_t nccl_op(ReduceOp op) {
  switch (op) {
    case ReduceOp::kSum:
      return ncclSum;
    case ReduceOp::kMax:
      return ncclMax;
    case ReduceOp::kMin:
      return ncclMin;
  }
  throw std::invalid_argument("NCCL transport: unknown ReduceOp");
}

// The compute stream waits on it: returns at once, no host wait.
class NcclRequest : public Request {
 public:
  NcclRequest(std::shared_ptr<CudaEvent> done, cudaStream_t compute)
      : done_(std::move(done)), compute_(compute) {}
  void wait() override {
    if (!done_) return;
    ZT_CUDA_CHECK(cudaStreamWaitEvent(compute_, done_->get(), 0));
    done_.reset();
  }

 private:
  std::shared_ptr<CudaEvent> done_;
  cudaStream_t compute_;
};

// What rank 0 broadcasts: whether it made the id, and the id.
struct UniqueIdMessage {
  uint8_t ok = 0;
  ncclUniqueId id{};
};

class NcclCommunicator : public Communicator {
 public:
  NcclCommunicator(Communicator& mpi, runtime::Device& device, CommOptions options)
      : mpi_(mpi),
        options_(options),
        rank_(mpi.rank()),
        size_(mpi.size()),
        compute_(static_cast<cudaStream_t>(device.native_stream())),
        device_(device) {
    if (!compute_) {
      throw std::invalid_argument(std::string("NCCL transport needs a CUDA device, got ") +
                                  device.name());
    }
    ZT_CUDA_CHECK(cudaGetDevice(&ordinal_));
    create_communicator(mpi);
    try {
      int least = 0, greatest = 0;  // CUDA: a numerically lower priority runs first
      ZT_CUDA_CHECK(cudaDeviceGetStreamPriorityRange(&least, &greatest));
      ZT_CUDA_CHECK(cudaStreamCreateWithPriority(&stream_, cudaStreamNonBlocking, greatest));
      ZT_CUDA_CHECK(cudaEventCreateWithFlags(&ready_, cudaEventDisableTiming));
      barrier_scratch_ = device_.allocate(sizeof(int32_t), "NCCL barrier scratch");
      device_.fill_zero(barrier_scratch_, sizeof(int32_t));
      watchdog_ = std::make_unique<NcclWatchdog>(comm_, ordinal_, rank_, options_.timeout);
    } catch (...) {
      // No destructor runs for a half-built object: release what exists.
      ncclCommAbort(comm_);
      if (barrier_scratch_) device_.deallocate(barrier_scratch_, sizeof(int32_t));
      if (ready_) cudaEventDestroy(ready_);
      if (stream_) cudaStreamDestroy(stream_);
      throw;
    }
  }

  ~NcclCommunicator() override {
    // The watchdog stays up while outstanding collectives drain, so a dead peer cannot hang
    // this destructor either. Nothing here throws.
    if (stream_) cudaStreamSynchronize(stream_);
    watchdog_.reset();
    if (barrier_scratch_) device_.deallocate(barrier_scratch_, sizeof(int32_t));
    if (comm_) {
      const ncclResult_t started = ncclCommFinalize(comm_);
      const bool finalized =
          (started == ncclSuccess || started == ncclInProgress) && settled(options_.timeout);
      if (finalized) {
        ncclCommDestroy(comm_);
      } else {
        ncclCommAbort(comm_);
      }
    }
    if (ready_) cudaEventDestroy(ready_);
    if (stream_) cudaStreamDestroy(stream_);
  }
  NcclCommunicator(const NcclCommunicator&) = delete;
  NcclCommunicator& operator=(const NcclCommunicator&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  const char* transport() const override { return "nccl"; }
  const Communicator& host_transport() const override { return mpi_; }
  // Host values wait through MPI: its bound is the one a checkpoint lengthens. Device
  // collectives keep the watchdog's bound from creation.
  void set_timeout(std::chrono::seconds timeout) override { mpi_.set_timeout(timeout); }
  std::chrono::seconds timeout() const override { return mpi_.timeout(); }

  RequestPtr all_reduce(const void* send, void* recv, int64_t count, DataType type, ReduceOp op,
                        Stream*) override {
    if (on_host("all_reduce", {send, recv})) {
      return mpi_.all_reduce(send, recv, count, type, op);
    }
    return launch(describe("all_reduce", count, type), [&] {
      return ZT_NCCL_CHECK(ncclAllReduce(send, recv, static_cast<size_t>(count), nccl_type(type),
                                         nccl_op(op), comm_, stream_));
    });
  }

  RequestPtr reduce_scatter(const void* send, void* recv, int64_t recv_count, DataType type,
                            ReduceOp op, Stream*) override {
    if (on_host("reduce_scatter", {send, recv})) {
      return mpi_.reduce_scatter(send, recv, recv_count, type, op);
    }
    return launch(describe("reduce_scatter", recv_count, type), [&] {
      return ZT_NCCL_CHECK(ncclReduceScatter(send, recv, static_cast<size_t>(recv_count),
                                             nccl_type(type), nccl_op(op), comm_, stream_));
    });
  }

  RequestPtr all_gather(const void* send, void* recv, int64_t send_count, DataType type,
                        Stream*) override {
    // NCCL itself recognises send == recv + rank * send_count as in place.
    if (on_host("all_gather", {send, recv})) return mpi_.all_gather(send, recv, send_count, type);
    return launch(describe("all_gather", send_count, type), [&] {
      return ZT_NCCL_CHECK(ncclAllGather(send, recv, static_cast<size_t>(send_count),
                                         nccl_type(type), comm_, stream_));
    });
  }

  RequestPtr broadcast(void* buffer, int64_t count, DataType type, int root, Stream*) override {
    if (on_host("broadcast", {buffer})) return mpi_.broadcast(buffer, count, type, root);
    return launch(describe("broadcast", count, type), [&] {
      return ZT_NCCL_CHECK(ncclBroadcast(buffer, buffer, static_cast<size_t>(count),
                                         nccl_type(type), root, comm_, stream_));
    });
  }

  // An all-reduce of one int, then a host wait on the communication stream: when it returns,
  // every rank has reached the barrier and all GPU work queued before it (compute and
  // collectives) has finished here. An MPI barrier would only say that the hosts got there.
  // Bounded by the watchdog like any collective.
  void barrier() override {
    launch("barrier", [&] {
      return ZT_NCCL_CHECK(
          ncclAllReduce(barrier_scratch_, barrier_scratch_, 1, ncclInt32, ncclSum, comm_, stream_));
    });
    ZT_CUDA_CHECK(cudaStreamSynchronize(stream_));
  }

 private:
  void create_communicator(Communicator& mpi) {
    // NCCL reads its environment once, at its first call that needs it: set it before.
    if (options_.nccl_init_report) request_init_report();
    UniqueIdMessage message;
    std::string rank0_error;
    if (rank_ == 0) {
      try {
        ZT_NCCL_CHECK(ncclGetUniqueId(&message.id));
        message.ok = 1;
      } catch (const LibraryError& e) {
        rank0_error = e.what();  // broadcast the failure first, so no rank waits for an id
      }
    }
    mpi.broadcast(&message, sizeof(message), DataType::kUint8, 0)->wait();
    if (!message.ok) {
      throw LibraryError(rank_ == 0 ? rank0_error
                                    : "NCCL: rank 0 could not create the communicator's "
                                      "unique id (see rank 0's error)");
    }
    ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
    config.blocking = 0;
    ZT_NCCL_CHECK(ncclCommInitRankConfig(&comm_, size_, message.id, rank_, &config));
    settle("ncclCommInitRankConfig");
  }

  // NCCL_DEBUG=INFO with NCCL_DEBUG_SUBSYS=INIT,GRAPH: NCCL prints, per rank, the devices and
  // links it found and the rings and trees it built. A user's NCCL_DEBUG (any value) or
  // NCCL_DEBUG_SUBSYS is left as it is.
  static void request_init_report() {
    if (std::getenv("NCCL_DEBUG") != nullptr) return;
    setenv("NCCL_DEBUG", "INFO", 0);
    setenv("NCCL_DEBUG_SUBSYS", "INIT,GRAPH", 0);
  }

  // Waits for a call that returned ncclInProgress to finish, up to the timeout. A collective
  // in non-blocking mode usually settles within microseconds: poll with yields first and
  // back off to 1 ms sleeps only after that (a fixed 1 ms sleep cost every collective a
  // millisecond of host time, exposed wherever the GPU ran short kernels meanwhile).
  void settle(const char* call) {
    const auto deadline = std::chrono::steady_clock::now() + options_.timeout;
    auto pause = std::chrono::microseconds(0);
    while (true) {
      ncclResult_t state = ncclInProgress;
      ZT_NCCL_CHECK(ncclCommGetAsyncError(comm_, &state));
      if (state == ncclSuccess) return;
      if (state != ncclInProgress) {
        const std::string detail = ncclGetLastError(comm_);
        abort_communicator();  // a communicator in error can only be aborted
        const std::string line = std::string("NCCL: ") + call + " failed on rank " +
                                 std::to_string(rank_) + ": " + ncclGetErrorString(state) + " (" +
                                 detail + ")";
        // A peer that died or a broken link: the same failure the watchdog reports (exit 4),
        // whichever thread sees it first.
        if (state == ncclRemoteError || state == ncclSystemError) throw PeerFailure(line);
        throw LibraryError(line);
      }
      if (std::chrono::steady_clock::now() > deadline) {
        abort_communicator();
        throw PeerFailure(std::string("NCCL: ") + call + " on rank " + std::to_string(rank_) +
                          " did not complete within " + std::to_string(options_.timeout.count()) +
                          " s: a peer rank died or stopped answering");
      }
      if (pause.count() == 0) {
        std::this_thread::yield();
      } else {
        std::this_thread::sleep_for(pause);
      }
      pause = std::min<std::chrono::microseconds>(2 * pause + std::chrono::microseconds(1),
                                                  std::chrono::milliseconds(1));
    }
  }

  // The watchdog must not poll a communicator that is gone; later collectives are refused.
  void abort_communicator() {
    watchdog_.reset();
    ncclCommAbort(comm_);
    comm_ = nullptr;
  }

  // settle() for the destructor: true when the pending call finished cleanly.
  bool settled(std::chrono::seconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    ncclResult_t state = ncclInProgress;
    while (ncclCommGetAsyncError(comm_, &state) == ncclSuccess && state == ncclInProgress &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return state == ncclSuccess;
  }

  // Queues `nccl_call` on the communication stream after the compute stream's work so far,
  // and records its completion for the Request and the watchdog.
  template <typename Call>
  RequestPtr launch(std::string operation, Call&& nccl_call) {
    std::lock_guard<std::mutex> lock(issue_mutex_);
    if (!comm_) {
      throw LibraryError("NCCL: " + operation + " on rank " + std::to_string(rank_) +
                         ": the communicator was aborted after an earlier failure");
    }
    ZT_CUDA_CHECK(cudaEventRecord(ready_, compute_));
    ZT_CUDA_CHECK(cudaStreamWaitEvent(stream_, ready_, 0));
    if (nccl_call() == ncclInProgress) settle(operation.c_str());
    auto done = std::make_shared<CudaEvent>();
    ZT_CUDA_CHECK(cudaEventRecord(done->get(), stream_));
    watchdog_->track(std::move(operation), done);
    return std::make_unique<NcclRequest>(std::move(done), compute_);
  }

  static std::string describe(const char* op, int64_t count, DataType type) {
    return std::string(op) + " of " + std::to_string(count) + " " + type_name(type);
  }

  // Host values (a loss, a token count, a stop flag, a path) go through the MPI transport this
  // communicator was built on, so one communicator serves the engine's device buffers and the
  // trainer's host values alike. A collective mixing the two is a bug: NCCL given a host
  // pointer fails deep inside a kernel or with a vague "invalid usage", so say so instead.
  bool on_host(const char* op, std::initializer_list<const void*> buffers) const {
    int host = 0;
    for (const void* ptr : buffers) {
      cudaPointerAttributes attr{};
      ZT_CUDA_CHECK(cudaPointerGetAttributes(&attr, ptr));
      host += attr.type != cudaMemoryTypeDevice && attr.type != cudaMemoryTypeManaged;
    }
    if (host != 0 && host != static_cast<int>(buffers.size())) {
      throw std::invalid_argument(std::string("NCCL transport: ") + op +
                                  " mixes host and device buffers");
    }
    return host != 0;
  }

  Communicator& mpi_;
  CommOptions options_;
  int rank_;
  int size_;
  int ordinal_ = 0;
  cudaStream_t compute_;
  runtime::Device& device_;
  ncclComm_t comm_ = nullptr;
  cudaStream_t stream_ = nullptr;
  cudaEvent_t ready_ = nullptr;  // reused: each wait captures the record before it
  void* barrier_scratch_ = nullptr;
  std::mutex issue_mutex_;
  std::unique_ptr<NcclWatchdog> watchdog_;
};

}  // namespace

bool nccl_available() { return true; }

std::string nccl_version() {
  int code = 0;
  ZT_NCCL_CHECK(ncclGetVersion(&code));
  // NCCL_VERSION(X, Y, Z) is X * 10000 + Y * 100 + Z since 2.9 (X * 1000 + Y * 100 + Z before).
  const int major = code >= 10000 ? code / 10000 : code / 1000;
  const int minor = code >= 10000 ? code % 10000 / 100 : code % 1000 / 100;
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(code % 100);
}

std::unique_ptr<Communicator> make_nccl_communicator(Communicator& mpi, runtime::Device& device,
                                                     CommOptions options) {
  return std::make_unique<NcclCommunicator>(mpi, device, options);
}

}  // namespace zerotune::comm

#else  // no NCCL in this build

namespace zerotune::comm {

bool nccl_available() { return false; }

std::string nccl_version() { return ""; }

std::unique_ptr<Communicator> make_nccl_communicator(Communicator&, runtime::Device&, CommOptions) {
  throw LibraryError(
      "NCCL: this zerotune was built without CUDA and NCCL (configure with ZEROTUNE_CUDA=ON "
      "where nvcc and nccl.h are found) or run on the CPU");
}

}  // namespace zerotune::comm

#endif
