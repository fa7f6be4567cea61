// Server-sent events (the WHATWG event-stream format), as model providers stream replies: bytes in,
// (event, data) pairs out. Comments and fields other than event and data are skipped.
#ifndef SWARM_MODELS_SSE_H_
#define SWARM_MODELS_SSE_H_

#include <functional>
#include <string>
#include <string_view>

namespace swarm {

class SseParser {
 public:
  using OnEvent = std::function<void(std::string_view event, std::string_view data)>;
  explicit SseParser(OnEvent on_event) : on_event_(std::move(on_event)) {}

  // Feeds bytes in any pieces; calls OnEvent for each complete event (one ended by a blank line).
  void Feed(std::string_view bytes);
  // The stream ended: a last event without its blank line (or newline) still counts.
  void Finish();

 private:
  void Line(std::string_view line);

  OnEvent on_event_;
  std::string pending_;  // an incomplete line
  std::string event_;
  std::string data_;
  bool has_data_ = false;
};

}  // namespace swarm

#endif  // SWARM_MODELS_SSE_H_
