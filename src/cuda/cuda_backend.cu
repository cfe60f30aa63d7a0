// The GPU backend behind ops::Backend (being assembled from the kernels of this folder).
#include <stdexcept>

#include "zerotune/ops/backend.hpp"

namespace zerotune::ops {

std::unique_ptr<Backend> make_cuda_backend(runtime::Device&, DType) {
  throw std::runtime_error("the CUDA backend is not assembled in this build");
}

}  // namespace zerotune::ops
