// Prompt templates: text with {{name}} placeholders, filled in one pass (text a value brings in is
// never substituted again; unknown names stay as they are). The LLM agent's and the planner's.
#ifndef SWARM_BASE_PROMPT_TEMPLATE_H_
#define SWARM_BASE_PROMPT_TEMPLATE_H_

#include <map>
#include <string>

namespace swarm {

inline std::string FillTemplate(const std::string& tmpl, const std::map<std::string, std::string>& values) {
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

#endif  // SWARM_BASE_PROMPT_TEMPLATE_H_
