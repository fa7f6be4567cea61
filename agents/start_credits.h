// How much work an agent host asks its coordinator for. A host asks for a lease only when it can
// start the attempt now: a slot is free, and fewer than `parallel_starts` attempts are still being
// set up (their workspaces made). So a lease's clock counts from when its attempt starts, and a host
// busy making workspaces never sits on leases it cannot serve. Plain data on the host's executor.
#ifndef SWARM_AGENTS_START_CREDITS_H_
#define SWARM_AGENTS_START_CREDITS_H_

namespace swarm {

class StartCredits {
 public:
  StartCredits(int slots, int parallel_starts);

  // How many more leases to ask for now; counted as asked. 0 when the host cannot start more.
  int Ask();
  // A lease arrived (one asked for): its attempt is being set up.
  void Leased();
  // An attempt's set-up is over (its workspace is made, or could not be).
  void Started();
  // An attempt ended; `started` says whether Started() was called for it.
  void Ended(bool started);

  int held() const { return held_; }
  int starting() const { return starting_; }
  int asked() const { return asked_; }

 private:
  const int slots_;
  const int parallel_starts_;
  int held_ = 0;      // leases the host holds: starting or running
  int starting_ = 0;  // of those, still being set up
  int asked_ = 0;     // asked for and not arrived yet
};

}  // namespace swarm

#endif  // SWARM_AGENTS_START_CREDITS_H_
