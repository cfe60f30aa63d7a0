// One file that the NVMe offload tier reads and writes asynchronously: io_uring (liburing)
// on a file opened with O_DIRECT, so transfers go straight between the NVMe and our aligned
// buffers without the page cache. Two fallbacks, each announced by one warning line:
//   - O_DIRECT refused (EINVAL: tmpfs, some network file systems): buffered I/O;
//   - io_uring_queue_init refused (seccomp in some containers, old kernels): pread/pwrite,
//     done at submit time (correct, without the overlap).
// The file is created and unlinked at once on construction, so it has no name while in use
// and its blocks go back to the file system when the descriptor closes, however the process
// ends (destruction, an exception, kill -9, MPI_Abort): nothing is ever left behind.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

namespace zerotune::train {

struct SwapFileOptions {
  bool use_io_uring = true;  // false: the pread/pwrite path (tests exercise both)
  bool use_o_direct = true;  // false: buffered I/O
  unsigned queue_depth = 16;
};

class SwapFile {
 public:
  // Alignment of offsets, sizes and buffer addresses (O_DIRECT's rule on 4Kn NVMe).
  static constexpr size_t kAlignment = 4096;
  // `bytes` rounded up to kAlignment: the size of a region that holds them.
  static constexpr int64_t aligned(int64_t bytes) {
    const auto a = static_cast<int64_t>(kAlignment);
    return (bytes + a - 1) / a * a;
  }

  // Creates `path` (unlinked once open) with `bytes` reserved (posix_fallocate; a sparse file where
  // the file system has no fallocate); reads of ranges never written give zeros. Throws
  // LibraryError naming the path and the system's error (ENOSPC when the disk cannot hold it).
  SwapFile(std::filesystem::path path, int64_t bytes, const SwapFileOptions& options = {});
  ~SwapFile();
  SwapFile(const SwapFile&) = delete;
  SwapFile& operator=(const SwapFile&) = delete;

  // Queue a transfer of `bytes` at `offset` (both multiples of kAlignment, buffer aligned)
  // and return its ticket; the buffer must stay untouched until wait(ticket) returns.
  uint64_t submit_read(void* buffer, size_t bytes, int64_t offset);
  uint64_t submit_write(const void* buffer, size_t bytes, int64_t offset);
  // A synchronous write (pwrite) that leaves the ring alone: safe from another thread while
  // this one queues transfers of other ranges (the offloaded update writes parameter shards
  // while the forward reads others). Same alignment rules; throws LibraryError.
  void write_now(const void* buffer, size_t bytes, int64_t offset);
  // Returns when the transfer with this ticket is complete; throws LibraryError if it failed.
  void wait(uint64_t ticket);
  void wait_all();

  bool direct_io() const { return direct_; }
  bool uses_io_uring() const { return ring_ != nullptr; }
  // The name it was created under (for messages: the file itself has no name once open).
  const std::filesystem::path& path() const { return path_; }
  int64_t bytes_read() const { return bytes_read_; }
  int64_t bytes_written() const { return bytes_written_; }

 private:
  struct Ring;
  uint64_t submit(bool write, void* buffer, size_t bytes, int64_t offset);
  void transfer_now(bool write, void* buffer, size_t bytes, int64_t offset);
  void reap_one();
  void open_file(bool direct);

  std::filesystem::path path_;
  int fd_ = -1;
  bool direct_ = false;
  std::unique_ptr<Ring> ring_;
  uint64_t next_ticket_ = 0;
  std::atomic<int64_t> bytes_read_ = 0;
  std::atomic<int64_t> bytes_written_ = 0;
};

}  // namespace zerotune::train
