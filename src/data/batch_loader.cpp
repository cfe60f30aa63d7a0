#include "zerotune/data/batch_loader.hpp"

#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

#include "zerotune/base/error.hpp"

namespace zerotune::data {

namespace {

// One read-ahead result: a step, or the end of an epoch (no step), or a read error.
struct Item {
  std::optional<StepBatch> step;
  LoaderPosition after;
  std::exception_ptr error;
};

}  // namespace

struct BatchLoader::Impl {
  std::shared_ptr<const TokenFile> file;
  LoaderConfig config;
  int64_t num_examples = 0;
  int64_t rows_per_rank = 0;  // micro_batch * grad_accum
  int64_t global_batch = 0;   // rows_per_rank * world

  LoaderPosition consumer;  // after the last step next() returned

  // The background reader; all below under `mutex`.
  std::thread worker;
  std::mutex mutex;
  std::condition_variable changed;
  std::deque<Item> queue;
  LoaderPosition producer;  // where the reader continues
  uint64_t generation = 0;  // bumped by seek(): a read in flight for an older one is dropped
  bool stopping = false;
  bool failed = false;  // the reader queued an error and waits for a seek()

  // Epoch permutations, cached: one for the reader thread, one for synchronous reads.
  struct PermCache {
    int64_t epoch = -1;
    std::vector<int64_t> perm;
  };
  PermCache worker_perm, sync_perm;

  const std::vector<int64_t>& permutation(PermCache& cache, int64_t epoch) const {
    if (cache.epoch != epoch) {
      cache.perm = epoch_permutation(num_examples, config.seed, epoch, config.shuffle);
      cache.epoch = epoch;
    }
    return cache.perm;
  }

  bool epoch_done(const LoaderPosition& at) const {
    const int64_t left = num_examples - at.consumed_samples;
    return left <= 0 || (config.drop_last && left < global_batch);
  }

  // The step starting at `at` for this rank (or the end of the epoch), read from the file.
  Item produce(const LoaderPosition& at, PermCache& cache) const {
    Item item;
    if (epoch_done(at)) {
      item.after = LoaderPosition{at.epoch + 1, 0};
      return item;
    }
    const std::vector<int64_t>& perm = permutation(cache, at.epoch);
    std::vector<int64_t> rows(rows_per_rank);
    std::vector<bool> filler(rows_per_rank);
    for (int64_t k = 0; k < rows_per_rank; ++k) {
      const int64_t global = at.consumed_samples + config.rank + k * config.world;
      filler[k] = global >= num_examples;
      rows[k] = perm[global % num_examples];
    }
    const TokenExamples examples = file->read_rows(rows);
    const int64_t seq_len = examples.seq_len;
    StepBatch step;
    step.position = at;
    step.global_samples = std::min(global_batch, num_examples - at.consumed_samples);
    for (int64_t m = 0; m < config.grad_accum; ++m) {
      TokenExamples micro;
      micro.count = config.micro_batch;
      micro.seq_len = seq_len;
      const int64_t first = m * config.micro_batch * seq_len;
      const int64_t last = first + config.micro_batch * seq_len;
      micro.input_ids.assign(examples.input_ids.begin() + first, examples.input_ids.begin() + last);
      micro.labels.assign(examples.labels.begin() + first, examples.labels.begin() + last);
      micro.attention_mask.assign(examples.attention_mask.begin() + first,
                                  examples.attention_mask.begin() + last);
      for (int64_t i = 0; i < config.micro_batch; ++i) {
        if (!filler[m * config.micro_batch + i]) continue;
        std::fill(micro.labels.begin() + i * seq_len, micro.labels.begin() + (i + 1) * seq_len,
                  kIgnoreLabel);
        // No real token either: tokens/s counts attention_mask ones.
        std::fill(micro.attention_mask.begin() + i * seq_len,
                  micro.attention_mask.begin() + (i + 1) * seq_len, uint8_t{0});
      }
      step.micro_batches.push_back(std::move(micro));
    }
    item.after = LoaderPosition{at.epoch, at.consumed_samples + step.global_samples};
    item.step = std::move(step);
    return item;
  }

