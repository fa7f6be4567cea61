// Errors of a TOML file read by swarm (models.toml, an eval spec), each naming the file and the line.
// Header-only: a part that reads TOML links tomlplusplus itself.
#ifndef SWARM_BASE_TOML_ERRORS_H_
#define SWARM_BASE_TOML_ERRORS_H_

#include <toml++/toml.h>

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace swarm {

// "origin:line" where `node` is, or `origin` when it has no place (a table made implicitly).
inline std::string TomlWhere(const std::string& origin, const toml::node& node) {
  const auto& src = node.source();
  if (src.begin.line == 0) return origin;
  return absl::StrCat(origin, ":", static_cast<int>(src.begin.line));
}

// InvalidArgument "origin:line: what".
inline absl::Status TomlError(const std::string& origin, const toml::node& node, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat(TomlWhere(origin, node), ": ", what));
}

// InvalidArgument "origin:line: not valid TOML: ...".
inline absl::Status TomlParseError(const std::string& origin, const toml::parse_error& e) {
  return absl::InvalidArgumentError(absl::StrCat(origin, ":", static_cast<int>(e.source().begin.line),
                                                 ": not valid TOML: ", std::string(e.description())));
}

}  // namespace swarm

#endif  // SWARM_BASE_TOML_ERRORS_H_
