#include "orchestrator/merge/internal/landing_message.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "base/utf8.h"

namespace swarm {
namespace {

constexpr std::size_t kMaxBodyBytes = 4096;

}  // namespace

std::string CommitBodyText(const std::string& summary) {
  std::string text = ToUtf8(summary.substr(0, kMaxBodyBytes + 8));
  std::string clean;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\r') continue;
    if ((u < 0x20 && c != '\n' && c != '\t') || u == 0x7f) continue;
    clean.push_back(c);
  }
  std::string out;
  int blank_run = 0;
  for (absl::string_view line : absl::StrSplit(clean, '\n')) {
    line = absl::StripTrailingAsciiWhitespace(line);
    if (line.empty()) {
      ++blank_run;
      continue;
    }
    if (!out.empty()) out += blank_run > 0 ? "\n\n" : "\n";
    blank_run = 0;
    if (absl::StartsWith(line, "---")) out += " ";  // git would take it for the start of a patch
    absl::StrAppend(&out, line);
    if (out.size() > kMaxBodyBytes) break;
  }
  if (out.size() > kMaxBodyBytes) {
    std::size_t cut = kMaxBodyBytes;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;  // a whole character
    out.resize(cut);
    out += "\n[summary cut at 4 KiB]";
  }
  return out;
}

std::string LandingMessage(const MergeRequest& request, const std::string& run_id, const CommitAuthor& author) {
  std::string msg;
  // The body is the agents' text; the trailers, in the last paragraph, are swarm's alone.
  if (request.patches.size() == 1 && request.group.empty()) {
    const auto& p = request.patches[0];
    absl::StrAppend(&msg, p.title, " (", p.subtask_id, ")\n");
    if (std::string body = CommitBodyText(p.summary); !body.empty()) absl::StrAppend(&msg, "\n", body, "\n");
    absl::StrAppend(&msg, "\nswarm-run: ", run_id, "\nswarm-subtask: ", p.subtask_id, "\n");
  } else {
    absl::StrAppend(&msg, "group ", request.group, ": ", request.patches.size(), " subtasks\n\n");
    for (const auto& p : request.patches) absl::StrAppend(&msg, "- ", p.title, " (", p.subtask_id, ")\n");
    for (const auto& p : request.patches) {
      if (std::string body = CommitBodyText(p.summary); !body.empty()) {
        absl::StrAppend(&msg, "\n", p.subtask_id, ":\n", body, "\n");
      }
    }
    // Trailers: what `swarm resume` reads back when the ref moved and the event was never written.
    absl::StrAppend(&msg, "\nswarm-run: ", run_id, "\nswarm-group: ", request.group, "\n");
    for (const auto& p : request.patches) absl::StrAppend(&msg, "swarm-subtask: ", p.subtask_id, "\n");
  }
  if (author.signoff) absl::StrAppend(&msg, "Signed-off-by: ", author.name, " <", author.email, ">\n");
  return msg;
}

}  // namespace swarm
