// A fixed pool of worker threads for data-parallel loops that must not allocate per call.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace clearsight {

/// Runs fn(i) for i in [0, n) on a fixed set of threads (the caller is one of them).
class ThreadPool {
 public:
  /// Starts threads - 1 workers (threads >= 1; 1 means everything runs on the caller).
  explicit ThreadPool(int threads);
  /// Stops and joins the workers.
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  /// Calls fn(i) for every i in [0, n) and returns when all calls are done. Tasks are handed
  /// out dynamically; fn must be safe to call concurrently for different i. Exceptions thrown by
  /// fn are rethrown here (the first one).
  template <typename Fn>
  void parallel_for(int n, Fn&& fn) {
    if (n <= 0) return;
    if (workers_.empty() || n == 1) {
      for (int i = 0; i < n; ++i) fn(i);
      return;
    }
    run(n, &invoke<std::remove_reference_t<Fn>>, static_cast<void*>(&fn));
  }

  /// Number of threads including the caller.
  int size() const { return static_cast<int>(workers_.size()) + 1; }

 private:
  using Trampoline = void (*)(void*, int);
  template <typename Fn>
  static void invoke(void* fn, int i) {
    (*static_cast<Fn*>(fn))(i);
  }
  void run(int n, Trampoline trampoline, void* fn);
  void work_loop();
  void drain();

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable start_cv_;
  std::condition_variable done_cv_;
  std::uint64_t generation_ = 0;
  bool stop_ = false;
  Trampoline trampoline_ = nullptr;
  void* fn_ = nullptr;
  int n_ = 0;
  std::atomic<int> next_{0};
  int active_ = 0;
  std::exception_ptr error_;
};

}  // namespace clearsight
