#include "orchestrator/eval/instances.h"

#include <nlohmann/json.hpp>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "base/terminal_text.h"
#include "orchestrator/eval/internal/json_records.h"
#include "orchestrator/plan/plan.h"

namespace swarm {
namespace {

using nlohmann::json;

absl::Status Bad(std::string_view source, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat(std::string(source), ": ", what));
}

bool IsHex(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return absl::ascii_isxdigit(c); });
}

// A list of test ids, or a JSON string holding one.
absl::StatusOr<std::vector<std::string>> TestList(const json& j, const char* field, const std::string& where,
                                                  std::string_view source) {
  if (!j.contains(field)) return Bad(source, absl::StrCat(where, ": missing field \"", field, "\""));
  json list = j[field];
  if (list.is_string()) {
    list = json::parse(list.get<std::string>(), nullptr, false);
    if (list.is_discarded()) {
      return Bad(source, absl::StrCat(where, ": \"", field, "\" is a string that does not hold a JSON list"));
    }
  }
  if (!list.is_array()) return Bad(source, absl::StrCat(where, ": \"", field, "\" must be a list of test ids"));
  std::vector<std::string> tests;
  for (const json& t : list) {
    if (!t.is_string() || t.get<std::string>().empty()) {
      return Bad(source, absl::StrCat(where, ": \"", field, "\" must hold non-empty strings only"));
    }
    tests.push_back(t.get<std::string>());
  }
  return tests;
}

absl::StatusOr<std::string> Text(const json& j, const char* field, bool required, const std::string& where,
                                 std::string_view source) {
  if (!j.contains(field) || j[field].is_null()) {
    if (required) return Bad(source, absl::StrCat(where, ": missing field \"", field, "\""));
    return std::string();
  }
  if (!j[field].is_string()) return Bad(source, absl::StrCat(where, ": \"", field, "\" must be a string"));
  return j[field].get<std::string>();
}

absl::StatusOr<EvalInstance> ReadInstance(const json& j, const std::string& where_at, std::string_view source) {
  if (!j.is_object()) return Bad(source, absl::StrCat(where_at, " is not a JSON object"));
  EvalInstance in;
  absl::StatusOr<std::string> id = Text(j, "instance_id", true, where_at, source);
  if (!id.ok()) return id.status();
  in.id = *id;
  const std::string where = absl::StrCat(where_at, " (", TerminalSafe(in.id), ")");
  if (!IsSafeName(in.id) || in.id[0] == '.' || in.id.back() == '.' || absl::EndsWith(in.id, ".lock")) {
    return Bad(source, absl::StrCat(where, ": the instance_id cannot name a branch or a file: use 1-100 letters, ",
                                    "digits, '.', '_' and '-', without \"..\", not starting or ending in \".\""));
  }
  struct Field {
    const char* name;
    std::string* into;
    bool required;
  };
  for (const Field& f : {Field{"repo", &in.repo, true}, Field{"base_commit", &in.base_commit, true},
                         Field{"problem_statement", &in.problem_statement, true}, Field{"patch", &in.patch, false},
                         Field{"test_patch", &in.test_patch, true}}) {
    absl::StatusOr<std::string> v = Text(j, f.name, f.required, where, source);
    if (!v.ok()) return v.status();
    *f.into = std::move(*v);
  }
  std::vector<std::string> owner_name = absl::StrSplit(in.repo, '/');
  if (owner_name.size() != 2 || !IsSafeName(owner_name[0]) || !IsSafeName(owner_name[1]) || owner_name[0][0] == '.' ||
      owner_name[1][0] == '.') {
    return Bad(source, absl::StrCat(where, ": \"repo\" must be owner/name, as \"pytest-dev/pytest\""));
  }
  if (in.base_commit.size() < 7 || in.base_commit.size() > 40 || !IsHex(in.base_commit)) {
    return Bad(source, absl::StrCat(where, ": \"base_commit\" must be a commit id (7 to 40 hexadecimal digits)"));
  }
  if (j.contains("version") && j["version"].is_number()) {
    in.version = j["version"].dump();  // some exports store 3.1 as a number
  } else {
    absl::StatusOr<std::string> v = Text(j, "version", false, where, source);
    if (!v.ok()) return v.status();
    in.version = *v;
  }
  absl::StatusOr<std::vector<std::string>> f2p = TestList(j, "FAIL_TO_PASS", where, source);
  if (!f2p.ok()) return f2p.status();
  absl::StatusOr<std::vector<std::string>> p2p = TestList(j, "PASS_TO_PASS", where, source);
  if (!p2p.ok()) return p2p.status();
  in.fail_to_pass = std::move(*f2p);
  in.pass_to_pass = std::move(*p2p);
  if (in.fail_to_pass.empty()) {
    return Bad(source, absl::StrCat(where, ": \"FAIL_TO_PASS\" is empty: nothing would tell a fix from none"));
  }
  if (PatchedFiles(in.test_patch).empty()) {
    return Bad(source,
               absl::StrCat(where, ": \"test_patch\" changes no file (it must be a unified diff, git's format)"));
  }
  return in;
}

