#include "zerotune/train/swap_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <set>

#include "zerotune/base/error.hpp"
#include "zerotune/runtime/logging.hpp"

#ifdef ZEROTUNE_HAVE_LIBURING
#include <liburing.h>
#endif

namespace zerotune::train {

namespace {

std::string system_error(const std::filesystem::path& path, const char* call, int error) {
  return path.string() + ": " + call + " failed: " + std::strerror(error);
}

}  // namespace

struct SwapFile::Ring {
#ifdef ZEROTUNE_HAVE_LIBURING
  io_uring ring{};
#endif
  // One submission queue entry: a transfer of at most kMaxPart bytes (Linux moves at most
  // 2 GiB per read or write), part of the caller's transfer `ticket`.
  static constexpr size_t kMaxPart = size_t(1) << 30;
  struct Transfer {
    uint64_t ticket;
    bool write;
    char* buffer;
    size_t bytes;
    int64_t offset;
  };
  std::map<uint64_t, Transfer> in_flight;  // by part id
  std::map<uint64_t, int> parts_left;      // by ticket
  uint64_t next_part = 0;
  std::map<uint64_t, std::string> failed;
  unsigned depth = 0;
};

SwapFile::SwapFile(std::filesystem::path path, int64_t bytes, const SwapFileOptions& options)
    : path_(std::move(path)) {
  open_file(options.use_o_direct);
  if (direct_) {
    // Some file systems accept O_DIRECT at open and refuse it at the first transfer.
    void* probe = std::aligned_alloc(kAlignment, kAlignment);
    std::memset(probe, 0, kAlignment);
    const ssize_t n = ::pwrite(fd_, probe, kAlignment, 0);
    const int error = errno;
    std::free(probe);
    if (n < 0 && error == EINVAL) {
      ::close(fd_);
      fd_ = -1;
      open_file(false);
    } else if (n < 0) {
      ::close(fd_);
      throw LibraryError(system_error(path_, "pwrite", error));
    }
  }
  if (options.use_o_direct && !direct_) {
    runtime::log().warn(
        "{}: the file system refuses O_DIRECT; NVMe offload uses buffered I/O (the page cache "
        "holds a copy of the optimizer state)",
        path_.parent_path().string());
  }
  // Reserve the blocks now: a full disk shows here, before the first step, not as a failed
  // write in the middle of one. File systems without fallocate get a sparse file.
  int error = bytes > 0 ? ::posix_fallocate(fd_, 0, bytes) : 0;
  const char* call = "posix_fallocate";
  if (error == EOPNOTSUPP || error == EINVAL) {
    error = ::ftruncate(fd_, bytes) == 0 ? 0 : errno;
    call = "ftruncate";
  }
  if (error != 0) {
    ::close(fd_);
    throw LibraryError(system_error(path_, call, error));
  }
#ifdef ZEROTUNE_HAVE_LIBURING
  if (options.use_io_uring) {
    auto ring = std::make_unique<Ring>();
    const int status = io_uring_queue_init(options.queue_depth, &ring->ring, 0);
    if (status == 0) {
      ring->depth = options.queue_depth;
      ring_ = std::move(ring);
    } else {
      runtime::log().warn(
          "io_uring_queue_init failed ({}): NVMe offload reads and writes with pread/pwrite, "
          "without overlapping the optimizer step",
          std::strerror(-status));
    }
  }
#else
  if (options.use_io_uring) {
    runtime::log().warn(
        "built without liburing: NVMe offload reads and writes with pread/pwrite, without "
        "overlapping the optimizer step");
  }
#endif
}

SwapFile::~SwapFile() {
  try {
    wait_all();
  } catch (...) {  // the file goes anyway; the transfer's owner saw or sees the error
  }
#ifdef ZEROTUNE_HAVE_LIBURING
  if (ring_) io_uring_queue_exit(&ring_->ring);
#endif
  if (fd_ >= 0) ::close(fd_);  // the last reference: the file system takes the blocks back
}

void SwapFile::open_file(bool direct) {
  int flags = O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC;
#ifdef O_DIRECT
  if (direct) flags |= O_DIRECT;
#endif
  fd_ = ::open(path_.c_str(), flags, 0600);
  if (fd_ < 0 && direct && errno == EINVAL) return open_file(false);
  if (fd_ < 0) throw LibraryError(system_error(path_, "open", errno));
  // Unlinked at once, the file lives as long as the descriptor: a process that ends in any
  // way (kill -9, or MPI_Abort after another rank failed) leaves nothing in the folder, and a
  // requeued run finds the room its own files need.
  if (::unlink(path_.c_str()) != 0) {
    const int error = errno;
    ::close(fd_);
    fd_ = -1;
    throw LibraryError(system_error(path_, "unlink", error));
  }
  direct_ = direct;
}

uint64_t SwapFile::submit_read(void* buffer, size_t bytes, int64_t offset) {
  bytes_read_ += static_cast<int64_t>(bytes);
  return submit(false, buffer, bytes, offset);
}

uint64_t SwapFile::submit_write(const void* buffer, size_t bytes, int64_t offset) {
  bytes_written_ += static_cast<int64_t>(bytes);
  return submit(true, const_cast<void*>(buffer), bytes, offset);
}

uint64_t SwapFile::submit(bool write, void* buffer, size_t bytes, int64_t offset) {
  const uint64_t ticket = ++next_ticket_;
  if (!ring_) {
    transfer_now(write, buffer, bytes, offset);
    return ticket;
  }
#ifdef ZEROTUNE_HAVE_LIBURING
  char* p = static_cast<char*>(buffer);
  for (size_t done = 0; done < bytes || bytes == 0;) {
    const size_t part = std::min(bytes - done, Ring::kMaxPart);
    while (ring_->in_flight.size() >= ring_->depth) reap_one();
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_->ring);
    if (!sqe) throw LibraryError(path_.string() + ": io_uring_get_sqe: submission queue full");
    const auto at = static_cast<__u64>(offset + static_cast<int64_t>(done));
    if (write) {
      io_uring_prep_write(sqe, fd_, p + done, static_cast<unsigned>(part), at);
    } else {
      io_uring_prep_read(sqe, fd_, p + done, static_cast<unsigned>(part), at);
    }
    const uint64_t id = ++ring_->next_part;
    io_uring_sqe_set_data64(sqe, id);
    const int status = io_uring_submit(&ring_->ring);
    if (status < 0) throw LibraryError(system_error(path_, "io_uring_submit", -status));
    ring_->in_flight[id] = {ticket, write, p + done, part, offset + static_cast<int64_t>(done)};
    ++ring_->parts_left[ticket];
    done += part;
    if (bytes == 0) break;
  }
#endif
  return ticket;
}

