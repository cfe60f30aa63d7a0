// The NCCL transport of Communicator: collectives on device buffers of a CUDA runtime::Device.
//
// Streams: the communicator owns a communication stream (non-blocking, the highest priority
// the device offers, so collectives are not starved by queued kernels). Each collective makes
// that stream wait for everything queued so far on the device's compute stream
// (Device::native_stream()), runs there and records a completion event. Request::wait()
// makes the compute stream wait for that event (cudaStreamWaitEvent) and returns at once:
// the host never blocks, and work queued on the compute stream after wait() sees the result.
// A buffer handed to a collective must not be freed or rewritten before its wait().
//
// Failure: a watchdog thread checks NCCL's asynchronous error and the age of every outstanding
// collective against CommOptions::timeout. On an error or a timeout it aborts the
// communicator, logs one line naming the operation and the rank, and ends the process with
// exit code 4 (kExitPeerFailure): the host may be blocked inside a CUDA call that will never
// return, so nothing short of leaving the process would end the job.
//
// Start: with CommOptions::nccl_init_report, NCCL's own topology report (each rank's devices,
// links, rings and trees) goes to stdout while the communicator is created; nccl_version()
// names the library for the run's log.
//
// Host buffers (the loss, a token count, a stop flag, a path) are handed to the MPI
// communicator it was built on (host_transport()), with MPI's host wait: one communicator
// serves the engine and the trainer. A collective mixing host and device buffers is
// std::invalid_argument. The Stream* argument is not used: all
// collectives of one communicator run in submission order on its communication stream.
#pragma once

#include <memory>
#include <string>

#include "zerotune/comm/communicator.hpp"
#include "zerotune/runtime/device.hpp"

namespace zerotune::comm {

// True where the build has NCCL (ZEROTUNE_WITH_NCCL).
bool nccl_available();

// The NCCL library's version as loaded at run time ("2.21.5", from ncclGetVersion); "" in a
// build without NCCL. Throws LibraryError when NCCL fails to answer.
std::string nccl_version();

// Collective over the ranks of `mpi`, on `device` (a CUDA device, current on this thread).
// Rank 0 makes the ncclUniqueId and broadcasts it over `mpi`; every rank of `mpi` must call
// this together. Creation is bounded by options.timeout (PeerFailure when a rank never joins).
// Throws LibraryError on an NCCL or CUDA failure or in a build without NCCL, and
// std::invalid_argument when `device` has no CUDA stream.
std::unique_ptr<Communicator> make_nccl_communicator(Communicator& mpi, runtime::Device& device,
                                                     CommOptions options = {});

}  // namespace zerotune::comm
