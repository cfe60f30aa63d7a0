// The GPU as a Device, and its memory probe for the monitor. Built only where CUDA is
// (ZEROTUNE_WITH_CUDA); the header itself needs no CUDA headers, so host code can hold one.
#pragma once

#include <memory>
#include <string>

#include "zerotune/runtime/device.hpp"
#include "zerotune/runtime/memory_monitor.hpp"

namespace zerotune::runtime {

// GPUs this process can see; 0 without a driver or a device (never throws).
int cuda_device_count();

// The GPU a rank uses: local_rank % cuda_device_count(). CUDA_VISIBLE_DEVICES (or srun's
// --gpu-bind / --gpus-per-task, which set it) restricts what a process sees: the local rank
// then picks among the visible GPUs, and where exactly one is visible every rank uses it.
// Throws LibraryError when no GPU is visible.
int select_cuda_device(int local_rank);

// One line for the log: "NVIDIA H200 sm_90 memory=139.8GiB driver=13.0 runtime=13.0
// pci=0000:1b:00.0" (memory in GiB of 2^30 bytes). Throws LibraryError on a CUDA failure.
std::string describe_cuda_device(int ordinal);

// GPU `ordinal` (made current for the calling thread) with one compute stream (non-blocking)
// and CUDA's stream-ordered allocator: buffers are cudaMallocAsync'd from the device's default
// cudaMemPool_t, whose release threshold is raised to UINT64_MAX so freed memory stays in the
// pool for the next step instead of going back to the driver. Allocation, free, fill_zero and
// device-to-device copies are queued on the compute stream; copies touching host memory wait
// for it. Live bytes are also counted into tracked_allocated_bytes(), as on the CPU.
std::unique_ptr<Device> make_cuda_device(int ordinal);

// device_used_bytes: NVML's used memory of the card (every process), or cudaMemGetInfo's
// total - free where NVML is missing; allocated/reserved and their peaks: the default pool's
// UsedMemCurrent/ReservedMemCurrent/UsedMemHigh/ReservedMemHigh (a peak is never reported
// below the current value). reset_peak() zeroes the pool's high-water marks, so the peaks
// start again from what is in use now.
std::unique_ptr<MemoryProbe> make_cuda_memory_probe(int ordinal);

}  // namespace zerotune::runtime
