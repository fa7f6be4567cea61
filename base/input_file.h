// Reading a file the user named (a plan, a task): a regular file, at most a fixed size.
#ifndef SWARM_BASE_INPUT_FILE_H_
#define SWARM_BASE_INPUT_FILE_H_

#include <cstddef>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"

namespace swarm {

// The largest plan or task file swarm reads.
inline constexpr std::size_t kMaxInputFileBytes = std::size_t{16} << 20;

// The contents of `path`. InvalidArgument, naming `what` ("the plan file") and `path`, when it cannot
// be opened, is not a regular file (a FIFO, a device such as /dev/zero, a directory: nothing is read
// from it and opening it does not block), or holds more than `cap` bytes.
absl::StatusOr<std::string> ReadInputFile(const std::string& path, absl::string_view what,
                                          std::size_t cap = kMaxInputFileBytes);

}  // namespace swarm

#endif  // SWARM_BASE_INPUT_FILE_H_
