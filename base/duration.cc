#include "base/duration.h"

#include <cctype>
#include <limits>

#include "absl/strings/str_cat.h"

namespace swarm {

absl::StatusOr<std::chrono::seconds> ParseDuration(const std::string& text, const std::string& flag) {
  auto bad = [&] {
    return absl::InvalidArgumentError(absl::StrCat(flag, " takes a duration such as 90s, 30m, 12h, 7d or 2w, not \"",
                                                   text, "\""));
  };
  if (text == "0") return std::chrono::seconds(0);
  std::size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  if (digits == 0 || digits > 9 || text.size() != digits + 1) return bad();
  const long long n = std::stoll(text.substr(0, digits));
  long long unit = 0;
  switch (text.back()) {
    case 's': unit = 1; break;
    case 'm': unit = 60; break;
    case 'h': unit = 3600; break;
    case 'd': unit = 86400; break;
    case 'w': unit = 7 * 86400; break;
    default: return bad();
  }
  return std::chrono::seconds(n * unit);
}

}  // namespace swarm
