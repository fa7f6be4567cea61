// Offers the `scripted:` provider in this program: the gateway starts a ScriptedModelServer for it.
#ifndef SWARM_MODELS_SCRIPTED_SCRIPTED_PROVIDER_H_
#define SWARM_MODELS_SCRIPTED_SCRIPTED_PROVIDER_H_

namespace swarm {

// Installs the scripted model server as the gateway's local model server (models/local_model_server.h).
void InstallScriptedModelServer();

}  // namespace swarm

#endif  // SWARM_MODELS_SCRIPTED_SCRIPTED_PROVIDER_H_
