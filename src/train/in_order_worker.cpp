#include "zerotune/train/in_order_worker.hpp"

namespace zerotune::train {

InOrderWorker::~InOrderWorker() {
  if (thread_.joinable()) thread_.join();
}

void InOrderWorker::start(int n, std::function<void(int)> task) {
  finish();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    completed_ = 0;
    total_ = n;
    error_ = nullptr;
  }
  thread_ = std::thread([this, n, task = std::move(task)] {
    for (int i = 0; i < n; ++i) {
      try {
        task(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex_);
        error_ = std::current_exception();
        progress_.notify_all();
        return;
      }
      std::lock_guard<std::mutex> lock(mutex_);
      completed_ = i + 1;
      progress_.notify_all();
    }
  });
}

bool InOrderWorker::done(int i, bool block) {
  std::unique_lock<std::mutex> lock(mutex_);
  auto ready = [&] { return error_ || completed_ > i || completed_ >= total_; };
  if (block) {
    progress_.wait(lock, ready);
  } else if (!ready()) {
    return false;
  }
  if (error_) std::rethrow_exception(error_);
  return true;
}

void InOrderWorker::finish() {
  if (!thread_.joinable()) return;
  thread_.join();
  std::lock_guard<std::mutex> lock(mutex_);
  if (error_) {
    std::exception_ptr e = error_;
    error_ = nullptr;
    std::rethrow_exception(e);
  }
}

}  // namespace zerotune::train
