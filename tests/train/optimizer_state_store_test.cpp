// The nvme tier's file and store: data written through io_uring (and through the
// pread/pwrite fallback) reads back bit for bit; units passing through the store's few
// slots keep their values; the file has no name once open, so none is left behind by an
// exception or by a process killed with SIGKILL.
#include "zerotune/train/optimizer_state_store.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <random>
#include <stdexcept>
#include <vector>

#include "zerotune/runtime/device.hpp"
#include "zerotune/train/host_thread_pool.hpp"
#include "zerotune/train/nvme_path_check.hpp"
#include "zerotune/train/swap_file.hpp"

using namespace zerotune;
namespace fs = std::filesystem;

namespace {

// A fresh folder under the temporary directory, removed afterwards.
struct ScratchDir {
  fs::path path;
  ScratchDir() {
    std::string pattern = (fs::temp_directory_path() / "zt-store.XXXXXX").string();
    path = ::mkdtemp(pattern.data());
  }
  ~ScratchDir() { fs::remove_all(path); }
};

struct AlignedBytes {
  explicit AlignedBytes(size_t n)
      : bytes(n),
        data(static_cast<std::byte*>(std::aligned_alloc(train::SwapFile::kAlignment, n))) {}
  ~AlignedBytes() { std::free(data); }
  size_t bytes;
  std::byte* data;
};

void fill_random(std::byte* data, size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  for (size_t i = 0; i < n; ++i) data[i] = static_cast<std::byte>(rng() & 0xff);
}

void round_trip(const train::SwapFileOptions& options) {
  ScratchDir dir;
  const fs::path path = dir.path / "swap";
  constexpr size_t kBlock = 3 * train::SwapFile::kAlignment;
  {
    train::SwapFile file(path, 8 * kBlock, options);
    BOOST_TEST_MESSAGE("io_uring=" << file.uses_io_uring() << " O_DIRECT=" << file.direct_io());
    BOOST_TEST(!fs::exists(path));  // unlinked once open: it lives as long as its descriptor
    AlignedBytes a(kBlock), b(kBlock), back(kBlock);
    fill_random(a.data, kBlock, 1);
    fill_random(b.data, kBlock, 2);
    // Two writes in flight at once, at different offsets, then their reads.
    const uint64_t wa = file.submit_write(a.data, kBlock, 0);
    const uint64_t wb = file.submit_write(b.data, kBlock, 5 * kBlock);
    file.wait(wb);
    file.wait(wa);
    file.wait(file.submit_read(back.data, kBlock, 5 * kBlock));
    BOOST_TEST(std::memcmp(back.data, b.data, kBlock) == 0);
    file.wait(file.submit_read(back.data, kBlock, 0));
    BOOST_TEST(std::memcmp(back.data, a.data, kBlock) == 0);
    // A range never written reads as zeros.
    file.wait(file.submit_read(back.data, kBlock, 2 * kBlock));
    BOOST_TEST(
        std::all_of(back.data, back.data + kBlock, [](std::byte x) { return x == std::byte{0}; }));
    BOOST_TEST(file.bytes_written() == static_cast<int64_t>(2 * kBlock));
  }
  BOOST_TEST(fs::is_empty(dir.path));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(optimizer_state_store)

BOOST_AUTO_TEST_CASE(swap_file_round_trips_with_io_uring) {
  train::SwapFileOptions options;
  options.use_io_uring = true;
  round_trip(options);
}

BOOST_AUTO_TEST_CASE(swap_file_round_trips_with_pread_pwrite) {
  train::SwapFileOptions options;
  options.use_io_uring = false;
  round_trip(options);
  options.use_o_direct = false;
  round_trip(options);
}

// tmpfs refuses O_DIRECT (EINVAL): the file falls back to buffered I/O and still round-trips.
BOOST_AUTO_TEST_CASE(swap_file_on_tmpfs_falls_back_to_buffered_io) {
  if (!fs::is_directory("/dev/shm") || ::access("/dev/shm", W_OK) != 0) {
    BOOST_TEST_MESSAGE("no writable /dev/shm here; skipped");
    return;
  }
  const fs::path path = "/dev/shm/zt-store-test-" + std::to_string(::getpid());
  {
    train::SwapFile file(path, 2 * train::SwapFile::kAlignment);
    BOOST_TEST_MESSAGE("/dev/shm: O_DIRECT=" << file.direct_io());
    AlignedBytes a(train::SwapFile::kAlignment), back(train::SwapFile::kAlignment);
    fill_random(a.data, a.bytes, 3);
    file.wait(file.submit_write(a.data, a.bytes, train::SwapFile::kAlignment));
    file.wait(file.submit_read(back.data, back.bytes, train::SwapFile::kAlignment));
    BOOST_TEST(std::memcmp(back.data, a.data, a.bytes) == 0);
  }
  BOOST_TEST(!fs::exists(path));
}

BOOST_AUTO_TEST_CASE(nvme_store_keeps_every_unit_through_its_slots) {
  for (bool uring : {true, false}) {
    ScratchDir dir;
    train::StateStoreSettings settings;
    settings.tier = train::StateTier::kNvme;
    settings.optimizer_states = 2;
    settings.nvme_path = dir.path;
    settings.file_name = "state";
    settings.use_io_uring = uring;
    // Uneven units, more than the store has slots, one not a multiple of the alignment.
    const std::vector<int64_t> counts = {1000, 4096, 3, 2500, 1, 7000};
    {
      auto store = train::make_optimizer_state_store(settings, counts, runtime::cpu_device());
      BOOST_TEST(store->bytes().nvme == train::state_store_bytes(settings, counts).nvme);
      // Reference values from a separate generator, written in pipeline order
      // (prefetch the next unit while this one is held), twice over.
      auto value = [](int pass, int unit, int array, int64_t i) {
        return static_cast<float>(pass * 1000003 + unit * 10007 + array * 101 + i) * 0.5f;
      };
      for (int pass = 0; pass < 2; ++pass) {
        for (int u = 0; u < static_cast<int>(counts.size()); ++u) {
          if (u + 1 < static_cast<int>(counts.size())) store->prefetch(u + 1);
          train::UnitState s = store->acquire(u);
          BOOST_TEST(s.count == counts[u]);
          float* arrays[3] = {s.master, s.state[0], s.state[1]};
          for (int a = 0; a < 3; ++a) {
            for (int64_t i = 0; i < s.count; ++i) {
              if (pass == 1) BOOST_REQUIRE(arrays[a][i] == value(0, u, a, i));
              arrays[a][i] = value(pass, u, a, i);
            }
          }
          store->release(u, true);
        }
      }
      store->flush();
      for (int u = static_cast<int>(counts.size()) - 1; u >= 0; --u) {  // the other order
        train::UnitState s = store->acquire(u);
        float* arrays[3] = {s.master, s.state[0], s.state[1]};
        for (int a = 0; a < 3; ++a) {
          for (int64_t i = 0; i < s.count; ++i) BOOST_REQUIRE(arrays[a][i] == value(1, u, a, i));
        }
        store->release(u, false);
      }
      BOOST_TEST(fs::is_empty(dir.path));  // the file has no name while in use
    }
    BOOST_TEST(fs::is_empty(dir.path));
  }
}

BOOST_AUTO_TEST_CASE(nvme_file_left_by_no_way_of_ending) {
  ScratchDir dir;
  try {
    train::SwapFile file(dir.path / "swap", 4096);
    throw std::runtime_error("a failing step");
  } catch (const std::runtime_error&) {
  }
  BOOST_TEST(fs::is_empty(dir.path));
  // A process killed with SIGKILL runs no destructor: the kernel closes the descriptor.
  const pid_t child = ::fork();
  if (child == 0) {
    train::SwapFile file(dir.path / "swap", 1 << 20);
    ::raise(SIGKILL);
  }
  BOOST_REQUIRE(child > 0);
  int status = 0;
  BOOST_REQUIRE(::waitpid(child, &status, 0) == child);
  BOOST_TEST(WIFSIGNALED(status));
  BOOST_TEST(fs::is_empty(dir.path));
}

BOOST_AUTO_TEST_CASE(nvme_path_check_names_the_problem) {
  ScratchDir dir;
  BOOST_TEST(train::check_nvme_path(dir.path.string(), 4096) == "");
  BOOST_TEST(train::check_nvme_path((dir.path / "absent").string(), 1).find("does not exist") !=
             std::string::npos);
  const std::string needs_too_much = train::check_nvme_path(dir.path.string(), INT64_MAX);
  BOOST_TEST(needs_too_much.rfind("zero.nvme_path: " + dir.path.string() + " has ", 0) == 0);
  BOOST_TEST(needs_too_much.find("needs " + std::to_string(INT64_MAX) + " bytes") !=
             std::string::npos);
}

// The size of a file this process holds open, found through /proc/self/fd: the swap file is
// unlinked once open, so its path no longer names it. -1 when no descriptor points at it.
int64_t open_file_size(const fs::path& path) {
  for (const auto& fd : fs::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    const std::string target = fs::read_symlink(fd.path(), ec).string();
    if (!ec && (target == path.string() || target == path.string() + " (deleted)")) {
      return static_cast<int64_t>(fs::file_size(fd.path()));
    }
  }
  return -1;
}

// What the memory estimate predicts for a store (state_store_bytes, from the sizes alone)
// against what each store allocated, and the nvme tier's file size on disk.
BOOST_AUTO_TEST_CASE(predicted_store_bytes_equal_the_allocated_ones) {
  const std::vector<int64_t> counts = {1000, 4096, 3, 2500, 1, 7000};
  for (auto tier : {train::StateTier::kDevice, train::StateTier::kCpu, train::StateTier::kNvme}) {
    for (int states : {1, 2}) {
      for (bool masters : {false, true}) {
        BOOST_TEST_CONTEXT(train::state_tier_name(tier)
                           << " states " << states << " masters " << masters) {
          ScratchDir dir;
          train::StateStoreSettings settings;
          settings.tier = tier;
          settings.masters = masters || tier != train::StateTier::kDevice;
          settings.optimizer_states = states;
          settings.nvme_path = dir.path;
          settings.file_name = "state";
          auto store = train::make_optimizer_state_store(settings, counts, runtime::cpu_device());
          const train::StateStoreBytes got = store->bytes();
          const train::StateStoreBytes want = train::state_store_bytes(settings, counts);
          BOOST_TEST(got.device_master == want.device_master);
          BOOST_TEST(got.device_state == want.device_state);
          BOOST_TEST(got.host_master == want.host_master);
          BOOST_TEST(got.host_state == want.host_state);
          BOOST_TEST(got.nvme == want.nvme);
          if (tier == train::StateTier::kNvme) {
            BOOST_TEST(open_file_size(dir.path / "state") == want.nvme);
          }
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(thread_pool_covers_every_element_once) {
  train::HostThreadPool pool(3);
  for (int64_t n : {0, 5, 4096, 10007, 100000}) {
    std::vector<int> seen(static_cast<size_t>(n), 0);
    pool.parallel_for(n, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) ++seen[static_cast<size_t>(i)];
    });
    BOOST_TEST(std::count(seen.begin(), seen.end(), 1) == n);
  }
  BOOST_CHECK_THROW(pool.parallel_for(100000,
                                      [](int64_t b, int64_t) {
                                        if (b > 0) throw std::runtime_error("chunk failed");
                                      }),
                    std::runtime_error);
}

BOOST_AUTO_TEST_SUITE_END()
