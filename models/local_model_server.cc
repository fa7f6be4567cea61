#include "models/local_model_server.h"

#include <utility>

namespace swarm {
namespace {

LocalModelServerKind& Installed() {
  static LocalModelServerKind* kind = new LocalModelServerKind();  // never destroyed: used at exit
  return *kind;
}

}  // namespace

void InstallLocalModelServer(LocalModelServerKind kind) { Installed() = std::move(kind); }

absl::StatusOr<const LocalModelServerKind*> InstalledLocalModelServer() {
  const LocalModelServerKind& kind = Installed();
  if (!kind.check || !kind.start) {
    return absl::FailedPreconditionError("this program was built without the scripted model server");
  }
  return &kind;
}

}  // namespace swarm