  void run_worker() {
    std::unique_lock<std::mutex> lock(mutex);
    while (true) {
      changed.wait(lock, [&] {
        return stopping || (!failed && static_cast<int64_t>(queue.size()) < config.prefetch_steps);
      });
      if (stopping) return;
      const LoaderPosition at = producer;
      const uint64_t started_generation = generation;
      lock.unlock();
      Item item;
      try {
        item = produce(at, worker_perm);
      } catch (...) {
        item.error = std::current_exception();
        item.after = at;
      }
      lock.lock();
      if (generation != started_generation) continue;  // seek() happened meanwhile
      if (item.error) failed = true;
      producer = item.after;
      queue.push_back(std::move(item));
      changed.notify_all();
    }
  }
};

BatchLoader::BatchLoader(std::shared_ptr<const TokenFile> file, const LoaderConfig& config)
    : impl_(std::make_unique<Impl>()) {
  if (!file) throw std::invalid_argument("BatchLoader: no file");
  if (config.micro_batch < 1 || config.grad_accum < 1 || config.world < 1 || config.rank < 0 ||
      config.rank >= config.world || config.prefetch_steps < 0) {
    throw std::invalid_argument(
        "BatchLoader: need micro_batch >= 1, grad_accum >= 1, 0 <= rank < world, "
        "prefetch_steps >= 0");
  }
  Impl& impl = *impl_;
  impl.file = std::move(file);
  impl.config = config;
  impl.num_examples = impl.file->info().num_examples;
  impl.rows_per_rank = config.micro_batch * config.grad_accum;
  impl.global_batch = impl.rows_per_rank * config.world;
  if (steps_per_epoch() == 0) {
    throw InputError(impl.file->info().path + ": " + std::to_string(impl.num_examples) +
                     " examples do not fill one global batch of " +
                     std::to_string(impl.global_batch) +
                     " (micro_batch x grad_accum x world) with drop_last");
  }
  if (config.prefetch_steps > 0) impl.worker = std::thread([&impl] { impl.run_worker(); });
}

BatchLoader::~BatchLoader() {
  if (!impl_->worker.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->changed.notify_all();
  impl_->worker.join();
}

int64_t BatchLoader::steps_per_epoch() const {
  const Impl& impl = *impl_;
  return impl.config.drop_last ? impl.num_examples / impl.global_batch
                               : (impl.num_examples + impl.global_batch - 1) / impl.global_batch;
}

void BatchLoader::seek(const LoaderPosition& position) {
  Impl& impl = *impl_;
  if (position.epoch < 0 || position.consumed_samples < 0 ||
      position.consumed_samples > impl.num_examples) {
    throw InputError(impl.file->info().path + ": cannot resume at epoch " +
                     std::to_string(position.epoch) + ", consumed_samples " +
                     std::to_string(position.consumed_samples) + ": the file has " +
                     std::to_string(impl.num_examples) + " examples");
  }
  impl.consumer = position;
  if (!impl.worker.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(impl.mutex);
    ++impl.generation;
    impl.queue.clear();
    impl.producer = position;
    impl.failed = false;
  }
  impl.changed.notify_all();
}

std::optional<StepBatch> BatchLoader::next() {
  Impl& impl = *impl_;
  Item item;
  if (!impl.worker.joinable()) {
    item = impl.produce(impl.consumer, impl.sync_perm);
  } else {
    std::unique_lock<std::mutex> lock(impl.mutex);
    impl.changed.wait(lock, [&] { return !impl.queue.empty(); });
    // An error stays queued: the loader keeps failing until seek().
    if (impl.queue.front().error) std::rethrow_exception(impl.queue.front().error);
    item = std::move(impl.queue.front());
    impl.queue.pop_front();
    lock.unlock();
    impl.changed.notify_all();
  }
  impl.consumer = item.after;
  return std::move(item.step);
}

LoaderPosition BatchLoader::position() const { return impl_->consumer; }

}  // namespace zerotune::data