// Blocking transfer; also completes what a short asynchronous transfer left.
void SwapFile::write_now(const void* buffer, size_t bytes, int64_t offset) {
  bytes_written_ += static_cast<int64_t>(bytes);
  transfer_now(true, const_cast<void*>(buffer), bytes, offset);
}

void SwapFile::transfer_now(bool write, void* buffer, size_t bytes, int64_t offset) {
  char* p = static_cast<char*>(buffer);
  size_t done = 0;
  while (done < bytes) {
    const ssize_t n = write ? ::pwrite(fd_, p + done, bytes - done, offset + done)
                            : ::pread(fd_, p + done, bytes - done, offset + done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw LibraryError(system_error(path_, write ? "pwrite" : "pread", errno));
    if (n == 0) {
      if (write) throw LibraryError(system_error(path_, "pwrite", ENOSPC));
      std::memset(p + done, 0, bytes - done);  // past the end of a sparse file: zeros
      return;
    }
    done += static_cast<size_t>(n);
  }
}

void SwapFile::reap_one() {
#ifdef ZEROTUNE_HAVE_LIBURING
  io_uring_cqe* cqe = nullptr;
  int status;
  do {
    status = io_uring_wait_cqe(&ring_->ring, &cqe);
  } while (status == -EINTR);
  if (status < 0) throw LibraryError(system_error(path_, "io_uring_wait_cqe", -status));
  const uint64_t id = io_uring_cqe_get_data64(cqe);
  const int result = cqe->res;
  io_uring_cqe_seen(&ring_->ring, cqe);
  auto it = ring_->in_flight.find(id);
  if (it == ring_->in_flight.end()) return;
  const Ring::Transfer t = it->second;
  ring_->in_flight.erase(it);
  const uint64_t ticket = t.ticket;
  if (--ring_->parts_left[ticket] == 0) ring_->parts_left.erase(ticket);
  if (result < 0) {
    ring_->failed[ticket] =
        system_error(path_, t.write ? "io_uring write" : "io_uring read", -result);
  } else if (static_cast<size_t>(result) < t.bytes) {
    try {
      transfer_now(t.write, t.buffer + result, t.bytes - result, t.offset + result);
    } catch (const LibraryError& e) {
      ring_->failed[ticket] = e.what();
    }
  }
#endif
}

void SwapFile::wait(uint64_t ticket) {
  if (!ring_) return;
  while (ring_->parts_left.count(ticket)) reap_one();
  auto it = ring_->failed.find(ticket);
  if (it != ring_->failed.end()) {
    const std::string message = it->second;
    ring_->failed.erase(it);
    throw LibraryError(message);
  }
}

void SwapFile::wait_all() {
  if (!ring_) return;
  while (!ring_->in_flight.empty()) reap_one();
  if (!ring_->failed.empty()) {
    const std::string message = ring_->failed.begin()->second;
    ring_->failed.clear();
    throw LibraryError(message);
  }
}

}  // namespace zerotune::train
