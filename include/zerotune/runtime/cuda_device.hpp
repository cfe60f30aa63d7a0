// The GPU as a Device, and its memory probe for the monitor. Built only where CUDA is
// (ZEROTUNE_WITH_CUDA); the header itself needs no CUDA headers, so host code can hold one.
#pragma once

#include <memory>

#include "zerotune/runtime/device.hpp"
#include "zerotune/runtime/memory_monitor.hpp"

namespace zerotune::runtime {

// GPUs this process can see; 0 without a driver or a device (never throws).
int cuda_device_count();

// Buffers in cudaMalloc'd memory of GPU `ordinal` (selected for this thread). Counts its
// live bytes into tracked_allocated_bytes(), as the CPU device does.
std::unique_ptr<Device> make_cuda_device(int ordinal);

// device_used_bytes: what the driver reports in use on the GPU (cudaMemGetInfo, every
// process); allocated_bytes: zerotune's live buffers; reserved_bytes: the same until a
// caching allocator holds more than it hands out.
std::unique_ptr<MemoryProbe> make_cuda_memory_probe(int ordinal);

}  // namespace zerotune::runtime
