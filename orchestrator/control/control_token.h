// The Control API's bearer token: made by `swarm serve`, kept in a file only its owner may read, sent
// by every client as call metadata (`authorization: Bearer <token>`). A token is never printed, logged,
// passed in argv or put into a sandbox.
#ifndef SWARM_ORCHESTRATOR_CONTROL_CONTROL_TOKEN_H_
#define SWARM_ORCHESTRATOR_CONTROL_CONTROL_TOKEN_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "base/tokens_equal.h"  // TokensEqual, for servers checking a token

namespace swarm {

// The token file `swarm serve` writes by default, in its state directory.
inline constexpr char kTokenFileName[] = "control.token";
// The environment variable clients read the token from.
inline constexpr char kTokenEnv[] = "SWARM_TOKEN";
// The metadata key a token travels in (lower case, as gRPC requires).
inline constexpr char kAuthorizationKey[] = "authorization";
// Tokens shorter than this are refused: guessing one must stay out of reach.
inline constexpr size_t kMinTokenChars = 32;

// InvalidArgument when `token` is shorter than kMinTokenChars, naming where it came from (`source`)
// and how to make a better one.
absl::Status CheckTokenLength(const std::string& token, const std::string& source);

// 32 random bytes from getrandom(2), in hex (256 bits). Internal when the kernel has no randomness to give.
absl::StatusOr<std::string> NewControlToken();

// Writes `token` into `path` atomically (a new 0600 file made with O_EXCL beside it, then renamed over
// `path`), so that the file is never readable by anyone but its owner, not even for a moment.
absl::Status WriteTokenFile(const std::string& path, const std::string& token);

// Reads a token from `path`: a regular file (not a link, FIFO or device) of at most 4 KiB, whose content
// less surrounding whitespace is the token. With `private_only` (a server's own token) a file that its
// group or others may read is refused. InvalidArgument or NotFound naming the file, never its content.
absl::StatusOr<std::string> ReadTokenFile(const std::string& path, bool private_only);

// The token a client sends to the server at `address`: from `token_file` when given, else $SWARM_TOKEN,
// else, for a Unix socket, the `control.token` beside it when there is one (the default `swarm serve`
// keeps both in its state directory). Empty when none of them gives one: the server will say how to
// pass one. A TCP address never gets a default: a token is only sent where the user said.
absl::StatusOr<std::string> ClientToken(const std::string& address, const std::string& token_file);

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_CONTROL_CONTROL_TOKEN_H_
