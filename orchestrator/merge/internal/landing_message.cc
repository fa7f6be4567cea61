#include "orchestrator/merge/internal/landing_message.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "base/inert_text.h"
#include "base/utf8.h"

namespace swarm {
namespace {

constexpr std::size_t kMaxBodyBytes = 4096;

// "Signed-off-by: ...", "Co-authored-by: ...", "swarm-subtask: ...": a token, a colon, a space.
bool LooksLikeTrailer(absl::string_view line) {
  const std::size_t colon = line.find(": ");
  if (colon == 0 || colon == absl::string_view::npos) return false;
  for (char c : line.substr(0, colon)) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
  }
  return true;
}

}  // namespace

std::string CommitBodyText(const std::string& summary) {
  std::string text = ToUtf8(summary.substr(0, kMaxBodyBytes + 8));
  std::string clean;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto u = static_cast<unsigned char>(text[i]);
    if ((u < 0x20 && u != '\n' && u != '\t') || u == 0x7f) continue;  // C0 controls, DEL
    if (u == 0xC2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) < 0xA0) {
      ++i;  // C1 controls
      continue;
    }
    if (u == 0xE2 && i + 2 < text.size()) {
      const auto b1 = static_cast<unsigned char>(text[i + 1]), b2 = static_cast<unsigned char>(text[i + 2]);
      // Bidirectional marks and overrides (U+200E, U+200F, U+202A-U+202E, U+2066-U+2069): they reorder
      // what a reader of `git log` sees.
      if ((b1 == 0x80 && (b2 == 0x8E || b2 == 0x8F || (b2 >= 0xAA && b2 <= 0xAE))) || (b1 == 0x81 && b2 >= 0xA6 && b2 <= 0xA9)) {
        i += 2;
        continue;
      }
    }
    clean.push_back(text[i]);
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
    // Git would take "---" for the start of a patch; a "Token: value" line reads as a trailer to tools
    // that grep the whole message (a DCO check and Signed-off-by): indented, it is neither.
    if (absl::StartsWith(line, "---") || LooksLikeTrailer(line)) out += "  ";
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
    absl::StrAppend(&msg, Inert(p.title), " (", p.subtask_id, ")\n");
    if (std::string body = CommitBodyText(p.summary); !body.empty()) absl::StrAppend(&msg, "\n", Inert(body), "\n");
    absl::StrAppend(&msg, "\nswarm-run: ", run_id, "\nswarm-subtask: ", p.subtask_id, "\n");
  } else {
    absl::StrAppend(&msg, "group ", request.group, ": ", request.patches.size(), " subtasks\n\n");
    for (const auto& p : request.patches) absl::StrAppend(&msg, "- ", Inert(p.title), " (", p.subtask_id, ")\n");
    for (const auto& p : request.patches) {
      if (std::string body = CommitBodyText(p.summary); !body.empty()) {
        absl::StrAppend(&msg, "\n", p.subtask_id, ":\n", Inert(body), "\n");
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
