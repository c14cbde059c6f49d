#include "clearsight/core/thread_pool.h"

#include <exception>

#include "clearsight/core/error.h"

namespace clearsight {

ThreadPool::ThreadPool(int threads) {
  CS_CHECK_AS(ConfigError, threads >= 1 && threads <= 1024, "thread count must be in 1..1024, got ",
              threads);
  for (int i = 1; i < threads; ++i) workers_.emplace_back([this] { work_loop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  start_cv_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::drain() {
  while (true) {
    const int i = next_.fetch_add(1, std::memory_order_relaxed);
    if (i >= n_) return;
    try {
      trampoline_(fn_, i);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!error_) error_ = std::current_exception();
    }
  }
}

void ThreadPool::run(int n, Trampoline trampoline, void* fn) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    trampoline_ = trampoline;
    fn_ = fn;
    n_ = n;
    next_.store(0, std::memory_order_relaxed);
    active_ = static_cast<int>(workers_.size());
    error_ = nullptr;
    ++generation_;
  }
  start_cv_.notify_all();
  drain();
  std::unique_lock<std::mutex> lock(mutex_);
  done_cv_.wait(lock, [this] { return active_ == 0; });
  if (error_) std::rethrow_exception(error_);
}

void ThreadPool::work_loop() {
  std::uint64_t seen = 0;
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      start_cv_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
    }
    drain();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (--active_ == 0) done_cv_.notify_one();
    }
  }
}

}  // namespace clearsight
