#include "core/base/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <vector>

namespace hsr {
namespace {

TEST(ThreadPoolTest, RunsEveryTaskOnce) {
  for (size_t threads : {1, 2, 3, 8}) {
    ThreadPool pool(threads);
    for (size_t tasks : {0, 1, 2, 7, 1000}) {
      std::vector<std::atomic<int>> hits(tasks);
      pool.Run(tasks, [&](size_t task, size_t thread) {
        ASSERT_LT(thread, pool.NumThreads());
        hits[task].fetch_add(1);
      });
      for (size_t t = 0; t < tasks; ++t) EXPECT_EQ(hits[t].load(), 1) << "task " << t;
    }
  }
}

TEST(ThreadPoolTest, RethrowsWorkerExceptionAndStaysUsable) {
  ThreadPool pool(3);
  EXPECT_THROW(pool.Run(100,
                        [](size_t task, size_t) {
                          if (task == 42) throw std::runtime_error("task 42");
                        }),
               std::runtime_error);
  std::atomic<size_t> count{0};
  pool.Run(50, [&](size_t, size_t) { count.fetch_add(1); });
  EXPECT_EQ(count.load(), 50u);
}

}  // namespace
}  // namespace hsr
