#include "orchestrator/run/bind_check.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <functional>

#include "absl/strings/str_cat.h"
#include "base/path_within.h"
#include "base/terminal_text.h"

namespace swarm {
namespace {
namespace fs = std::filesystem;

// `p` with its existing prefix's symlinks resolved (it need not exist), and `p` as written: a secret
// that is a link (~/.ssh -> /vault/ssh) is refused under both names.
std::vector<std::string> Forms(const std::string& p) {
  std::error_code ec;
  std::string canonical = fs::weakly_canonical(p, ec).string();
  std::string lexical = fs::path(p).lexically_normal().string();
  if (lexical.size() > 1 && lexical.back() == '/') lexical.pop_back();
  std::vector<std::string> out = {lexical};
  if (!ec && canonical != lexical) out.push_back(canonical);
  return out;
}

}  // namespace

std::vector<std::string> SecretPlaces(const std::string& home) {
  std::vector<std::string> places = {"/etc/shadow", "/etc/gshadow", "/etc/shadow-", "/etc/gshadow-",
                                     "/etc/sudoers", "/etc/sudoers.d", "/etc/ssh"};
  // Root's home as a whole, unless it is this user's home: then, as for any user, the secrets in it
  // are refused and an ordinary file (an agent script) may be bound.
  if (home != "/root") places.push_back("/root");
  if (!home.empty() && home[0] == '/') {
    for (const char* rel : {".ssh", ".gnupg", ".aws", ".azure", ".config/gh", ".config/gcloud", ".config/swarm",
                            ".config/git/credentials", ".git-credentials", ".netrc", ".docker", ".kube", ".npmrc",
                            ".pypirc", ".cargo/credentials", ".cargo/credentials.toml", ".local/state/swarm",
                            ".password-store", ".vault-token", ".claude.json", ".claude/.credentials.json",
                            ".codex/auth.json", ".config/anthropic", ".config/openai"}) {
      places.push_back(absl::StrCat(home, "/", rel));
    }
  }
  if (const char* xdg = getenv("XDG_CONFIG_HOME"); xdg != nullptr && *xdg == '/') {
    places.push_back(absl::StrCat(xdg, "/swarm"));
    places.push_back(absl::StrCat(xdg, "/gh"));
  }
  return places;
}

namespace {

// The rules of CheckReadOnlyBind for `bind`, its symlinks resolved.
absl::Status CheckResolvedBind(const std::string& bind, const std::vector<std::string>& hidden,
                               const std::vector<std::string>& secrets,
                               const std::function<absl::Status(const std::string&)>& refuse) {
  for (const char* system : {"/proc", "/sys", "/dev"}) {
    if (PathWithin(bind, system)) return refuse(absl::StrCat("the sandbox has its own ", system));
  }
  for (const std::string& secret : secrets) {
    for (const std::string& form : Forms(secret)) {
      if (PathWithin(bind, form) || PathWithin(form, bind)) {
        return refuse(absl::StrCat("it would expose ", TerminalSafe(form),
                                   ", which holds secrets; bind the single files the agents need"));
      }
    }
  }
  // A bind that contains a hidden place would show it again inside the sandbox.
  for (const std::string& place : hidden) {
    for (const std::string& form : Forms(place)) {
      if (PathWithin(form, bind)) {
        return refuse(absl::StrCat("it would expose ", TerminalSafe(form),
                                   ", which the sandbox hides; bind something narrower"));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckReadOnlyBind(const std::string& path, const std::vector<std::string>& hidden,
                               const std::vector<std::string>& secrets, const std::string& what) {
  auto refuse = [&](const std::string& why) {
    return absl::InvalidArgumentError(absl::StrCat(what, " ", TerminalSafe(path), ": ", why));
  };
  std::error_code ec;
  if (!fs::path(path).is_absolute() || !fs::exists(path, ec)) return refuse("not an existing absolute path");
  std::string bind = fs::canonical(path, ec).string();
  if (ec) return refuse(absl::StrCat("cannot resolve it: ", ec.message()));
  return CheckResolvedBind(bind, hidden, secrets, refuse);
}

absl::StatusOr<std::string> PrepareBuildCache(const std::string& path, const std::vector<std::string>& own,
                                              const std::vector<std::string>& hidden,
                                              const std::vector<std::string>& secrets, bool dry_run) {
  auto refuse = [&](const std::string& why) {
    return absl::InvalidArgumentError(absl::StrCat("--build-cache ", TerminalSafe(path), ": ", why));
  };
  std::error_code ec;
  const fs::path absolute = fs::absolute(path, ec);
  if (ec) return refuse(absl::StrCat("cannot make it absolute: ", ec.message()));
  const bool exists = fs::exists(absolute, ec);
  if (exists && !fs::is_directory(absolute, ec)) return refuse("not a directory");
  if (exists) {
    // Only a directory swarm made (its marker, this user's) or an empty one of this user's: test runs
    // write it, and as root it is given to the sandbox's user.
    struct stat dir {
    }, marker{};
    const std::string mark = (absolute / kBuildCacheMarker).string();
    const bool marked = lstat(mark.c_str(), &marker) == 0 && S_ISREG(marker.st_mode) && marker.st_uid == geteuid();
    const bool empty_and_ours =
        fs::is_empty(absolute, ec) && stat(absolute.c_str(), &dir) == 0 && dir.st_uid == geteuid();
    if (!marked && !empty_and_ours) {
      return refuse("a directory swarm did not make; name a new or empty directory of yours (swarm marks it with " +
                    std::string(kBuildCacheMarker) + ")");
    }
  }
  std::string cache = fs::weakly_canonical(absolute, ec).string();
  if (ec) return refuse(absl::StrCat("cannot resolve it: ", ec.message()));
  for (const std::string& place : own) {
    for (const std::string& form : Forms(place)) {
      if (PathWithin(cache, form)) {
        return refuse(absl::StrCat("it is inside ", TerminalSafe(form),
                                   ", which a run never writes; put the cache outside the repository"));
      }
    }
  }
  if (absl::Status st = CheckResolvedBind(cache, hidden, secrets, refuse); !st.ok()) return st;
  if (dry_run) return cache;
  fs::create_directories(cache, ec);
  if (ec) return refuse(absl::StrCat("cannot create it: ", ec.message()));
  return fs::canonical(cache, ec).string();
}

}  // namespace swarm
