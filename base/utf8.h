// Text that crosses into protobuf string fields must be UTF-8.
#ifndef SWARM_BASE_UTF8_H_
#define SWARM_BASE_UTF8_H_

#include <string>
#include <string_view>

namespace swarm {

// Whether `s` is well-formed UTF-8 (structurally: lead and continuation bytes).
inline bool IsUtf8(const std::string& s) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    int n = c < 0x80 ? 0 : (c >> 5) == 0x6 ? 1 : (c >> 4) == 0xe ? 2 : (c >> 3) == 0x1e ? 3 : -1;
    if (n < 0 || i + n >= s.size()) return false;
    for (int k = 1; k <= n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 0x2) return false;
    }
    i += n;
  }
  return true;
}

// `s` itself when it is UTF-8; otherwise with every byte outside printable ASCII written as \xNN.
inline std::string ToUtf8(const std::string& s) {
  if (IsUtf8(s)) return s;
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else if (c == '\n' || c == '\t') {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  return out;
}

}  // namespace swarm

// `text` as one line of at most `max` bytes: control characters made spaces, and a cut made where a
// UTF-8 character begins, "..." marking it (what an agent's activity shows).
inline std::string OneLine(std::string_view text, std::size_t max) {
  std::string line;
  for (char c : text) line += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? ' ' : c;
  if (line.size() <= max) return line;
  std::size_t cut = max > 3 ? max - 3 : 0;
  while (cut > 0 && (static_cast<unsigned char>(line[cut]) & 0xC0) == 0x80) --cut;  // not inside a character
  return line.substr(0, cut) + "...";
}

#endif  // SWARM_BASE_UTF8_H_
