// A scripted model's script (JSON): the stand-in for a provider in demos and tests.
#include <cstddef>
#include <cstdint>
#include <string>

#include "models/scripted/model_script.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<swarm::ModelScript> script = swarm::ModelScript::Parse(text);
  if (script.ok()) {
    int call = 0;
    (void)script->Take("conversation", &call);
  }
  return 0;
}
