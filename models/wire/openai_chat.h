// The OpenAI Chat Completions API, as OpenAI, DeepSeek, Moonshot (Kimi), Zhipu (GLM), Qwen's compatible
// mode, OpenRouter, vLLM, llama.cpp's server and Ollama speak it: tools and tool calls, streamed
// deltas (tool-call arguments arrive in pieces), reasoning_content, and usage with cached tokens in
// each provider's spelling. Both directions, so that the gateway's provider, the agents' model
// endpoint and the scripted model server write and read exactly the same JSON.
#ifndef SWARM_MODELS_WIRE_OPENAI_CHAT_H_
#define SWARM_MODELS_WIRE_OPENAI_CHAT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "models/wire/wire.h"
#include "swarm/v1/model.pb.h"

namespace swarm::openai {

// What a request says besides its messages and tools.
struct RequestOptions {
  std::string model{};
  std::string max_tokens_field = "max_tokens";  // OpenAI's newer models want max_completion_tokens
  std::uint32_t max_tokens = 0;                 // 0: the field is left out
  bool stream = false;                          // with stream_options.include_usage
  bool reasoning_in_history = false;            // earlier turns' reasoning_content goes back (Kimi's thinking models)
};

// A client's request body. InvalidArgument for a tool whose parameters are not a JSON object.
absl::StatusOr<std::string> EncodeRequest(const v1::ChatRequest& request, const RequestOptions& options);

// A request as a server reads it. InvalidArgument names what is wrong: not an object, no messages, an
// unknown role ("developer" is read as "system"), a tool call or tool without a name.
struct DecodedRequest {
  v1::ChatRequest request{};  // max_tokens from max_completion_tokens or max_tokens
  std::string model{};
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
};
absl::StatusOr<DecodedRequest> DecodeRequest(std::string_view body);

// A server's whole reply body, and its streamed form: each string one complete server-sent event,
// the last "data: [DONE]".
std::string EncodeReply(const v1::ChatReply& reply, const ReplyShape& shape);
std::vector<std::string> EncodeStream(const v1::ChatReply& reply, const ReplyShape& shape);

// A whole reply as a client reads it; DataLoss when it is not what the API sends, Unavailable for an
// error object.
absl::StatusOr<v1::ChatReply> DecodeReply(std::string_view body);
std::unique_ptr<StreamDecoder> NewStreamDecoder();

// An error body, as OpenAI writes one; and the message a client reads from one (or the body's start).
std::string EncodeError(std::string_view message, std::string_view type, std::string_view code);
std::string ErrorMessage(std::string_view body);

}  // namespace swarm::openai

#endif  // SWARM_MODELS_WIRE_OPENAI_CHAT_H_
