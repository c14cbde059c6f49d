#include "clearsight/core/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <vector>

#include "clearsight/core/error.h"

namespace clearsight {
namespace {

TEST(CoreThreadPool, RunsEveryIndexOnceAcrossManyRounds) {
  ThreadPool pool(3);
  EXPECT_EQ(pool.size(), 3);
  std::vector<int> hits(100, 0);
  for (int round = 0; round < 200; ++round) {
    pool.parallel_for(100, [&](int i) { hits[i] += 1; });
  }
  for (int h : hits) EXPECT_EQ(h, 200);
}

TEST(CoreThreadPool, RethrowsTheFirstError) {
  ThreadPool pool(2);
  std::atomic<int> done{0};
  EXPECT_THROW(pool.parallel_for(10,
                                 [&](int i) {
                                   if (i == 3) CS_THROW(ShapeError, "bad ", i);
                                   ++done;
                                 }),
               ShapeError);
  EXPECT_EQ(done.load(), 9);
  pool.parallel_for(4, [&](int) { ++done; });  // Still usable afterwards.
  EXPECT_EQ(done.load(), 13);
}

TEST(CoreThreadPool, SingleThreadRunsInline) {
  ThreadPool pool(1);
  int sum = 0;
  pool.parallel_for(5, [&](int i) { sum += i; });
  EXPECT_EQ(sum, 10);
  EXPECT_THROW(ThreadPool(0), ConfigError);
}

}  // namespace
}  // namespace clearsight
