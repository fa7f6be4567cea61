#include "orchestrator/run/agent_command_files.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/path_within.h"
#include "base/terminal_text.h"
#include "orchestrator/run/bind_check.h"

namespace swarm {
namespace {
namespace fs = std::filesystem;

// Words after which the next word is a program again.
bool IsChainingKeyword(const std::string& w) {
  static const std::set<std::string> kKeywords = {"if", "then", "else", "elif", "do", "while", "until", "!", "{", "time"};
  return kKeywords.count(w) > 0;
}

// Words that are the shell's own: nothing on disk to find.
bool IsShellWord(const std::string& w) {
  static const std::set<std::string> kWords = {
      "fi",     "done",  "esac",   "}",      "for",    "case",    "in",     "function", "[[",     "]]",
      ".",      ":",     "[",      "alias",  "bg",     "break",   "cd",     "command",  "continue", "echo",
      "eval",   "exec",  "exit",   "export", "false",  "fg",      "getopts", "hash",    "jobs",   "kill",
      "local",  "printf", "pwd",   "read",   "readonly", "return", "set",    "shift",   "source", "test",
      "times",  "trap",  "true",   "type",   "ulimit", "umask",   "unalias", "unset",   "wait"};
  return kWords.count(w) > 0;
}

// Words that run the word after them as the program.
bool IsProgramPrefix(const std::string& w) {
  static const std::set<std::string> kPrefixes = {"exec", "command", "nohup", "time", "env"};
  return kPrefixes.count(w) > 0;
}

// Programs whose first argument is the script they run.
bool IsInterpreter(const std::string& program) {
  static const std::set<std::string> kInterpreters = {"sh",   "bash", "dash", "zsh",  "ksh",    "node", "nodejs",
                                                      "ruby", "perl", "php",  "lua",  "Rscript", "deno", "bun",
                                                      "tsx",  "ts-node", "pwsh", "fish", "tclsh"};
  const std::string name = std::filesystem::path(program).filename().string();
  return kInterpreters.count(name) > 0 || name.rfind("python", 0) == 0;
}

bool IsAssignment(const std::string& w) {
  auto eq = w.find('=');
  if (eq == std::string::npos || eq == 0) return false;
  if (std::isdigit(static_cast<unsigned char>(w[0]))) return false;
  return std::all_of(w.begin(), w.begin() + static_cast<std::ptrdiff_t>(eq),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

bool IsExecutableFile(const std::string& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec) && access(path.c_str(), X_OK) == 0;
}

bool IsRegularFile(const std::string& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec);
}

// Whether the sandbox shows `path` (absolute, lexically normal) as the host has it.
bool Shown(const std::string& path, const SandboxView& view) {
  for (const auto& bind : view.ro_binds) {
    if (PathWithin(path, fs::path(bind).lexically_normal().string())) return true;
  }
  std::error_code ec;
  std::string canonical = fs::weakly_canonical(path, ec).string();
  for (const auto& place : view.hidden) {
    std::string normal = fs::path(place).lexically_normal().string();
    if (normal.size() > 1 && normal.back() == '/') normal.pop_back();
    if (PathWithin(path, normal) || (!ec && PathWithin(canonical, normal))) return false;
  }
  return true;
}

std::string Quoted(const std::string& word) { return absl::StrCat("`", TerminalSafe(word), "`"); }

class Resolver {
 public:
  Resolver(const SandboxView& view, std::string_view command) : view_(view), command_(command) {}

  // Where relative words lead from: the workspace's root, or where a literal `cd DIR` went.
  void ChangeDirectory(const std::string& dir) {
    if (dir.empty() || dir[0] == '/' || dir[0] == '~') {
      cwd_lost_ = true;  // outside the workspace: relative words are the agent's business
    } else {
      cwd_ = (fs::path(cwd_) / dir).lexically_normal().string();
      if (cwd_ == ".") cwd_.clear();
    }
  }

  // `script`: the word is the first operand of an interpreter (`python3 -u agent.py`).
  absl::Status Word(const ShellWord& word, bool script) {
    const std::string& w = word.text;
    if (w.empty() || (w[0] == '-' && !word.program)) return absl::OkStatus();
    script_ = script;
    if (word.program && w.find('/') == std::string::npos) return Program(w);
    if (w == "~" || (w[0] == '~' && w.rfind("~/", 0) != 0)) return absl::OkStatus();  // ~user: the sandbox has no users' homes
    if (w[0] == '/' || w.rfind("~/", 0) == 0) return Absolute(word);
    return Relative(word);
  }

