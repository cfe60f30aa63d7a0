// Free space before a checkpoint is written: a save that runs out of space half-way costs
// the time of writing it and leaves the user guessing; checking first names the need.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "zerotune/train/zero_engine.hpp"

namespace zerotune::train {

// Bytes a checkpoint of this engine takes on disk: every unit's parameters and optimizer
// states as float32 (4 bytes per element, whatever the stage or world size), plus HDF5's
// metadata and checksums and per-rank files' partial chunks (256 KiB and 10 %).
int64_t checkpoint_bytes(const ZeroEngine& engine);

// "" when the filesystem holding `dir` has `needed_bytes` free for an unprivileged writer,
// else one line: "checkpoint step-000010: <dir>: not enough free space: needs 12.5 MiB,
// 3.0 MiB available (No space left on device)". A filesystem that cannot say (statvfs
// fails) is not refused here; the write itself then reports any failure.
std::string free_space_shortfall(const std::filesystem::path& dir, int64_t needed_bytes,
                                 const std::string& checkpoint_name);

// One line for a failed write of `path`: "<path>: <call>: <OS error>" where the library's
// message carries the OS error (HDF5 puts "error message = '...'" deep in its stack), else
// "<path>: <message>" with the message's line breaks removed.
std::string describe_write_failure(const std::filesystem::path& path, const std::string& message);

// Truncates a file that is being abandoned, so its blocks are free again while it is still
// open (a full disk otherwise stays full until the process ends). Errors are ignored: the
// file is removed afterwards anyway.
void give_back_space(const std::filesystem::path& path);

}  // namespace zerotune::train
