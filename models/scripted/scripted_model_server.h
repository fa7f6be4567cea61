// A stand-in for model providers: an HTTP(S) server that answers OpenAI Chat Completions
// (POST .../chat/completions) and Anthropic Messages (POST .../messages) requests from a script,
// streaming or not, in the providers' real wire formats. The model gateway's tests and the offline
// demo (`swarm run --model scripted:FILE`) talk to it with the real provider clients.
//
// Replies are keyed by conversation, the request header x-swarm-conversation, so concurrent callers
// each get their own deterministic sequence. The script format is in docs/scripted-model.md.
#ifndef SWARM_MODELS_SCRIPTED_SCRIPTED_MODEL_SERVER_H_
#define SWARM_MODELS_SCRIPTED_SCRIPTED_MODEL_SERVER_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace swarm {

struct ScriptedServerOptions {
  std::string host = "127.0.0.1";
  int port = 0;                      // 0: any free port
  std::string cert_file, key_file;   // both set: HTTPS with this PEM chain and key; else plain HTTP
};

// Serves on its own thread. All methods may be called from any thread.
class ScriptedModelServer final {
 public:
  // Parses and validates the script (errors name the conversation and step at fault), then listens.
  // Fails on a bad script, an unusable address or port, or unreadable certificate files.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<ScriptedModelServer>> Start(
      const std::string& script_json, ScriptedServerOptions options = {});
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<ScriptedModelServer>> StartFromFile(
      const std::string& path, ScriptedServerOptions options = {});

  // Closes every connection (stalled ones included), abandons delayed answers, joins the thread.
  ~ScriptedModelServer();
  ScriptedModelServer(const ScriptedModelServer&) = delete;
  ScriptedModelServer& operator=(const ScriptedModelServer&) = delete;

  // "http://127.0.0.1:PORT/v1", or with TLS "https://localhost:PORT/v1" (a name certificates carry).
  std::string base_url() const;
  int port() const;

  struct SeenRequest {
    std::string conversation;  // the x-swarm-conversation header; "" when absent
    std::string method, path;  // path with its query string
    std::map<std::string, std::string> headers;  // names in lower case
    std::string body;
    int status = 0;  // the status answered; 0 for a stalled call
  };
  // Every request, in arrival order.
  std::vector<SeenRequest> requests() const;
  // One line per call the script had no answer for (no step left, an `expect` not met, an unknown
  // path, a malformed request); a test that made one should fail. Such calls are answered 500,
  // or 404/400 for an unknown path or a malformed request.
  std::vector<std::string> unexpected() const;
  // The most requests in flight at once (from a request read until its answer is written or its
  // connection closes).
  int max_concurrent() const;
  int connections_accepted() const;

 private:
  class Impl;
  explicit ScriptedModelServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace swarm

#endif  // SWARM_MODELS_SCRIPTED_SCRIPTED_MODEL_SERVER_H_
