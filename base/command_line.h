// What swarm's command lines (swarm, swarm-agent) say about themselves and about a command line they
// cannot parse: their version, and parse errors in swarm's own words (which flag or argument, and
// what it takes), never the parser's.
#ifndef SWARM_BASE_COMMAND_LINE_H_
#define SWARM_BASE_COMMAND_LINE_H_

#include <string>
#include <vector>

namespace CLI {
class App;
class ParseError;
}  // namespace CLI

namespace swarm {

// "0.1.0": the version of this build (the project's, CMakeLists.txt).
const char* SwarmVersion();

// `e`, thrown by `app` parsing `args` (argv without the program), in swarm's words. `program` names
// the command ("swarm").
std::string ParseErrorInWords(const CLI::ParseError& e, const CLI::App& app, const std::string& program,
                              const std::vector<std::string>& args);

// The one of `names` nearest to `word` (at most two edits, or a prefix of it), or "".
std::string Nearest(const std::string& word, const std::vector<std::string>& names);
// Every one of `names` as near as the nearest, in their order.
std::vector<std::string> NearestAll(const std::string& word, const std::vector<std::string>& names);

}  // namespace swarm

#endif  // SWARM_BASE_COMMAND_LINE_H_
