#include "tools/file_tools.h"

#include <re2/re2.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/edit_distance.h"
#include "tools/workspace_path.h"

namespace swarm {
namespace fs = std::filesystem;

namespace {

constexpr std::uintmax_t kMaxFileBytes = 4 << 20;  // larger files are not read whole
constexpr std::uintmax_t kMaxSearchedFileBytes = 1 << 20;
// Generated or vendored trees a search would drown in.
const std::set<std::string> kSkippedDirectories = {".git", "node_modules", "__pycache__", ".venv", "venv",
                                                   ".mypy_cache", ".tox", "target", "dist"};

absl::StatusOr<std::string> Slurp(const std::string& root, const std::string& path, std::string* absolute = nullptr) {
  absl::StatusOr<std::string> p = ConfinedPath(root, path);
  if (!p.ok()) return p.status();
  std::error_code ec;
  if (fs::is_directory(*p, ec)) return absl::InvalidArgumentError(absl::StrCat(path, " is a directory: use list_dir"));
  if (!fs::is_regular_file(*p, ec)) return absl::NotFoundError(absl::StrCat("no file ", path));
  if (fs::file_size(*p, ec) > kMaxFileBytes) {
    return absl::InvalidArgumentError(absl::StrCat(path, " is larger than 4 MiB: use search to find what you need"));
  }
  std::ifstream in(*p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  if (absolute != nullptr) *absolute = *p;
  return s.str();
}

absl::Status Write(const std::string& absolute, const std::string& content) {
  std::ofstream out(absolute, std::ios::binary | std::ios::trunc);
  out << content;
  out.close();
  if (!out) return absl::PermissionDeniedError(absl::StrCat("cannot write ", absolute));
  return absl::OkStatus();
}

std::vector<std::string> Lines(const std::string& text) { return absl::StrSplit(text, '\n'); }

// Similarity of two lines in [0, 1], from their edit distance, ignoring surrounding spaces.
double Similarity(std::string_view a, std::string_view b) {
  auto trim = [](std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return s;
  };
  a = trim(a).substr(0, 200);
  b = trim(b).substr(0, 200);
  if (a.empty() && b.empty()) return 1;
  return 1.0 - static_cast<double>(EditDistance(a, b)) / static_cast<double>(std::max(a.size(), b.size()));
}

}  // namespace

std::string Truncated(std::string text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  std::size_t cut = text.rfind('\n', max_bytes);
  if (cut == std::string::npos || cut < max_bytes / 2) cut = max_bytes;
  const std::size_t dropped = text.size() - cut;
  text.resize(cut);
  absl::StrAppend(&text, "\n[output truncated: ", dropped, " more bytes not shown]");
  return text;
}

absl::StatusOr<std::string> ListDir(const std::string& root, const std::string& path) {
  absl::StatusOr<std::string> p = ConfinedPath(root, path.empty() ? "." : path);
  if (!p.ok()) return p.status();
  std::error_code ec;
  if (!fs::is_directory(*p, ec)) return absl::NotFoundError(absl::StrCat("no directory ", path));
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(*p, ec)) {
    std::string name = e.path().filename().string();
    if (name == ".git") continue;
    names.push_back(e.is_directory(ec) && !e.is_symlink(ec) ? name + "/" : name);
  }
  std::sort(names.begin(), names.end());
  std::string out;
  for (const auto& n : names) absl::StrAppend(&out, n, "\n");
  return Truncated(out.empty() ? "(empty directory)\n" : out);
}

absl::StatusOr<std::string> ReadFile(const std::string& root, const std::string& path, std::optional<int> start_line,
                                     std::optional<int> end_line) {
  absl::StatusOr<std::string> text = Slurp(root, path);
  if (!text.ok()) return text.status();
  std::vector<std::string> lines = Lines(*text);
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  const int n = static_cast<int>(lines.size());
  const int first = std::max(1, start_line.value_or(1));
  const int last = std::min(n, end_line.value_or(n));
  if (n == 0) return absl::StrCat(path, " is empty\n");
  if (first > n) return absl::OutOfRangeError(absl::StrCat(path, " has only ", n, " lines"));
  if (last < first) return absl::InvalidArgumentError("end_line is before start_line");
  std::string out;
  for (int i = first; i <= last; ++i) absl::StrAppend(&out, i, "\t", lines[i - 1], "\n");
  return Truncated(out);
}

absl::StatusOr<std::string> Search(const std::string& root, const std::string& pattern, const std::string& path,
                                   const SearchLimits& limits) {
  constexpr std::size_t kMaxPatternBytes = 4096;
  // RE2, not std::regex: the model picks the pattern and this runs on the host, outside the sandbox's
  // limits. std::regex backtracks (^(a|a)*$ took 30 s on 30 characters) and recurses per character;
  // RE2 is linear in the text and refuses a pattern whose program would exceed its memory budget.
  if (pattern.size() > kMaxPatternBytes) {
    return absl::InvalidArgumentError(absl::StrCat("the pattern is ", pattern.size(), " bytes; at most ",
                                                   kMaxPatternBytes, " are searched for"));
  }
  RE2::Options options;
  options.set_log_errors(false);
  options.set_max_mem(8 << 20);  // a program this size stays on RE2's fast engines
  RE2 re(pattern, options);
  if (!re.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("the pattern is not a valid regular expression: ", re.error(),
                                                   " (the syntax is RE2's: ECMAScript's without backreferences "
                                                   "or lookaround)"));
  }
  absl::StatusOr<std::string> p = ConfinedPath(root, path.empty() ? "." : path);
  if (!p.ok()) return p.status();
  std::string stopped;  // why the search stopped before the end, if it did
  auto out_of_time = [&] {
    if (std::chrono::steady_clock::now() < limits.deadline) return false;
    stopped = limits.deadline_reason;
    return true;
  };
  std::vector<fs::path> files;
  std::error_code ec;
  if (fs::is_regular_file(*p, ec)) {
    files.push_back(*p);
  } else if (fs::is_directory(*p, ec)) {
    for (auto it = fs::recursive_directory_iterator(*p, fs::directory_options::skip_permission_denied, ec);
         it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (out_of_time()) break;
      if (it->is_directory(ec) && kSkippedDirectories.count(it->path().filename().string())) {
        it.disable_recursion_pending();
        continue;
      }
      if (it->is_regular_file(ec) && !it->is_symlink(ec) && it->file_size(ec) <= kMaxSearchedFileBytes) {
        files.push_back(it->path());
      }
    }
  } else {
    return absl::NotFoundError(absl::StrCat("no file or directory ", path));
  }
  std::sort(files.begin(), files.end());
  std::string out;
  int matches = 0;
  std::uintmax_t bytes = 0;
  std::size_t read = 0;
  for (const auto& f : files) {
    if (!stopped.empty() || out_of_time()) break;
    if (read >= limits.max_files || bytes >= limits.max_bytes) {
      stopped = absl::StrCat("read ", read, " files, ", bytes >> 20, " MiB");
      break;
    }
    absl::StatusOr<std::string> text = Slurp(root, f.string());
    ++read;
    if (!text.ok()) continue;
    bytes += text->size();
    if (text->find('\0') != std::string::npos) continue;  // binary
    if (text->empty()) continue;
    // The lines of the file: no empty one after its last newline.
    absl::string_view lines = absl::string_view(*text).substr(0, text->size() - (text->back() == '\n' ? 1 : 0));
    int number = 0;
    for (absl::string_view line : absl::StrSplit(lines, '\n')) {
      ++number;
      if ((number & 255) == 0 && out_of_time()) break;
      if (RE2::PartialMatch(re2::StringPiece(line.data(), line.size()), re)) {
        absl::StrAppend(&out, RelativeToRoot(root, f.string()), ":", number, ": ", line.substr(0, 300), "\n");
        if (++matches >= 200) break;
      }
    }
    if (matches >= 200) {
      absl::StrAppend(&out, "[stopped at 200 matches: narrow the pattern or the path]\n");
      break;
    }
  }
  out = Truncated(out.empty() ? "no matches\n" : out);
  if (!stopped.empty()) {  // after the cut, so that the model always sees it
    absl::StrAppend(&out, out.back() == '\n' ? "" : "\n", "[search stopped early (", stopped,
                    "): the results are incomplete; narrow the path]\n");
  }
  return out;
}

