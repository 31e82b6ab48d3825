// ThreadPool: a fixed set of worker threads for data-parallel loops (Highway 1.0.3 has none).
//
// Run(num_tasks, fn) calls fn(task, thread) for every task in [0, num_tasks) across
// NumThreads() threads (the caller is thread 0) and returns when all are done. Tasks are
// handed out dynamically (atomic counter). An exception thrown by fn stops the handing out
// of further tasks and the first one is rethrown in the caller; none leaves a worker.
// Run is not reentrant: one Run at a time per pool. Workers block (no spinning) between runs.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace hsr {

class ThreadPool {
 public:
  // threads >= 1; 0 means std::thread::hardware_concurrency().
  explicit ThreadPool(size_t threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  size_t NumThreads() const { return workers_.size() + 1; }
  void Run(size_t num_tasks, const std::function<void(size_t task, size_t thread)>& fn);

 private:
  void WorkerLoop(size_t thread);
  void Drain(size_t thread);

  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable wake_, done_;
  const std::function<void(size_t, size_t)>* fn_ = nullptr;
  size_t num_tasks_ = 0;
  size_t next_task_ = 0;
  size_t busy_ = 0;         // workers still inside the current run
  uint64_t generation_ = 0;  // incremented per Run
  bool stop_ = false;
  std::exception_ptr error_;
};

}  // namespace hsr
