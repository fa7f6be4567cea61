// Reading and removing a file that something untrusted (an agent, a patched test) may have made, by a
// path relative to a directory it controls. Every component of the path is resolved beneath that
// directory by the kernel (openat2 with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS):
// no "..", absolute path or link of any kind is followed, so the file cannot be one outside the
// directory; it must be a regular file (a FIFO, a device or a directory is refused without blocking),
// and it is read with a size cap. Thread-safe; no exceptions.
#ifndef SWARM_SANDBOX_BENEATH_H_
#define SWARM_SANDBOX_BENEATH_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace swarm {

// The contents of the regular file `relative` beneath the directory open as `dir_fd` (an O_PATH or
// O_DIRECTORY descriptor, not taken over). Errors, each with a message naming `relative` (escaped) and
// why: NotFound (no such file), PermissionDenied (a link, a path leaving the directory, or no
// permission), FailedPrecondition (not a regular file), ResourceExhausted (larger than `max_bytes`),
// Unavailable (the kernel has no openat2), Internal (another I/O error).
[[nodiscard]] absl::StatusOr<std::string> ReadFileBeneath(int dir_fd, std::string_view relative,
                                                          std::size_t max_bytes);
// As above, beneath the directory `dir` (which is trusted: the caller made it; it is opened without
// following a link at its last component).
[[nodiscard]] absl::StatusOr<std::string> ReadFileBeneath(const std::string& dir, std::string_view relative,
                                                          std::size_t max_bytes);

// Removes the file (or link, FIFO...; not a directory) `relative` beneath `dir`, resolving its parent
// as ReadFileBeneath does, so a link in the parent's path cannot make it remove a file elsewhere. OK
// when it did not exist.
[[nodiscard]] absl::Status RemoveFileBeneath(const std::string& dir, std::string_view relative);

// Empties the regular file `relative` beneath the directory open as `dir_fd` (resolved as
// ReadFileBeneath does; a link, a FIFO or a device is left alone, and a file with other names too
// unless `even_with_other_names`: they may lie outside the directory). OK when it did not exist.
[[nodiscard]] absl::Status TruncateFileBeneath(int dir_fd, std::string_view relative,
                                               bool even_with_other_names = false);

}  // namespace swarm

#endif  // SWARM_SANDBOX_BENEATH_H_
