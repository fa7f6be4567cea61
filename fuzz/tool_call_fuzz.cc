// A model's tool call, as an LLM agent carries it out: any tool name (the first byte picks one of the
// offered ones, or none) with any arguments, on a small workspace of its own. What edit and
// create_file write stays in that workspace, which is made afresh every 1,000 calls.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "tools/tool_set.h"

namespace {

std::string Workspace() {
  static const std::string root = [] {
    char dir[] = "/tmp/swarm-tool-fuzz-XXXXXX";
    return std::string(mkdtemp(dir));
  }();
  static int calls = 0;
  if (calls++ % 1000 == 0) {
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(root, ec)) std::filesystem::remove_all(entry, ec);
    std::filesystem::create_directories(root + "/src", ec);
    std::ofstream(root + "/src/a.c") << "int a(void) { return 1; }\n";
    std::ofstream(root + "/README") << "hello\n";
  }
  return root;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  static const char* kNames[] = {"list_dir", "read_file", "search", "edit",   "create_file",
                                 "run",      "run_tests", "submit", "unknown"};
  swarm::Runner runner{[](const std::string&) { return std::string("exit 0"); },
                       [] { return std::string("exit 0"); }};
  swarm::ToolSet tools(Workspace(), runner);
  swarm::v1::ToolCall call;
  call.set_id("call-1");
  call.set_name(kNames[data[0] % std::size(kNames)]);
  call.set_arguments_json(std::string(reinterpret_cast<const char*>(data) + 1, size - 1));
  (void)tools.Call(call);
  return 0;
}
