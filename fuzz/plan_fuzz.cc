// A plan file (JSON) from the user or the planner model: parsed, then validated (groups, cycles,
// paths), as every plan is before a run starts.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "orchestrator/plan/plan.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<swarm::Plan> plan = swarm::ParsePlan(text, "plan.json");
  if (plan.ok() && swarm::ValidatePlan(*plan, "plan.json").ok()) (void)swarm::PlanToJson(*plan);
  return 0;
}
