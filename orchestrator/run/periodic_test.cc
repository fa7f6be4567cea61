#include "orchestrator/run/periodic.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

namespace swarm {
namespace {

TEST(PeriodicTest, TicksUntilTheTaskSaysStop) {
  boost::asio::io_context io;
  int ticks = 0;
  Periodic periodic(io, std::chrono::milliseconds(1), [&] { return ++ticks < 3; });
  io.run();  // returns once nothing is left to wait for
  EXPECT_EQ(ticks, 3);
}

TEST(PeriodicTest, NoTickRunsOnceItIsGone) {
  boost::asio::io_context io;
  int ticks = 0;
  auto periodic = std::make_unique<Periodic>(io, std::chrono::milliseconds(1), [&] { return ++ticks < 100; });
  boost::asio::post(io, [&] { periodic.reset(); });
  io.run();
  EXPECT_EQ(ticks, 0);
}

}  // namespace
}  // namespace swarm
