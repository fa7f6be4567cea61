#include "base/command_line.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <regex>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "base/edit_distance.h"

#ifndef SWARM_VERSION
#error "SWARM_VERSION is set by base/CMakeLists.txt"
#endif

namespace swarm {
namespace {

// The deepest command that was parsed: `swarm run` for `swarm run --bogus`.
const CLI::App& Deepest(const CLI::App& app) {
  for (const CLI::App* sub : app.get_subcommands()) return Deepest(*sub);
  return app;
}

std::string CommandName(const CLI::App& app, const std::string& program) {
  const CLI::App& deepest = Deepest(app);
  return &deepest == &app ? program : absl::StrCat(program, " ", deepest.get_name());
}

// What an option of parser type `type` ("INT", "UINT:UINT in [0 - 10]", "FLOAT", "TEXT") takes.
std::string Takes(const std::string& type) {
  if (type.rfind("UINT", 0) == 0) return "a whole number, 0 or more";
  if (type.rfind("INT", 0) == 0) return "a whole number";
  if (type.rfind("FLOAT", 0) == 0) return "a number";
  return "a value";
}

std::vector<std::string> SubcommandNames(const CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) names.push_back(sub->get_name());
  return names;
}

}  // namespace

const char* SwarmVersion() { return SWARM_VERSION; }

std::vector<std::string> NearestAll(const std::string& word, const std::vector<std::string>& names) {
  std::vector<std::string> best;
  std::size_t best_distance = 3;
  for (const auto& name : names) {
    const std::size_t d = name.rfind(word, 0) == 0 && !word.empty() ? 1 : EditDistance(word, name);
    if (d < best_distance) {
      best = {name};
      best_distance = d;
    } else if (d == best_distance && !best.empty()) {
      best.push_back(name);
    }
  }
  return best;
}

std::string Nearest(const std::string& word, const std::vector<std::string>& names) {
  std::vector<std::string> all = NearestAll(word, names);
  return all.empty() ? "" : all.front();
}

std::string ParseErrorInWords(const CLI::ParseError& e, const CLI::App& app, const std::string& program,
                              const std::vector<std::string>& args) {
  const std::string what = e.what();
  const std::string command = CommandName(app, program);
  std::smatch m;
  if (dynamic_cast<const CLI::ConversionError*>(&e) != nullptr &&
      std::regex_match(what, m, std::regex(R"(Could not convert: (\S+) = (.*))"))) {
    const CLI::Option* option = Deepest(app).get_option_no_throw(m[1].str());
    const std::string takes = option != nullptr ? Takes(option->get_type_name()) : "another value";
    return absl::StrCat(m[1].str(), " takes ", takes, ", not \"", m[2].str(), "\"");
  }
  if (dynamic_cast<const CLI::ValidationError*>(&e) != nullptr &&
      std::regex_match(what, m, std::regex(R"((\S+): Value (.*) not in range (\S+) to (\S+))"))) {
    return absl::StrCat(m[1].str(), " must be between ", m[3].str(), " and ", m[4].str(), ", not ", m[2].str());
  }
  if (dynamic_cast<const CLI::ArgumentMismatch*>(&e) != nullptr &&
      std::regex_match(what, m, std::regex(R"((\S+): \d+ required .* missing)"))) {
    return absl::StrCat(m[1].str(), " needs a value (see `", command, " --help`)");
  }
  if (dynamic_cast<const CLI::ArgumentMismatch*>(&e) != nullptr &&
      std::regex_match(what, m, std::regex(R"((\S+): At Most 1 required but received (\d+))"))) {
    return absl::StrCat(m[1].str(), " was given ", m[2].str(), " times; give it once");
  }
  if (dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr) {
    std::string extras = what.substr(what.find(':') + 1);
    extras.erase(0, extras.find_first_not_of(' '));
    // An unknown option leaves its value behind too ("3 --agentz"): name the option, and the nearest.
    for (absl::string_view word : absl::StrSplit(extras, ' ', absl::SkipEmpty())) {
      if (word.size() < 2 || word[0] != '-') continue;
      std::vector<std::string> options;
      for (const CLI::Option* option : Deepest(app).get_options()) {
        for (const std::string& name : option->get_lnames()) options.push_back("--" + name);
      }
      const std::string unknown(word.substr(0, word.find('=')));
      const std::string near = Nearest(unknown, options);
      return absl::StrCat("unknown option ", unknown, " for `", command, "`",
                          near.empty() ? "" : absl::StrCat("; did you mean ", near, "?"), " (see `", command, " --help`)");
    }
    return absl::StrCat("unexpected argument ", extras, " for `", command, "` (see `", command, " --help`)");
  }
  if (dynamic_cast<const CLI::RequiredError*>(&e) != nullptr) {
    if (what == "A subcommand is required") {
      const std::vector<std::string> commands = SubcommandNames(app);
      if (!args.empty() && !args[0].empty() && args[0][0] != '-') {
        // `swarm runn`: run and runs are as near as each other; both are named.
        std::vector<std::string> near = NearestAll(args[0], commands);
        for (std::string& name : near) name = absl::StrCat("`", program, " ", name, "`");
        return absl::StrCat("unknown command \"", args[0], "\"",
                            near.empty() ? "" : absl::StrCat("; did you mean ", absl::StrJoin(near, " or "), "?"),
                            " (commands: ", absl::StrJoin(commands, ", "), ")");
      }
      return absl::StrCat("give a command: ", absl::StrJoin(commands, ", "), " (see `", program, " --help`)");
    }
    if (std::regex_match(what, m, std::regex(R"((\S+) is required)"))) {
      const std::string name = m[1].str();
      if (name[0] == '-') return absl::StrCat(name, " is required (see `", command, " --help`)");
      std::string upper = name;
      for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      return absl::StrCat("`", command, "` needs ", upper, " (see `", command, " --help`)");
    }
  }
  if (dynamic_cast<const CLI::ExcludesError*>(&e) != nullptr || dynamic_cast<const CLI::RequiresError*>(&e) != nullptr) {
    return absl::StrCat(what, " (see `", command, " --help`)");
  }
  return absl::StrCat(what, " (see `", command, " --help`)");
}

}  // namespace swarm
