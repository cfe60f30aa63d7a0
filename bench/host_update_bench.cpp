// How close the host side of the offloaded optimizer step (zero.offload_optimizer cpu|nvme)
// gets to the memory system's speed, to explain offload step times. Per compute dtype, over
// N elements split by the engine's thread pool into one contiguous chunk per thread:
//   host_update  host_update_range on the chunk: AdamW and the rounding in one pass (the engine)
//   two_pass     optimizer_update over the chunk, then host_cast_from_float over it
//   stream       the same bytes moved with trivial arithmetic (p+g, m+g, v+g, output = the
//                upper 16 bits of p): what the memory system allows
//   memcpy       a parallel memcpy of 4*N bytes, a second bandwidth reference
// AdamW with weight decay, grad_scale 0.5, step 10. Bytes per element for the first three:
// 16 read (master, grad, m, v) and 14 written (master, m, v, the 2-byte output) = 30; memcpy
// counts 4 read + 4 written. Write-allocate reads are not counted. gparams_per_s and gb_per_s
// come from the best time. Ratios compare speeds from best times:
//   host_update_vs_stream = stream_ms / host_update_ms   (1.0: at memory speed)
//   two_pass_vs_one_pass  = host_update_ms / two_pass_ms (below 1: two passes are slower)
// Before the timings of each dtype, the one-pass result over all N elements is compared bit
// for bit with the two-pass form (masters, m, v, output); a difference exits 1. Bad
// arguments exit 2. Each variant runs once untimed before its timed repeats.
//
// Not built by default. On a node, with the cores one rank's offload would get:
//   cmake --build build --target host_update_bench
//   build/host_update_bench --elements 200000000 --threads 16 --dtype both --repeats 5
#include <algorithm>
#include <atomic>
#include <bit>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include "zerotune/base/dtype.hpp"
#include "zerotune/train/host_cast.hpp"
#include "zerotune/train/host_thread_pool.hpp"
#include "zerotune/train/host_update.hpp"
#include "zerotune/train/optimizer.hpp"

namespace {

using zerotune::DType;
using zerotune::dtype_name;
namespace train = zerotune::train;

constexpr double kLr = 1e-4;
constexpr double kGradScale = 0.5;
constexpr int64_t kStep = 10;
constexpr double kUpdateBytesPerElement = 30;  // 16 read + 14 written
constexpr double kCopyBytesPerElement = 8;     // 4 read + 4 written

struct Options {
  int64_t elements = 200'000'000;
  int threads = 0;  // 0: train::cpu_threads_for_offload(1)
  std::vector<DType> dtypes = {DType::kBFloat16, DType::kFloat16};
  int repeats = 5;
};

[[noreturn]] void input_error(const std::string& message) {
  std::fprintf(stderr, "host_update_bench: %s\n", message.c_str());
  std::exit(2);
}

int64_t integer_in_range(const std::string& flag, std::string_view text, int64_t max) {
  int64_t value = 0;
  const char* end = text.data() + text.size();
  const auto [stop, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || stop != end || value < 1 || value > max) {
    input_error(flag + ": expected an integer from 1 to " + std::to_string(max) + ", got \"" +
                std::string(text) + "\"");
  }
  return value;
}

Options parse_options(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      std::printf(
          "usage: host_update_bench [--elements N] [--threads T] [--dtype bf16|fp16|both] "
          "[--repeats R]\n");
      std::exit(0);
    }
    if (i + 1 >= argc) input_error(flag + ": expected a value after it");
    const std::string_view value = argv[++i];
    if (flag == "--elements") {
      options.elements = integer_in_range(flag, value, int64_t{1} << 40);
    } else if (flag == "--threads") {
      options.threads = static_cast<int>(integer_in_range(flag, value, 4096));
    } else if (flag == "--repeats") {
      options.repeats = static_cast<int>(integer_in_range(flag, value, 1000));
    } else if (flag == "--dtype") {
      if (value == "bf16") {
        options.dtypes = {DType::kBFloat16};
      } else if (value == "fp16") {
        options.dtypes = {DType::kFloat16};
      } else if (value != "both") {
        input_error("--dtype: expected bf16, fp16 or both, got \"" + std::string(value) + "\"");
      }
    } else {
      input_error(flag + ": unknown option (expected --elements, --threads, --dtype, --repeats)");
    }
  }
  if (options.threads == 0) options.threads = train::cpu_threads_for_offload(1);
  return options;
}

// Uniform in [lo, hi) from the array's seed and the element's index alone (splitmix64), so
// every chunking fills the same values and the check can regenerate any block's inputs.
float uniform_at(uint64_t seed, int64_t index, float lo, float hi) {
  uint64_t z = seed * 0xd1b54a32d192ed03ull + static_cast<uint64_t>(index) * 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  const float unit = static_cast<float>(z >> 40) * 0x1p-24f;  // [0, 1)
  return lo + (hi - lo) * unit;
}

