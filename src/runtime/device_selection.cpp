#include "zerotune/runtime/device_selection.hpp"

#include <cstdlib>

#include "zerotune/base/error.hpp"

#if defined(ZEROTUNE_WITH_CUDA)
#include "zerotune/runtime/cuda_device.hpp"
#endif

namespace zerotune::runtime {

namespace {

int visible_gpus() {
#if defined(ZEROTUNE_WITH_CUDA)
  return cuda_device_count();
#else
  return 0;
#endif
}

}  // namespace

bool resolves_to_cuda(const std::string& run_device) {
  if (run_device == "cpu") return false;
  if (run_device == "cuda") return true;
  return visible_gpus() > 0;
}

SelectedDevice select_device(const std::string& run_device, int local_rank,
                             const std::string& origin) {
  SelectedDevice s;
  if (!resolves_to_cuda(run_device)) {
    s.device = &cpu_device();
    s.probe = make_cpu_memory_probe();
    s.description = "cpu";
    return s;
  }
#if defined(ZEROTUNE_WITH_CUDA)
  const int count = cuda_device_count();
  if (count == 0) {
    const char* visible = std::getenv("CUDA_VISIBLE_DEVICES");
    throw InputError(origin + ": run.device: cuda, but no CUDA device is visible" +
                     (visible ? std::string(" (CUDA_VISIBLE_DEVICES=") + visible + ")" : "") +
                     "; set run.device: cpu or auto");
  }
  s.cuda_ordinal = select_cuda_device(local_rank);
  s.owned = make_cuda_device(s.cuda_ordinal);
  s.device = s.owned.get();
  s.probe = make_cuda_memory_probe(s.cuda_ordinal);
  s.description =
      "cuda:" + std::to_string(s.cuda_ordinal) + " " + describe_cuda_device(s.cuda_ordinal);
  return s;
#else
  throw InputError(origin +
                   ": run.device: cuda, but this build of zerotune has no CUDA support; "
                   "set run.device: cpu or auto");
#endif
}

}  // namespace zerotune::runtime