// A name from a diff header ("a/x", "b/x", "\"b/t\\tx\"", "/dev/null"), without its prefix; "" for
// /dev/null.
std::string HeaderName(absl::string_view s) {
  if (size_t tab = s.find('\t'); tab != absl::string_view::npos && s[0] != '"') s = s.substr(0, tab);  // diff -u dates
  std::string name;
  if (!s.empty() && s[0] == '"') {
    for (size_t i = 1; i < s.size() && s[i] != '"'; ++i) {
      if (s[i] != '\\' || i + 1 >= s.size()) {
        name += s[i];
        continue;
      }
      char c = s[++i];
      if (c >= '0' && c <= '7' && i + 2 < s.size()) {
        name += static_cast<char>(((c - '0') << 6) | ((s[i + 1] - '0') << 3) | (s[i + 2] - '0'));
        i += 2;
      } else {
        name += c == 't' ? '\t' : c == 'n' ? '\n' : c == 'r' ? '\r' : c;
      }
    }
  } else {
    name = std::string(absl::StripTrailingAsciiWhitespace(s));
  }
  if (name == "/dev/null") return "";
  if (name.size() > 2 && (name[0] == 'a' || name[0] == 'b') && name[1] == '/') name = name.substr(2);
  return name;
}

}  // namespace

absl::StatusOr<std::vector<EvalInstance>> ParseInstances(std::string_view text_in, std::string_view source) {
  absl::StatusOr<std::vector<eval_internal::JsonRecord>> items =
      eval_internal::ReadJsonRecords(text_in, source, "instance");
  if (!items.ok()) return items.status();
  std::vector<EvalInstance> instances;
  std::set<std::string> seen;
  for (auto& [j, where] : *items) {
    absl::StatusOr<EvalInstance> in = ReadInstance(j, where, source);
    if (!in.ok()) return in.status();
    if (!seen.insert(in->id).second) {
      return Bad(source, absl::StrCat(where, ": instance_id ", in->id, " is used twice"));
    }
    instances.push_back(std::move(*in));
  }
  return instances;
}

std::vector<std::string> PatchedFiles(std::string_view patch_in) {
  const absl::string_view patch(patch_in.data(), patch_in.size());
  std::vector<std::string> files;
  std::set<std::string> seen;
  auto add = [&](std::string name) {
    if (!name.empty() && seen.insert(name).second) files.push_back(std::move(name));
  };
  std::vector<absl::string_view> lines = absl::StrSplit(patch, '\n');
  long old_left = 0, new_left = 0;  // lines left in the hunk being read
  std::string git_a, git_b;         // from "diff --git a/X b/Y", when its names are unambiguous
  bool named = true;                // the current "diff --git" section has named its file
  auto end_section = [&] {
    if (!named) add(!git_b.empty() ? git_b : git_a);  // a mode change or a binary patch
    named = true;
  };
  for (size_t i = 0; i < lines.size(); ++i) {
    absl::string_view l = lines[i];
    if (old_left > 0 || new_left > 0) {
      if (l.empty() || l[0] == ' ') {
        --old_left;
        --new_left;
        continue;
      }
      if (l[0] == '-') {
        --old_left;
        continue;
      }
      if (l[0] == '+') {
        --new_left;
        continue;
      }
      if (l[0] == '\\') continue;
      old_left = new_left = 0;  // a malformed hunk: read on as headers
    }
    if (absl::StartsWith(l, "diff --git ")) {
      end_section();
      named = false;
      absl::string_view rest = l.substr(11);
      git_a = git_b = "";
      // "a/P b/P": the same name twice, so the middle space is the separator.
      if (rest.size() % 2 == 1) {
        size_t half = rest.size() / 2;
        if (rest[half] == ' ' && rest.substr(2, half - 2) == rest.substr(half + 3)) {
          git_a = git_b = std::string(rest.substr(2, half - 2));
        }
      }
      if (git_a.empty() && rest[0] == '"') {
        size_t close = rest.find("\" ");
        if (close != absl::string_view::npos) {
          git_a = HeaderName(rest.substr(0, close + 1));
          git_b = HeaderName(rest.substr(close + 2));
        }
      }
    } else if (absl::StartsWith(l, "--- ") && i + 1 < lines.size() && absl::StartsWith(lines[i + 1], "+++ ")) {
      std::string a = HeaderName(l.substr(4));
      std::string b = HeaderName(lines[i + 1].substr(4));
      add(b.empty() ? a : b);
      named = true;
      ++i;
    } else if (absl::StartsWith(l, "rename to ") || absl::StartsWith(l, "copy to ")) {
      add(HeaderName(l.substr(l.find(" to ") + 4)));
      named = true;
    } else if (absl::StartsWith(l, "rename from ")) {
      add(HeaderName(l.substr(12)));
    } else if (absl::StartsWith(l, "@@ -")) {
      // "@@ -a[,b] +c[,d] @@": a missing count is 1.
      std::vector<absl::string_view> f = absl::StrSplit(l.substr(3), ' ');
      if (f.size() >= 2 && f[0].size() > 1 && f[1].size() > 1) {
        auto count = [](absl::string_view range) -> long {
          size_t comma = range.find(',');
          return comma == absl::string_view::npos ? 1 : std::atol(std::string(range.substr(comma + 1)).c_str());
        };
        old_left = count(f[0].substr(1));
        new_left = count(f[1].substr(1));
      }
    }
  }
  end_section();
  return files;
}

}  // namespace swarm
