// What a model provider answers, as the gateway decodes it: a whole reply body, an error body, or an
// event stream, in OpenAI's and in Anthropic's format (the first byte picks).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "models/provider_protocol.h"
#include "models/sse.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  static const swarm::OpenAiChat openai("max_tokens");
  static const swarm::AnthropicMessages anthropic;
  const swarm::ProviderProtocol& protocol =
      (data[0] & 1) ? static_cast<const swarm::ProviderProtocol&>(openai) : anthropic;
  std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch ((data[0] >> 1) % 3) {
    case 0:
      (void)protocol.Decode(body);
      break;
    case 1:
      (void)protocol.ErrorMessage(body);
      break;
    default: {
      std::unique_ptr<swarm::StreamDecoder> stream = protocol.NewStream();
      bool failed = false;
      swarm::SseParser parser([&](std::string_view event, std::string_view payload) {
        if (!failed) failed = !stream->OnEvent(event, payload).ok();
      });
      parser.Feed(body);
      parser.Finish();
      if (!failed) (void)stream->Finish();
    }
  }
  return 0;
}
