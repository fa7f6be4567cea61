// The dashboard's pages, scripts and styles (static/), built into the binary by
// cmake/embed_files.cmake: no build step, nothing fetched from elsewhere.
#ifndef SWARM_ORCHESTRATOR_DASHBOARD_STATIC_FILES_H_
#define SWARM_ORCHESTRATOR_DASHBOARD_STATIC_FILES_H_

#include <string_view>

namespace swarm {

// The file of static/ named `name` ("run.js"); empty when there is none.
std::string_view StaticFile(std::string_view name);

}  // namespace swarm

#endif  // SWARM_ORCHESTRATOR_DASHBOARD_STATIC_FILES_H_
