#include "orchestrator/eval/eval_spec.h"

#include <toml++/toml.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "base/duration.h"
#include "base/toml_errors.h"

namespace swarm {
namespace {

absl::Status Bad(const std::string& origin, const toml::node& node, const std::string& what) {
  return TomlError(origin, node, what);
}

absl::StatusOr<std::vector<std::string>> Strings(const std::string& origin, const std::string& key,
                                                 const toml::node& node) {
  if (!node.is_array()) return Bad(origin, node, absl::StrCat(key, " must be a list of strings"));
  std::vector<std::string> out;
  for (const toml::node& item : *node.as_array()) {
    if (!item.is_string()) return Bad(origin, item, absl::StrCat(key, " must be a list of strings"));
    out.push_back(*item.value<std::string>());
  }
  return out;
}

// Safe anywhere in a shell word, quoted or not; else single-quoted.
std::string ShellWord(const std::string& s) {
  if (!s.empty() && s.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._+-/:@,=") ==
                        std::string::npos) {
    return s;
  }
  return absl::StrCat("'", absl::StrReplaceAll(s, {{"'", "'\\''"}}), "'");
}

absl::Status ReadRepo(const std::string& origin, const std::string& name, const toml::table& t, RepoEnvironment& r) {
  bool have_format = false;
  for (auto&& [k, v] : t) {
    const std::string key(k.str());
    const std::string where = absl::StrCat("[repo.\"", name, "\"] ", key);
    if (key == "test_cmd" || key == "test_format" || key == "test_report" || key == "timeout") {
      if (!v.is_string()) return Bad(origin, v, absl::StrCat(where, " must be a string"));
      const std::string s = *v.value<std::string>();
      if (key == "test_cmd") {
        r.test_cmd = s;
      } else if (key == "test_report") {
        r.test_report = s;
      } else if (key == "timeout") {
        absl::StatusOr<std::chrono::seconds> d = ParseDuration(s, where);
        if (!d.ok()) return Bad(origin, v, std::string(d.status().message()));
        if (d->count() <= 0) return Bad(origin, v, absl::StrCat(where, " must be more than 0"));
        r.timeout = *d;
      } else {
        absl::StatusOr<TestFormat> f = ParseTestFormat(s);
        if (!f.ok()) return Bad(origin, v, absl::StrCat(where, ": ", f.status().message()));
        if (*f == TestFormat::kExit) {
          return Bad(origin, v,
                     absl::StrCat(where, " = \"exit\" gives no per-test results, and grading needs them: use junit, ",
                                  "gtest, ctest, pytest, unittest or tap"));
        }
        r.test_format = *f;
        have_format = true;
      }
    } else if (key == "setup" || key == "env" || key == "ro_bind") {
      absl::StatusOr<std::vector<std::string>> list = Strings(origin, where, v);
      if (!list.ok()) return list.status();
      if (key == "env") {
        for (const std::string& e : *list) {
          if (e.find('=') == std::string::npos || e[0] == '=') {
            return Bad(origin, v, absl::StrCat(where, ": \"", e, "\" is not NAME=VALUE"));
          }
        }
        r.env = std::move(*list);
      } else if (key == "ro_bind") {
        for (const std::string& p : *list) {
          if (p.empty() || p[0] != '/')
            return Bad(origin, v, absl::StrCat(where, ": \"", p, "\" is not an absolute path"));
        }
        r.ro_binds = std::move(*list);
      } else {
        r.setup = std::move(*list);
      }
    } else {
      return Bad(origin, v,
                 absl::StrCat("unknown key ", key, " in [repo.\"", name,
                              "\"] (known: test_cmd, test_format, test_report, setup, env, ro_bind, timeout)"));
    }
  }
  if (r.test_cmd.empty()) return Bad(origin, t, absl::StrCat("[repo.\"", name, "\"] has no test_cmd"));
  if (!have_format) {
    return Bad(origin, t,
               absl::StrCat("[repo.\"", name, "\"] has no test_format (junit, gtest, ctest, pytest, unittest or tap): ",
                            "grading reads the results test by test"));
  }
  if (r.test_format == TestFormat::kJunit && r.test_report.empty()) {
    return Bad(origin, t, absl::StrCat("[repo.\"", name, "\"] test_format = \"junit\" needs test_report"));
  }
  if (!r.test_report.empty() && (r.test_report[0] == '/' || r.test_report.find("..") != std::string::npos)) {
    return Bad(origin, t, absl::StrCat("[repo.\"", name, "\"] test_report must be a path inside the repository"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<EvalSpec> ParseEvalSpec(const std::string& text, const std::string& origin) {
  toml::table root;
  try {
    root = toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    return TomlParseError(origin, e);
  }
  EvalSpec spec;
  for (auto&& [k, v] : root) {
    if (k.str() != "repo")
      return Bad(origin, v, absl::StrCat("unknown table ", std::string(k.str()), " (known: repo)"));
    if (!v.is_table()) return Bad(origin, v, "repo must be a table of [repo.\"owner/name\"] tables");
    for (auto&& [name, rv] : *v.as_table()) {
      const std::string repo(name.str());
      if (!rv.is_table()) return Bad(origin, rv, absl::StrCat("repo.\"", repo, "\" must be a table"));
      if (absl::Status s = ReadRepo(origin, repo, *rv.as_table(), spec.repos[repo]); !s.ok()) return s;
    }
  }
  if (spec.repos.empty()) return absl::InvalidArgumentError(absl::StrCat(origin, ": no [repo.\"owner/name\"] table"));
  return spec;
}

std::string ExpandCommand(const std::string& command, const std::vector<std::string>& tests,
                          const std::string& version) {
  std::vector<std::string> words;
  for (const std::string& t : tests) words.push_back(ShellWord(t));
  return absl::StrReplaceAll(command, {{"{tests}", absl::StrJoin(words, " ")},
                                       {"{version}", version.empty() ? std::string() : ShellWord(version)}});
}

}  // namespace swarm
