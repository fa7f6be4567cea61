// The file tools of an LLM agent, on its workspace: list_dir, read_file, search, edit, create_file.
// Each returns the observation the model reads next, or an error whose message tells the model what
// to do differently; none acts on anything outside the workspace (workspace_path.h).
#ifndef SWARM_TOOLS_FILE_TOOLS_H_
#define SWARM_TOOLS_FILE_TOOLS_H_

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"

namespace swarm {

inline constexpr std::size_t kMaxObservationBytes = 20000;  // longer output is cut, with a note saying so

// Entries of a directory, directories with a trailing "/", sorted; .git is left out.
absl::StatusOr<std::string> ListDir(const std::string& root, const std::string& path);

// Lines start_line..end_line (1-based, inclusive) with their numbers.
absl::StatusOr<std::string> ReadFile(const std::string& root, const std::string& path,
                                     std::optional<int> start_line = std::nullopt,
                                     std::optional<int> end_line = std::nullopt);

// What one search may spend. It stops at the first limit it reaches and its observation says so.
// The longest one search call runs, whatever the attempt has left.
inline constexpr std::chrono::seconds kMaxSearchTime{10};

struct SearchLimits {
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  const char* deadline_reason = "the attempt's time is up";  // said when the deadline stops it
  std::uintmax_t max_bytes = 64 << 20;  // of files read
  std::size_t max_files = 50000;        // files read
};

// Lines matching a regular expression, as path:line: text, under `path` (default: all). The pattern is
// RE2's syntax, which is ECMAScript's without backreferences and lookaround; matching takes time linear
// in the text, whatever the pattern, so each line is matched whole. An invalid
// pattern is InvalidArgument, naming what is wrong with it.
absl::StatusOr<std::string> Search(const std::string& root, const std::string& pattern,
                                   const std::string& path = ".", const SearchLimits& limits = {});

// Replaces `old_text` by `new_text`; `old_text` must occur exactly once. When it does not occur, the
// error shows the lines nearest to it; when it occurs more than once, where.
absl::StatusOr<std::string> Edit(const std::string& root, const std::string& path, const std::string& old_text,
                                 const std::string& new_text);

// Writes a new file (parents made as needed); an existing file is an error (use edit).
absl::StatusOr<std::string> CreateFile(const std::string& root, const std::string& path, const std::string& content);

// `text` cut to kMaxObservationBytes (at a line end where possible), with a note saying what was cut.
std::string Truncated(std::string text, std::size_t max_bytes = kMaxObservationBytes);

}  // namespace swarm

#endif  // SWARM_TOOLS_FILE_TOOLS_H_
