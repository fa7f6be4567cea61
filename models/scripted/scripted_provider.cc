#include "models/scripted/scripted_provider.h"

#include <memory>
#include <string>
#include <utility>

#include "models/local_model_server.h"
#include "models/scripted/model_script.h"
#include "models/scripted/scripted_model_server.h"

namespace swarm {
namespace {

class ScriptedServer final : public LocalModelServer {
 public:
  explicit ScriptedServer(std::unique_ptr<ScriptedModelServer> server) : server_(std::move(server)) {}
  std::string base_url() const override { return server_->base_url(); }

 private:
  std::unique_ptr<ScriptedModelServer> server_;
};

}  // namespace

void InstallScriptedModelServer() {
  LocalModelServerKind kind;
  kind.check = [](const std::string& text) -> absl::Status { return ModelScript::Parse(text).status(); };
  kind.start = [](const std::string& path) -> absl::StatusOr<std::unique_ptr<LocalModelServer>> {
    absl::StatusOr<std::unique_ptr<ScriptedModelServer>> server = ScriptedModelServer::StartFromFile(path);
    if (!server.ok()) return server.status();
    return std::make_unique<ScriptedServer>(std::move(*server));
  };
  InstallLocalModelServer(std::move(kind));
}

}  // namespace swarm