absl::StatusOr<std::string> Edit(const std::string& root, const std::string& path, const std::string& old_text,
                                 const std::string& new_text) {
  if (old_text.empty()) return absl::InvalidArgumentError("old is empty: use create_file for a new file");
  std::string absolute;
  absl::StatusOr<std::string> text = Slurp(root, path, &absolute);
  if (!text.ok()) return text.status();
  std::vector<std::size_t> at;
  for (std::size_t pos = text->find(old_text); pos != std::string::npos; pos = text->find(old_text, pos + 1)) {
    at.push_back(pos);
  }
  auto line_of = [&](std::size_t pos) { return 1 + std::count(text->begin(), text->begin() + pos, '\n'); };
  if (at.size() > 1) {
    std::string where;
    for (std::size_t pos : at) absl::StrAppend(&where, where.empty() ? "" : ", ", line_of(pos));
    return absl::InvalidArgumentError(absl::StrCat("old occurs ", at.size(), " times in ", path, " (at lines ", where,
                                                   "): include more of the surrounding text so it matches once"));
  }
  if (at.empty()) {
    // The lines nearest to old's first line, to show what the file really says.
    std::string first;
    for (const std::string& l : Lines(old_text)) {
      if (l.find_first_not_of(" \t\r") != std::string::npos) {
        first = l;
        break;
      }
    }
    std::vector<std::string> lines = Lines(*text);
    std::vector<std::pair<double, int>> scored;
    for (int i = 0; i < static_cast<int>(lines.size()); ++i) scored.push_back({Similarity(first, lines[i]), i});
    std::sort(scored.begin(), scored.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    std::string near;
    for (std::size_t k = 0; k < scored.size() && k < 3 && scored[k].first >= 0.5; ++k) {
      absl::StrAppend(&near, "  ", scored[k].second + 1, "\t", lines[scored[k].second], "\n");
    }
    return absl::NotFoundError(absl::StrCat("old does not occur in ", path, " exactly as given",
                                            near.empty() ? "; read the file to see what it says"
                                                         : "; the nearest lines are:\n" + near));
  }
  std::string updated = *text;
  updated.replace(at[0], old_text.size(), new_text);
  if (absl::Status st = Write(absolute, updated); !st.ok()) return st;
  return absl::StrCat("edited ", path, " at line ", line_of(at[0]), "\n");
}

absl::StatusOr<std::string> CreateFile(const std::string& root, const std::string& path, const std::string& content) {
  absl::StatusOr<std::string> p = ConfinedPath(root, path);
  if (!p.ok()) return p.status();
  std::error_code ec;
  if (fs::exists(fs::symlink_status(*p, ec))) {
    return absl::AlreadyExistsError(absl::StrCat(path, " exists: use edit to change it"));
  }
  fs::create_directories(fs::path(*p).parent_path(), ec);
  if (ec) return absl::PermissionDeniedError(absl::StrCat("cannot create the directories of ", path, ": ", ec.message()));
  if (absl::Status st = Write(*p, content); !st.ok()) return st;
  // The workspace belongs to whoever the sandbox runs commands as (as root: swarm-sandbox), and so
  // must what this process just made in it, up to the root, for the agent's `run` to use it.
  struct stat owner {};
  if (geteuid() == 0 && stat(root.c_str(), &owner) == 0 && owner.st_uid != 0) {
    const fs::path top = fs::weakly_canonical(root, ec);
    for (fs::path at = *p; !at.empty() && at != top && at != at.root_path(); at = at.parent_path()) {
      if (lchown(at.c_str(), owner.st_uid, owner.st_gid) != 0) break;
    }
  }
  return absl::StrCat("created ", path, " (", content.size(), " bytes)\n");
}

}  // namespace swarm
