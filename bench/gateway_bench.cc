// The model gateway under load: N agents calling at once through one gateway (its rate limiter,
// budget, HTTP client and protocol translation) to the scripted model server on loopback, with the
// server answering after a fixed model latency. Prints, for each API, streaming or not, and each N:
// calls per second, the gateway's overhead per call (wall time beyond the model's latency), p50 and
// p99 latency, connections opened, and the CPU the process used per call.
//
//   build/bench/gateway_bench [--calls-per-agent 20] [--latency-ms 50] [--concurrency 64]
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <future>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "models/model_gateway.h"
#include "models/scripted/scripted_model_server.h"

namespace swarm {
namespace {

using Clock = std::chrono::steady_clock;

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

v1::ChatRequest Request() {
  v1::ChatRequest r;
  auto* s = r.add_messages();
  s->set_role("system");
  s->set_content(std::string(4000, 'x'));  // an agent's system prompt and history, roughly
  auto* u = r.add_messages();
  u->set_role("user");
  u->set_content("Rename compute_area to shape_area in src/area.c.");
  auto* t = r.add_tools();
  t->set_name("edit_file");
  t->set_description("Replace text in a file");
  t->set_parameters_json(R"({"type":"object","properties":{"path":{"type":"string"},"old":{"type":"string"},"new":{"type":"string"}}})");
  return r;
}

void Run(ApiStyle api, bool stream, int agents, int calls_per_agent, int latency_ms, int concurrency) {
  nlohmann::json step = {{"content", "Editing."},
                         {"tool_calls", {{{"name", "edit_file"}, {"arguments", {{"path", "src/area.c"}, {"old", "compute_area"}, {"new", "shape_area"}}}}}},
                         {"usage", {{"input", 1200}, {"cached", 1000}, {"output", 40}}},
                         {"delay_ms", latency_ms}};
  auto server = ScriptedModelServer::Start(nlohmann::json({{"default", step}}).dump());
  if (!server.ok()) {
    std::fprintf(stderr, "%s\n", std::string(server.status().message()).c_str());
    std::exit(1);
  }
  ResolvedModel m;
  m.ref = "bench:m";
  m.model = "m";
  m.provider.name = "bench";
  m.provider.api = api;
  m.provider.base_url = (*server)->base_url();
  m.provider.stream = stream;
  m.provider.concurrency = concurrency;
  m.provider.conversation_header = true;
  m.info = ModelInfo{131072, 8192, 0.28, 0.028, 0, 0.42, true};
  auto gateway = ModelGateway::Start(m, {.budget_usd = 1000});
  const v1::ChatRequest request = Request();
  std::vector<double> latencies;
  std::mutex mu;
  const double cpu0 = CpuSeconds();
  const auto t0 = Clock::now();
  std::vector<std::thread> threads;
  int failed = 0;
  for (int a = 0; a < agents; ++a) {
    threads.emplace_back([&, a] {
      for (int i = 0; i < calls_per_agent; ++i) {
        const auto start = Clock::now();
        auto reply = (*gateway)->CompleteAndWait("agent-" + std::to_string(a), request);
        const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
        std::lock_guard<std::mutex> lock(mu);
        if (!reply.ok()) ++failed;
        latencies.push_back(ms);
      }
    });
  }
  for (auto& t : threads) t.join();
  const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  const double cpu = CpuSeconds() - cpu0;
  std::sort(latencies.begin(), latencies.end());
  const double p50 = latencies[latencies.size() / 2], p99 = latencies[latencies.size() * 99 / 100];
  const int calls = agents * calls_per_agent;
  double mean = 0;
  for (double l : latencies) mean += l;
  mean /= latencies.size();
  std::printf("  %-9s %-6s %6d %7d %9.0f %9.2f %8.1f %8.1f %6d %11.0f %6d\n", ApiStyleName(api), stream ? "yes" : "no",
              agents, calls, calls / wall, mean - latency_ms, p50, p99, (*server)->max_concurrent(), cpu / calls * 1e6,
              failed);
}

}  // namespace
}  // namespace swarm

int main(int argc, char** argv) {
  int calls_per_agent = 20, latency_ms = 50, concurrency = 64;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--calls-per-agent")) calls_per_agent = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--latency-ms")) latency_ms = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--concurrency")) concurrency = std::atoi(argv[i + 1]);
  }
  std::printf("model gateway benchmark: each call ~4.3 KB of request, a tool-call reply; the model answers after %d ms;\n"
              "rate limit: %d requests in flight; %u cores\n\n", latency_ms, concurrency, std::thread::hardware_concurrency());
  std::printf("  %-9s %-6s %6s %7s %9s %9s %8s %8s %6s %11s %6s\n", "api", "stream", "agents", "calls", "calls/s",
              "overhead", "p50 ms", "p99 ms", "peak", "CPU us/call", "failed");
  for (swarm::ApiStyle api : {swarm::ApiStyle::kOpenAiChat, swarm::ApiStyle::kAnthropicMessages}) {
    for (bool stream : {false, true}) {
      for (int agents : {1, 16, 64, 256}) swarm::Run(api, stream, agents, calls_per_agent, latency_ms, concurrency);
    }
  }
  std::printf("\noverhead: mean latency beyond the model's; peak: the most requests the server saw at once;\n"
              "CPU: this process (the gateway and the scripted server together) per call\n");
}
