#include "base/terminal_text.h"

#include <cstdint>

namespace swarm {
namespace {

constexpr char kHex[] = "0123456789abcdef";

void AppendByteEscape(std::string& out, unsigned char c) {
  out += "\\x";
  out += kHex[c >> 4];
  out += kHex[c & 0xf];
}

void AppendCodePointEscape(std::string& out, std::uint32_t cp) {
  out += "\\u";
  for (int shift = 12; shift >= 0; shift -= 4) out += kHex[(cp >> shift) & 0xf];
}

// Characters a terminal or a text renderer acts on although they are valid UTF-8: C1 controls
// (0x9b is CSI on many terminals), line and paragraph separators, and the bidirectional controls that
// make text display in another order than it is stored.
bool IsActiveCodePoint(std::uint32_t cp) {
  return (cp >= 0x80 && cp <= 0x9f) || cp == 0x061c || cp == 0x200e || cp == 0x200f ||
         (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

// The length of the well-formed UTF-8 sequence at `s[i]` (2 to 4) and its code point, or 0.
int DecodeMultiByte(absl::string_view s, std::size_t i, std::uint32_t* cp) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  int n;
  std::uint32_t value;
  if (c >= 0xc2 && c <= 0xdf) {
    n = 2, value = c & 0x1f;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3, value = c & 0x0f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4, value = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (int k = 1; k < n; ++k) {
    unsigned char next = static_cast<unsigned char>(s[i + k]);
    if ((next >> 6) != 0x2) return 0;
    value = (value << 6) | (next & 0x3f);
  }
  // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
  if ((n == 3 && value < 0x800) || (n == 4 && (value < 0x10000 || value > 0x10ffff)) ||
      (value >= 0xd800 && value <= 0xdfff)) {
    return 0;
  }
  *cp = value;
  return n;
}

}  // namespace

std::string TerminalSafe(absl::string_view text, TextLines lines) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      bool kept_whitespace = lines == TextLines::kMulti && (c == '\n' || c == '\t');
      if ((c < 0x20 || c == 0x7f) && !kept_whitespace) {
        AppendByteEscape(out, c);
      } else {
        out += static_cast<char>(c);
      }
      ++i;
      continue;
    }
    std::uint32_t cp = 0;
    int n = DecodeMultiByte(text, i, &cp);
    if (n == 0) {
      AppendByteEscape(out, c);
      ++i;
    } else if (IsActiveCodePoint(cp)) {
      AppendCodePointEscape(out, cp);
      i += n;
    } else {
      out.append(text.data() + i, static_cast<std::size_t>(n));
      i += n;
    }
  }
  return out;
}

}  // namespace swarm
