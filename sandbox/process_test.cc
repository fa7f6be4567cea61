#include "sandbox/process.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

namespace swarm {
namespace {

TEST(ProcessTest, CapturesOutputAndExitStatus) {
  ProcessSpec spec;
  spec.argv = {"sh", "-c", "cat; echo err >&2; exit 7"};
  spec.stdin_data = std::string(300000, 'x');  // larger than a pipe buffer
  absl::StatusOr<ProcessResult> r = RunProcess(spec);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->exit_code, 7);
  EXPECT_EQ(r->out.size(), 300000u);
  EXPECT_EQ(r->err, "err\n");
  EXPECT_EQ(r->Describe(), "exit 7");
}

TEST(ProcessTest, MissingProgramIsNotFound) {
  ProcessSpec spec;
  spec.argv = {"swarm-no-such-program"};
  absl::StatusOr<ProcessResult> r = RunProcess(spec);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
}

TEST(ProcessTest, MissingWorkingDirectoryIsAnError) {
  ProcessSpec spec;
  spec.argv = {"true"};
  spec.cwd = "/nonexistent/swarm";
  absl::StatusOr<ProcessResult> r = RunProcess(spec);
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("/nonexistent/swarm"), std::string::npos);
}

TEST(ProcessTest, ManyConcurrentChildrenOnOneThread) {
  boost::asio::io_context io;
  int finished = 0;
  for (int i = 0; i < 50; ++i) {
    ProcessSpec spec;
    spec.argv = {"sh", "-c", "sleep 0.2; echo " + std::to_string(i)};
    ASSERT_TRUE(StartProcess(io, spec, [&, i](absl::StatusOr<ProcessResult> r) {
                  ASSERT_TRUE(r.ok());
                  EXPECT_EQ(r->out, std::to_string(i) + "\n");
                  ++finished;
                }).ok());
  }
  io.run();
  EXPECT_EQ(finished, 50);
}

TEST(ProcessTest, TimeoutKillsTheGroup) {
  ProcessSpec spec;
  spec.argv = {"sh", "-c", "sleep 30 & sleep 30"};
  spec.timeout = std::chrono::milliseconds(200);
  absl::StatusOr<ProcessResult> r = RunProcess(spec);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->timed_out);
  EXPECT_LT(r->duration.count(), 5000);
}

}  // namespace
}  // namespace swarm
