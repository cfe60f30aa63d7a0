// The MPI transport of Communicator (host buffers). Also the host-side coordinator every
// run has, whatever moves its tensors: parallel HDF5 checkpoints open files over its MPI_Comm.
#pragma once

#include <mpi.h>

#include <memory>

#include "zerotune/comm/communicator.hpp"

namespace zerotune::comm {

// A duplicate of `base` (MPI_COMM_WORLD by default), so our traffic never mixes with anyone
// else's on the same communicator.
std::unique_ptr<Communicator> make_mpi_communicator(MPI_Comm base = MPI_COMM_WORLD,
                                                    const CommOptions& options = {});

// The MPI communicator behind `comm` (throws std::invalid_argument for a non-MPI transport).
MPI_Comm mpi_comm_of(const Communicator& comm);

}  // namespace zerotune::comm
