#include "zerotune/ops/cpu_threads.hpp"

#include <cblas.h>

#include <algorithm>
#include <cstdlib>
#include <thread>

namespace zerotune::ops {

int configure_cpu_threads(int ranks_on_node) {
  for (const char* var : {"OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"}) {
    if (const char* v = std::getenv(var)) {
      const int n = std::atoi(v);
      if (n > 0) return n;  // the user's (or the job script's) choice; OpenBLAS reads it itself
    }
  }
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int threads = std::max(1, cores / std::max(1, ranks_on_node));
#ifdef OPENBLAS_VERSION
  openblas_set_num_threads(threads);
#endif
  return threads;
}

}  // namespace zerotune::ops