// The inputs of elements [begin, begin + count): weights of a trained model's scale, small
// gradients, and Adam moments as a few steps leave them (v >= 0).
void fill_inputs(float* master, float* grad, float* m, float* v, int64_t begin, int64_t count) {
  for (int64_t i = 0; i < count; ++i) {
    master[i] = uniform_at(1, begin + i, -0.1f, 0.1f);
    grad[i] = uniform_at(2, begin + i, -0.05f, 0.05f);
    m[i] = uniform_at(3, begin + i, -0.01f, 0.01f);
    v[i] = uniform_at(4, begin + i, 0.0f, 1e-4f);
  }
}

// Plain heap arrays (new[] leaves the pages untouched); fill() touches them first from the
// pool's threads, chunk by chunk as the timed loops use them, so pages sit near the thread
// that streams them.
struct HostArrays {
  explicit HostArrays(int64_t n)
      : master(std::make_unique_for_overwrite<float[]>(n)),
        grad(std::make_unique_for_overwrite<float[]>(n)),
        m(std::make_unique_for_overwrite<float[]>(n)),
        v(std::make_unique_for_overwrite<float[]>(n)),
        out(std::make_unique_for_overwrite<uint16_t[]>(n)) {}
  std::unique_ptr<float[]> master, grad, m, v;
  std::unique_ptr<uint16_t[]> out;  // the compute-dtype upload buffer (bf16 or fp16)
};

void fill(train::HostThreadPool& pool, HostArrays& a, int64_t n) {
  pool.parallel_for(n, [&](int64_t b, int64_t e) {
    fill_inputs(a.master.get() + b, a.grad.get() + b, a.m.get() + b, a.v.get() + b, b, e - b);
    std::memset(a.out.get() + b, 0, static_cast<size_t>(e - b) * sizeof(uint16_t));
  });
}

train::OptimizerSettings adamw_settings() {
  train::OptimizerSettings s;
  s.kind = train::OptimizerKind::kAdamW;
  s.weight_decay = 0.01;
  return s;
}

void one_pass(const train::OptimizerSettings& s, HostArrays& a, int64_t b, int64_t e, DType dt) {
  const train::HostUpdateArgs args{kLr, kGradScale, /*decay=*/true, kStep, dt};
  train::host_update_range(s, a.master.get() + b, a.grad.get() + b, a.m.get() + b, a.v.get() + b,
                           a.out.get() + b, e - b, args);
}

void two_pass(const train::OptimizerSettings& s, float* master, const float* grad, float* m,
              float* v, uint16_t* out, int64_t n, DType dt) {
  train::optimizer_update(s, master, grad, m, v, n, kLr, kGradScale, /*decay=*/true, kStep);
  train::host_cast_from_float(out, master, n, dt);
}

// The bandwidth peer: reads and writes the bytes host_update_range does, with arithmetic
// the compiler vectorises and the memory system outpaces.
void stream_range(float* __restrict master, const float* __restrict grad, float* __restrict m,
                  float* __restrict v, uint16_t* __restrict out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float g = grad[i];
    const float p = master[i] + g;
    master[i] = p;
    m[i] += g;
    v[i] += g;
    out[i] = static_cast<uint16_t>(std::bit_cast<uint32_t>(p) >> 16);
  }
}

// Runs host_update_range over all n elements with the engine's chunking, then, block by
// block, regenerates the same inputs, applies the two-pass form and compares masters, m, v
// and the output bit for bit. Returns how many elements differ in any of them.
int64_t count_one_pass_mismatches(train::HostThreadPool& pool, HostArrays& a, int64_t n, DType dt) {
  const train::OptimizerSettings s = adamw_settings();
  pool.parallel_for(n, [&](int64_t b, int64_t e) { one_pass(s, a, b, e, dt); });
  std::atomic<int64_t> mismatches{0};
  pool.parallel_for(n, [&](int64_t b, int64_t e) {
    constexpr int64_t kBlock = int64_t{1} << 16;
    std::vector<float> master(kBlock), grad(kBlock), m(kBlock), v(kBlock);
    std::vector<uint16_t> out(kBlock);
    int64_t local = 0;
    for (int64_t at = b; at < e; at += kBlock) {
      const int64_t c = std::min(kBlock, e - at);
      fill_inputs(master.data(), grad.data(), m.data(), v.data(), at, c);
      two_pass(s, master.data(), grad.data(), m.data(), v.data(), out.data(), c, dt);
      const auto same = [&](const auto* x, const auto* y) {
        return std::memcmp(x, y, static_cast<size_t>(c) * sizeof(*x)) == 0;
      };
      if (same(master.data(), a.master.get() + at) && same(m.data(), a.m.get() + at) &&
          same(v.data(), a.v.get() + at) && same(out.data(), a.out.get() + at)) {
        continue;
      }
      for (int64_t i = 0; i < c; ++i) {
        const int64_t j = at + i;
        local += std::bit_cast<uint32_t>(master[i]) != std::bit_cast<uint32_t>(a.master[j]) ||
                 std::bit_cast<uint32_t>(m[i]) != std::bit_cast<uint32_t>(a.m[j]) ||
                 std::bit_cast<uint32_t>(v[i]) != std::bit_cast<uint32_t>(a.v[j]) ||
                 out[i] != a.out[j];
      }
    }
    mismatches += local;
  });
  return mismatches.load();
}