  AgentCommandFiles& files() { return files_; }

 private:
  // A program named without a slash: the shell looks it up on the sandbox's PATH.
  absl::Status Program(const std::string& w) {
    if (IsShellWord(w) || IsChainingKeyword(w) || IsProgramPrefix(w)) return absl::OkStatus();
    // A function the command defines (`f() { ...; }; f`).
    if (command_.find(w + "()") != std::string_view::npos || command_.find(w + " ()") != std::string_view::npos ||
        command_.find("function " + w) != std::string_view::npos) {
      return absl::OkStatus();
    }
    for (const auto& dir : view_.path) {
      std::string candidate = (fs::path(dir) / w).lexically_normal().string();
      if (IsExecutableFile(candidate) && Shown(candidate, view_)) return absl::OkStatus();
    }
    std::string sandbox_path = absl::StrJoin(view_.path, ":");
    for (const auto& dir : view_.host_path) {
      if (dir.empty() || dir[0] != '/') continue;
      std::string candidate = (fs::path(dir) / w).lexically_normal().string();
      if (IsExecutableFile(candidate)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "the agent command runs ", Quoted(w), ", which is ", TerminalSafe(candidate),
            " here but is not on the sandbox's PATH (", sandbox_path, ", read-only, with $HOME and /tmp hidden): ",
            "call it by its full path, and show what it needs with ", view_.bind_flag, " DIR"));
      }
    }
    std::string hint;
    for (const std::string& root : {view_.repo_root, view_.cwd}) {
      if (!root.empty() && IsRegularFile((fs::path(root) / w).string())) {
        hint = absl::StrCat(" (for the file ", TerminalSafe(w), " write ./", TerminalSafe(w), ")");
        break;
      }
    }
    return absl::InvalidArgumentError(
        absl::StrCat("the agent command runs ", Quoted(w), ", which is not a command on this machine", hint));
  }

  // `/abs/path` or `~/path`: the same path inside, where the sandbox may hide it.
  absl::Status Absolute(const ShellWord& word) {
    std::string path = word.text;
    if (path.rfind("~/", 0) == 0) {
      if (view_.home.empty()) return absl::OkStatus();
      path = view_.home + path.substr(1);
    }
    path = fs::path(path).lexically_normal().string();
    if (!word.program && !script_ && !IsExecutableFile(path)) return absl::OkStatus();  // the agent's input or output
    if (!IsRegularFile(path)) {
      if (word.program) {
        return absl::InvalidArgumentError(
            absl::StrCat("the agent command runs ", Quoted(word.text), ", which is not a file on this machine"));
      }
      return absl::OkStatus();  // an argument that names no file (yet): the agent's business
    }
    if (Shown(path, view_)) return absl::OkStatus();
    // A file of the repository's commit, named by its place in the user's work tree: the agent has
    // it in its workspace; the work tree's copy (perhaps edited since) is the user's.
    if (!view_.repo_root.empty() && PathWithin(path, view_.repo_root) && path != view_.repo_root && view_.in_base &&
        view_.in_base(path.substr(view_.repo_root.size() + 1))) {
      return absl::OkStatus();
    }
    return Bind(word, path, path);
  }

