// The LLM agent's prompts: text templates (agents/prompts/*.txt, compiled in) and how they are filled.
#ifndef SWARM_AGENTS_AGENT_PROMPTS_H_
#define SWARM_AGENTS_AGENT_PROMPTS_H_

#include <map>
#include <string>

#include "agents/prompts.h"  // generated

namespace swarm {

// Replaces each {{name}} in `tmpl` by its value; names without a value stay as they are.
inline std::string FillPrompt(std::string tmpl, const std::map<std::string, std::string>& values) {
  for (const auto& [name, value] : values) {
    const std::string key = "{{" + name + "}}";
    for (std::size_t pos = tmpl.find(key); pos != std::string::npos; pos = tmpl.find(key, pos + value.size())) {
      tmpl.replace(pos, key.size(), value);
    }
  }
  return tmpl;
}

}  // namespace swarm

#endif  // SWARM_AGENTS_AGENT_PROMPTS_H_
