#include "zerotune/ops/cpu_threads.hpp"

#include <cblas.h>

#include <algorithm>
#include <cstdlib>
#include <thread>

namespace zerotune::ops {

namespace {
int configured_threads = 0;
}  // namespace

int cpu_threads() {
  return configured_threads > 0
             ? configured_threads
             : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

int configure_cpu_threads(int ranks_on_node) {
  for (const char* var : {"OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"}) {
    if (const char* v = std::getenv(var)) {
      const int n = std::atoi(v);
      if (n > 0) return configured_threads = n;  // the user's choice; OpenBLAS reads it itself
    }
  }
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int threads = std::max(1, cores / std::max(1, ranks_on_node));
#ifdef OPENBLAS_VERSION
  openblas_set_num_threads(threads);
#endif
  return configured_threads = threads;
}

}  // namespace zerotune::ops
