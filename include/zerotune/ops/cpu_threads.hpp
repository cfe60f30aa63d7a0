// Threads the CPU kernels (BLAS) may use. Ranks sharing a node split its cores, so four
// ranks on a 16-core node do not each start 16 BLAS threads.
#pragma once

namespace zerotune::ops {

// Threads for this rank: OPENBLAS_NUM_THREADS / OMP_NUM_THREADS when set, else
// hardware cores / ranks on this node (at least 1). Applies and returns it.
int configure_cpu_threads(int ranks_on_node);

// What configure_cpu_threads last returned (before any call: the hardware cores), for host
// work other than BLAS that should use the same share of the node.
int cpu_threads();

}  // namespace zerotune::ops
