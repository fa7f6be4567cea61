#include "base/inert_text.h"

#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace swarm {
namespace {

constexpr char kZeroWidthSpace[] = "\xE2\x80\x8B";

// GitHub's closing words and GitLab's default pattern (which adds -ing forms and "implement"), longest
// first so that "closes" is not read as "close".
constexpr const char* kClosingWords[] = {
    "implementing", "implements", "implemented", "implement", "resolving", "resolved", "resolves", "resolve",
    "closing",      "closed",     "closes",      "close",     "fixing",    "fixed",    "fixes",    "fix"};

bool WordChar(char c) { return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// Whether an issue reference starts at `i`: #N, owner/repo#N (or group/sub/project#N), or a URL.
bool IssueReferenceAt(const std::string& text, std::size_t i) {
  if (i < text.size() && text[i] == '#') return i + 1 < text.size() && absl::ascii_isdigit(text[i + 1]);
  if (absl::StartsWithIgnoreCase(absl::string_view(text).substr(i), "http://") ||
      absl::StartsWithIgnoreCase(absl::string_view(text).substr(i), "https://")) {
    return true;
  }
  std::size_t j = i;
  bool slash = false;
  while (j < text.size() && (WordChar(text[j]) || text[j] == '-' || text[j] == '.' || text[j] == '/')) {
    slash = slash || text[j] == '/';
    ++j;
  }
  return slash && j + 1 < text.size() && text[j] == '#' && absl::ascii_isdigit(text[j + 1]);
}

// The length of a closing word at `i` that names an issue ("Fixes #3", "closes: #3"), or 0.
std::size_t ClosingWordAt(const std::string& text, std::size_t i) {
  for (const char* word : kClosingWords) {
    const std::size_t n = std::strlen(word);
    if (i + n > text.size() || !absl::EqualsIgnoreCase(absl::string_view(text).substr(i, n), word)) continue;
    if (i + n < text.size() && WordChar(text[i + n])) return 0;  // a longer word ("fixture")
    std::size_t j = i + n;
    if (j < text.size() && text[j] == ':') ++j;
    const std::size_t spaces = j;
    while (j < text.size() && (text[j] == ' ' || text[j] == '\t')) ++j;
    if (j == spaces && (j >= text.size() || text[j] != '#')) return 0;
    return IssueReferenceAt(text, j) ? n : 0;
  }
  return 0;
}

}  // namespace

std::string Inert(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  bool fenced = false, inline_code = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const bool line_start = i == 0 || text[i - 1] == '\n';
    if (line_start && text.compare(i, 3, "```") == 0) {
      fenced = !fenced;
      inline_code = false;
    }
    if (!fenced && text[i] == '`') inline_code = !inline_code;
    if (!fenced && text[i] == '\n') inline_code = false;  // a span does not run past its line here
    const bool word_start = i == 0 || !WordChar(text[i - 1]);
    if (fenced || inline_code || !word_start) {
      out += text[i];
      continue;
    }
    if (text[i] == '@' && i + 1 < text.size() && WordChar(text[i + 1])) {
      absl::StrAppend(&out, "@", kZeroWidthSpace);
    } else if (const std::size_t n = ClosingWordAt(text, i); n > 0) {
      absl::StrAppend(&out, text.substr(i, 1), kZeroWidthSpace, text.substr(i + 1, n - 1));
      i += n - 1;
    } else {
      out += text[i];
    }
  }
  return out;
}

}  // namespace swarm
