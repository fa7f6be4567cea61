// The LLM agent's prompts: text templates (agents/prompts/*.txt, compiled in) and how they are filled.
#ifndef SWARM_AGENTS_AGENT_PROMPTS_H_
#define SWARM_AGENTS_AGENT_PROMPTS_H_

#include <map>
#include <string>

#include "agents/prompts.h"  // generated

namespace swarm {

// Replaces each {{name}} in `tmpl` by its value; names without a value stay as they are.
inline std::string FillPrompt(const std::string& tmpl, const std::map<std::string, std::string>& values) {
  // One pass over the template: text that a value brings in is never substituted again.
  std::string out;
  std::size_t at = 0;
  for (std::size_t open = tmpl.find("{{"); open != std::string::npos; open = tmpl.find("{{", at)) {
    const std::size_t close = tmpl.find("}}", open + 2);
    if (close == std::string::npos) break;
    auto it = values.find(tmpl.substr(open + 2, close - open - 2));
    out.append(tmpl, at, open - at);
    out += it != values.end() ? it->second : tmpl.substr(open, close + 2 - open);
    at = close + 2;
  }
  out.append(tmpl, at, std::string::npos);
  return out;
}

}  // namespace swarm

#endif  // SWARM_AGENTS_AGENT_PROMPTS_H_