  // A relative path: from the root of the agent's workspace, which holds the base commit (or from
  // where a `cd` went).
  absl::Status Relative(const ShellWord& word) {
    if (cwd_lost_) return absl::OkStatus();
    // An argument is shown only when it is a script: what an interpreter runs, or an executable.
    // Any other file it names (`> out.txt`, `tee log.txt`, an input) is the workspace's.
    if (!word.program && !script_ && !IsExecutableFile(word.text) &&
        !IsExecutableFile((fs::path(view_.repo_root) / cwd_ / word.text).string())) {
      return absl::OkStatus();
    }
    std::string rel = (fs::path(cwd_) / word.text).lexically_normal().string();
    if (rel.rfind("..", 0) == 0) {
      if (!word.program) return absl::OkStatus();
      return absl::InvalidArgumentError(absl::StrCat("the agent command runs ", Quoted(word.text),
                                                     ", which is outside the agent's workspace (the command runs at "
                                                     "its root): give the file's absolute path"));
    }
    if (rel == "." || (view_.in_base && view_.in_base(rel))) return absl::OkStatus();
    for (const auto& part : fs::path(rel)) {
      if (part == ".git") {  // the workspace's own git
        if (!word.program) return absl::OkStatus();
        return absl::InvalidArgumentError(
            absl::StrCat("the agent command runs ", Quoted(word.text), ", inside the workspace's .git"));
      }
    }
    std::string found;
    for (const std::string& root : {view_.repo_root, view_.cwd}) {
      if (!root.empty() && IsRegularFile((fs::path(root) / rel).string())) {
        found = (fs::path(root) / rel).lexically_normal().string();
        break;
      }
    }
    if (found.empty()) {
      if (!word.program) return absl::OkStatus();
      return absl::InvalidArgumentError(absl::StrCat(
          "the agent command runs ", Quoted(word.text),
          ", which is neither in the base commit nor a file in the repository's work tree",
          view_.cwd.empty() ? "" : " or here", " (the command runs at the root of each agent's workspace)"));
    }
    return Bind(word, found, rel);
  }

  absl::Status Bind(const ShellWord& word, const std::string& source, const std::string& dest) {
    if (!view_.bind) {
      if (!word.program) return absl::OkStatus();
      return absl::InvalidArgumentError(
          absl::StrCat("the agent command runs ", Quoted(word.text),
                       ", which the sandbox does not show: a client's run must use files in the repository's "
                       "commit or under a place the server allows with --allow-ro-bind"));
    }
    std::string what = absl::StrCat("the agent command's ", word.program ? "program" : "file");
    if (absl::Status st = CheckReadOnlyBind(source, view_.hidden, view_.secrets, what); !st.ok()) {
      if (word.program) return st;
      files_.warnings.push_back(absl::StrCat(st.message(), "; it is not shown to the agents"));
      return absl::OkStatus();
    }
    std::error_code ec;
    std::string canonical = fs::canonical(source, ec).string();
    if (ec) return absl::OkStatus();
    if (!seen_.insert(dest).second) return absl::OkStatus();
    files_.binds.push_back(FileBind{canonical, dest});
    return absl::OkStatus();
  }

  const SandboxView& view_;
  const std::string_view command_;
  AgentCommandFiles files_;
  std::set<std::string> seen_;
  std::string cwd_;  // relative to the workspace's root
  bool cwd_lost_ = false;
  bool script_ = false;
};

}  // namespace

std::vector<ShellWord> LiteralWords(std::string_view command) {
  std::vector<ShellWord> words;
  std::string cur, program;
  bool in_word = false, literal = true, program_next = true, redirect_next = false;
  bool prefix_options = false, skip_option_value = false;  // after exec, env, nohup...: their options
  int position = 0;
  auto end_word = [&]() {
    if (!in_word) return;
    const bool is_program = program_next && !redirect_next;
    if (redirect_next) {
      redirect_next = false;  // a file the shell opens: the command's input or output, not a script
    } else if (is_program && skip_option_value) {
      skip_option_value = false;  // env -u NAME, env -C DIR: the option's value
    } else if (is_program && prefix_options && !cur.empty() && cur[0] == '-') {
      skip_option_value = cur == "-u" || cur == "-C" || cur == "-S";
    } else if (is_program && literal && IsAssignment(cur)) {
      // VAR=value in front of a program (or env's): the program is still to come
    } else if (is_program) {
      if (literal) words.push_back(ShellWord{cur, true, 0, ""});
      program = literal ? cur : "";
      position = 0;
      // The next word is a program again after a keyword, or after a prefix that runs one.
      prefix_options = literal && IsProgramPrefix(cur);
      program_next = literal && (IsChainingKeyword(cur) || prefix_options);
    } else {
      ++position;
      if (literal) words.push_back(ShellWord{cur, false, position, program});
    }
    cur.clear();
    in_word = false;
    literal = true;
  };
  for (size_t i = 0; i < command.size(); ++i) {
    char c = command[i];
    if (c == ' ' || c == '\t') {
      end_word();
    } else if (c == '\n' || c == ';' || c == '&' || c == '|' || c == '(' || c == ')') {
      end_word();
      program_next = true;
      redirect_next = prefix_options = skip_option_value = false;
    } else if (c == '<' || c == '>') {
      // A number right before is a file descriptor, not a word.
      if (in_word && literal && std::all_of(cur.begin(), cur.end(), [](char d) { return std::isdigit(static_cast<unsigned char>(d)); })) {
        cur.clear();
        in_word = false;
      }
      end_word();
      while (i + 1 < command.size() && (command[i + 1] == '<' || command[i + 1] == '>' || command[i + 1] == '|')) ++i;
      if (i + 1 < command.size() && command[i + 1] == '&') {
        ++i;  // >&2: a descriptor follows
        while (i + 1 < command.size() && (std::isdigit(static_cast<unsigned char>(command[i + 1])) || command[i + 1] == '-')) ++i;
        continue;
      }
      redirect_next = true;
    } else if (c == '#' && !in_word) {
      while (i + 1 < command.size() && command[i + 1] != '\n') ++i;
    } else if (c == '\'') {
      in_word = true;
      auto close = command.find('\'', i + 1);
      if (close == std::string_view::npos) close = command.size();
      cur.append(command.substr(i + 1, close - i - 1));
      i = close;
    } else if (c == '"') {
      in_word = true;
      for (++i; i < command.size() && command[i] != '"'; ++i) {
        if (command[i] == '$' || command[i] == '`') literal = false;
        if (command[i] == '\\' && i + 1 < command.size() && std::string_view("$`\"\\\n").find(command[i + 1]) != std::string_view::npos) ++i;
        cur.push_back(command[i]);
      }
    } else if (c == '\\') {
      in_word = true;
      if (i + 1 < command.size()) cur.push_back(command[++i]);
    } else {
      if (c == '$' || c == '`' || c == '*' || c == '?' || c == '[') literal = false;
      if (c == '~' && (in_word || (i + 1 < command.size() && command[i + 1] != '/'))) literal = false;
      in_word = true;
      cur.push_back(c);
    }
  }
  end_word();
  return words;
}

