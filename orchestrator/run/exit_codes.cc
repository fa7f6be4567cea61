#include "orchestrator/run/exit_codes.h"

#include <string>
#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/string_view.h"
#include "absl/types/optional.h"

namespace swarm {
namespace {

// The payload that carries an exact exit status, in decimal.
constexpr absl::string_view kExitCodePayload = "type.swarm.dev/exit_code";

}  // namespace

int ExitCodeFor(const absl::Status& status) {
  if (absl::optional<absl::Cord> attached = status.GetPayload(kExitCodePayload)) {
    int code = 0;
    if (absl::SimpleAtoi(std::string(*attached), &code)) return code;
  }
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return kExitOk;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kUnauthenticated:
    case absl::StatusCode::kOutOfRange:
      return kExitUsage;
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kResourceExhausted:  // a full disk, a limit of the machine's
      return kExitEnvironment;
    case absl::StatusCode::kCancelled:
      return kExitCancelled;
    default:
      return kExitInternal;
  }
}

absl::Status RunEndStatus(int exit_code) {
  absl::StatusCode code = absl::StatusCode::kInternal;
  switch (exit_code) {
    case kExitOk:
      return absl::OkStatus();
    case kExitIncomplete:
      code = absl::StatusCode::kAborted;
      break;
    case kExitUsage:
      code = absl::StatusCode::kInvalidArgument;
      break;
    case kExitEnvironment:
      code = absl::StatusCode::kFailedPrecondition;
      break;
    case kExitBudget:
      code = absl::StatusCode::kResourceExhausted;
      break;
    case kExitCancelled:
    case kExitInterrupted:
      code = absl::StatusCode::kCancelled;
      break;
    default:
      break;
  }
  return WithExitCode(absl::Status(code, ""), exit_code);
}

absl::Status BudgetEnds(absl::Status status) {
  return absl::IsResourceExhausted(status) ? WithExitCode(std::move(status), kExitBudget) : status;
}

absl::Status WithExitCode(absl::Status status, int exit_code) {
  status.SetPayload(kExitCodePayload, absl::Cord(std::to_string(exit_code)));
  return status;
}

}  // namespace swarm
