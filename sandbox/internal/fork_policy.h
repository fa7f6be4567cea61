// Whether this build starts children by fork. A child that shares its parent's memory until it
// execs (clone with CLONE_VM, as posix_spawn does) costs nothing, where a fork copies the page
// tables of a parent that may hold hundreds of MiB; but ThreadSanitizer cannot follow such a child
// (its clone interceptor stops the process), so a build under TSan (scripts/tsan.sh) forks them all.
#ifndef SWARM_SANDBOX_INTERNAL_FORK_POLICY_H_
#define SWARM_SANDBOX_INTERNAL_FORK_POLICY_H_

namespace swarm {

#if defined(__SANITIZE_THREAD__)
inline constexpr bool kForkAlways = true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
inline constexpr bool kForkAlways = true;
#else
inline constexpr bool kForkAlways = false;
#endif
#else
inline constexpr bool kForkAlways = false;
#endif

}  // namespace swarm

#endif  // SWARM_SANDBOX_INTERNAL_FORK_POLICY_H_