absl::StatusOr<AgentCommandFiles> ResolveAgentCommand(const std::string& command, const SandboxView& view) {
  Resolver resolver(view, command);
  // The command's first program (past the shell's own words) is the one it cannot do without; what
  // comes later is read less surely by these rules (a `case` pattern looks like a program), so it
  // only gets its files. A `case`, loop or function makes every program a later one.
  bool first = true, operand_seen = false;
  const std::vector<ShellWord> words = LiteralWords(command);
  for (std::size_t i = 0; i < words.size(); ++i) {
    const ShellWord& word = words[i];
    bool script = false;
    if (word.program) {
      operand_seen = false;
    } else if (word.text.empty() || word.text[0] != '-') {
      script = !operand_seen && IsInterpreter(word.of);
      operand_seen = true;
    }
    if (word.program && (word.text == "case" || word.text == "for" || word.text == "while" ||
                         word.text == "until" || word.text == "function")) {
      first = false;
    }
    absl::Status st = resolver.Word(word, script);
    if (!st.ok() && first && word.program) return st;
    if (word.program && !IsShellWord(word.text) && !IsChainingKeyword(word.text) && !IsProgramPrefix(word.text)) {
      first = false;
    }
    // A literal `cd DIR`: later relative words lead from there.
    if (word.program && word.text == "cd") {
      resolver.ChangeDirectory(i + 1 < words.size() && !words[i + 1].program ? words[i + 1].text : "/");
    }
    // `sh -c 'SCRIPT'`, `bash -lc 'SCRIPT'`: the script's files are shown too.
    static const std::set<std::string> kShells = {"sh", "bash", "dash", "zsh", "ksh"};
    if (!word.program && word.position >= 2 && kShells.count(fs::path(word.of).filename().string()) && i > 0 &&
        !words[i - 1].program && words[i - 1].text.size() > 1 && words[i - 1].text[0] == '-' &&
        words[i - 1].text[1] != '-' && words[i - 1].text.find('c') != std::string::npos) {
      absl::StatusOr<AgentCommandFiles> nested = ResolveAgentCommand(word.text, view);
      if (nested.ok()) {
        for (auto& b : nested->binds) {
          const bool known = std::any_of(resolver.files().binds.begin(), resolver.files().binds.end(),
                                         [&](const FileBind& f) { return f.dest == b.dest; });
          if (!known) resolver.files().binds.push_back(std::move(b));
        }
        for (auto& w : nested->warnings) resolver.files().warnings.push_back(std::move(w));
      }
    }
  }
  return std::move(resolver.files());
}

}  // namespace swarm
