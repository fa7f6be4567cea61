// models.toml, from the user's home or from the repository being worked on (a project file may not
// name where keys come from or where requests go).
#include <cstddef>
#include <cstdint>
#include <string>

#include "models/model_config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const bool project_file = data[0] & 1;
  std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  swarm::ModelsConfig config;
  (void)swarm::MergeModelsToml(text, "models.toml", project_file, config);
  return 0;
}
