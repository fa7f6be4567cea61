#include "orchestrator/run/run_settings.h"

#include <cmath>
#include <type_traits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "orchestrator/run/run_config.h"

namespace swarm {
namespace {

// The settings outside the table, by field and flag.
constexpr std::pair<std::string_view, std::string_view> kOthers[] = {
    {"sandbox_env", "--sandbox-env"},         {"sandbox_ro_binds", "--sandbox-ro-bind"},
    {"allow_paths", "--allow-path"},          {"memory_bytes", "--memory-limit-mb"},
    {"max_processes", "--max-processes"},     {"max_file_bytes", "--max-file-mb"},
};

template <typename T>
absl::Status InRange(const T& value, std::string_view field, long long lowest, long long highest,
                     SettingNames names) {
  if constexpr (std::is_same_v<T, double>) {
    if (!std::isfinite(value) || value < 0) {
      return absl::InvalidArgumentError(absl::StrCat(SettingName(field, names),
                                                     " must be a number of dollars, 0 or more, not ", value));
    }
  } else if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    bool bad = value > static_cast<T>(highest);
    if constexpr (std::is_signed_v<T>) {
      bad = bad || value < static_cast<T>(lowest);
    } else {
      bad = bad || (lowest > 0 && value < static_cast<T>(lowest));
    }
    if (bad) {
      return absl::InvalidArgumentError(absl::StrCat(SettingName(field, names), " must be between ", lowest,
                                                     " and ", highest, ", not ", value));
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::string SettingName(std::string_view field, SettingNames names) {
  if (names == SettingNames::kFields) return std::string(field);
#define SWARM_SETTING_FLAG(type, name, value, flag, lowest, highest, help) \
  if (field == #name) return std::string_view(flag).empty() ? std::string(field) : std::string(flag);
  SWARM_RUN_SETTINGS(SWARM_SETTING_FLAG)
#undef SWARM_SETTING_FLAG
  for (const auto& [f, flag] : kOthers) {
    if (field == f) return std::string(flag);
  }
  return std::string(field);
}

absl::Status CheckSettings(const RunConfig& config, SettingNames names) {
#define SWARM_CHECK_SETTING(type, name, value, flag, lowest, highest, help)                    \
  if (absl::Status st = InRange<type>(config.name, #name, lowest, highest, names); !st.ok()) { \
    return st;                                                                                  \
  }
  SWARM_RUN_SETTINGS(SWARM_CHECK_SETTING)
#undef SWARM_CHECK_SETTING
  return absl::OkStatus();
}

}  // namespace swarm
