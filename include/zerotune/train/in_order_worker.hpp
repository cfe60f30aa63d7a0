// One background thread that runs task(0), task(1), ... task(n - 1) in order, while the caller
// goes on and asks, item by item, whether one is done. The offloaded optimizer step runs its
// host update of unit after unit here, so the next forward can start on the first units while
// the host still updates the last ones. The first exception a task throws ends the run; it
// is rethrown to the caller by the next done() or finish(), so a failed update never hangs
// the rank that waits for it.
#pragma once

#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>

namespace zerotune::train {

class InOrderWorker {
 public:
  InOrderWorker() = default;
  ~InOrderWorker();  // waits for the run; an exception it left is dropped
  InOrderWorker(const InOrderWorker&) = delete;
  InOrderWorker& operator=(const InOrderWorker&) = delete;

  // Starts task(0..n-1) on the thread. A run in progress is finished first.
  void start(int n, std::function<void(int)> task);
  // Whether task(i) and all before it are done; with `block`, waits until they are. Rethrows
  // the run's exception. True when no run is in progress.
  bool done(int i, bool block);
  // Waits for the whole run and joins the thread; rethrows the run's exception.
  void finish();
  bool running() const { return thread_.joinable(); }

 private:
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable progress_;
  int completed_ = 0;  // tasks done in the current run
  int total_ = 0;
  std::exception_ptr error_;
};

}  // namespace zerotune::train
