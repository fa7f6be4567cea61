// A model server that runs inside the caller's process, named by a file: the scripted provider
// (models/scripted, docs/scripted-model.md). The gateway knows only this seam, so it never links the
// scripted server; a program that offers the `scripted:` provider installs it once at start-up with
// InstallScriptedModelServer() (models/scripted/scripted_provider.h).
#ifndef SWARM_MODELS_LOCAL_MODEL_SERVER_H_
#define SWARM_MODELS_LOCAL_MODEL_SERVER_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace swarm {

class LocalModelServer {
 public:
  virtual ~LocalModelServer() = default;
  virtual std::string base_url() const = 0;  // e.g. http://127.0.0.1:PORT
};

struct LocalModelServerKind {
  // Parses a script's text: a malformed script is refused before a run starts.
  std::function<absl::Status(const std::string& text)> check;
  // Starts a server that answers from the script at `path`; it stops when the result is destroyed.
  std::function<absl::StatusOr<std::unique_ptr<LocalModelServer>>(const std::string& path)> start;
};

// Installs the kind that serves `scripted:` models. Call before any model is resolved; not thread-safe
// against concurrent resolution.
void InstallLocalModelServer(LocalModelServerKind kind);

// The installed kind, or an error saying this program offers no scripted provider.
absl::StatusOr<const LocalModelServerKind*> InstalledLocalModelServer();

}  // namespace swarm

#endif  // SWARM_MODELS_LOCAL_MODEL_SERVER_H_