struct Timing {
  double best_ms = 0;
  double median_ms = 0;
};

Timing time_repeats(int repeats, const std::function<void()>& run) {
  run();  // untimed: wakes the pool's threads and warms the caches and TLBs
  std::vector<double> ms;
  for (int r = 0; r < repeats; ++r) {
    const auto start = std::chrono::steady_clock::now();
    run();
    const auto stop = std::chrono::steady_clock::now();
    ms.push_back(std::chrono::duration<double, std::milli>(stop - start).count());
  }
  std::sort(ms.begin(), ms.end());
  const size_t r = ms.size();
  return {ms.front(), (ms[(r - 1) / 2] + ms[r / 2]) / 2};
}

void print_variant(const char* variant, const char* dtype, int threads, int64_t n, const Timing& t,
                   double bytes_per_element) {
  const double seconds = t.best_ms / 1e3;
  std::printf(
      "variant=%s dtype=%s threads=%d elements=%lld best_ms=%.3f median_ms=%.3f "
      "gparams_per_s=%.3f gb_per_s=%.2f\n",
      variant, dtype, threads, static_cast<long long>(n), t.best_ms, t.median_ms,
      static_cast<double>(n) / seconds / 1e9,
      static_cast<double>(n) * bytes_per_element / seconds / 1e9);
}

// The check, then the three update variants of one compute dtype. Returns false on a mismatch.
bool bench_dtype(train::HostThreadPool& pool, HostArrays& a, const Options& o, DType dt) {
  const int64_t n = o.elements;
  const char* name = dtype_name(dt);
  fill(pool, a, n);
  const int64_t mismatches = count_one_pass_mismatches(pool, a, n, dt);
  std::printf("check dtype=%s one_pass_equals_two_pass=%s mismatched_elements=%lld\n", name,
              mismatches == 0 ? "yes" : "no", static_cast<long long>(mismatches));
  if (mismatches != 0) return false;

  const train::OptimizerSettings s = adamw_settings();
  const Timing host_update = time_repeats(o.repeats, [&] {
    pool.parallel_for(n, [&](int64_t b, int64_t e) { one_pass(s, a, b, e, dt); });
  });
  const Timing two = time_repeats(o.repeats, [&] {
    pool.parallel_for(n, [&](int64_t b, int64_t e) {
      two_pass(s, a.master.get() + b, a.grad.get() + b, a.m.get() + b, a.v.get() + b,
               a.out.get() + b, e - b, dt);
    });
  });
  const Timing stream = time_repeats(o.repeats, [&] {
    pool.parallel_for(n, [&](int64_t b, int64_t e) {
      stream_range(a.master.get() + b, a.grad.get() + b, a.m.get() + b, a.v.get() + b,
                   a.out.get() + b, e - b);
    });
  });
  const int threads = pool.threads();
  print_variant("host_update", name, threads, n, host_update, kUpdateBytesPerElement);
  print_variant("two_pass", name, threads, n, two, kUpdateBytesPerElement);
  print_variant("stream", name, threads, n, stream, kUpdateBytesPerElement);
  std::printf("ratio host_update_vs_stream=%.3f dtype=%s\n", stream.best_ms / host_update.best_ms,
              name);
  std::printf("ratio two_pass_vs_one_pass=%.3f dtype=%s\n", host_update.best_ms / two.best_ms,
              name);
  return true;
}

void bench_memcpy(train::HostThreadPool& pool, const HostArrays& a, const Options& o) {
  const int64_t n = o.elements;
  auto copy = std::make_unique_for_overwrite<float[]>(n);
  pool.parallel_for(n, [&](int64_t b, int64_t e) {  // first touch, as for the arrays
    std::memset(copy.get() + b, 0, static_cast<size_t>(e - b) * sizeof(float));
  });
  const Timing t = time_repeats(o.repeats, [&] {
    pool.parallel_for(n, [&](int64_t b, int64_t e) {
      std::memcpy(copy.get() + b, a.grad.get() + b, static_cast<size_t>(e - b) * sizeof(float));
    });
  });
  print_variant("memcpy", "fp32", pool.threads(), n, t, kCopyBytesPerElement);
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = parse_options(argc, argv);
  try {
    train::HostThreadPool pool(options.threads);
    HostArrays arrays(options.elements);
    bool identical = true;
    for (DType dt : options.dtypes) identical = bench_dtype(pool, arrays, options, dt) && identical;
    bench_memcpy(pool, arrays, options);
    if (!identical) {
      std::fprintf(stderr,
                   "host_update_bench: host_update_range differs from optimizer_update + "
                   "host_cast_from_float\n");
      return 1;
    }
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "host_update_bench: out of memory for --elements %lld (%.1f GB needed)\n",
                 static_cast<long long>(options.elements),
                 static_cast<double>(options.elements) * 22 / 1e9);
    return 1;
  }
  return 0;
}
