#include "swarm/v1/protocol.h"

#include <cstdint>
#include <cstdio>

#include <google/protobuf/descriptor.pb.h>

#include "swarm/v1/agent.pb.h"
#include "swarm/v1/control.pb.h"
#include "swarm/v1/events.pb.h"
#include "swarm/v1/model.pb.h"
#include "swarm/v1/run.pb.h"

namespace swarm {

const std::string& ProtocolId() {
  static const std::string id = [] {
    std::uint32_t hash = 2166136261u;
    for (const google::protobuf::FileDescriptor* file :
         {v1::Registered::descriptor()->file(), v1::Event::descriptor()->file(), v1::RunSpec::descriptor()->file(),
          v1::ChatRequest::descriptor()->file(), v1::SubmitRequest::descriptor()->file()}) {
      google::protobuf::FileDescriptorProto proto;
      file->CopyTo(&proto);
      std::string bytes;
      proto.SerializeToString(&bytes);
      for (unsigned char c : bytes) hash = (hash ^ c) * 16777619u;
    }
    char hex[9];
    std::snprintf(hex, sizeof hex, "%08x", hash);
    return std::string(hex);
  }();
  return id;
}

std::string VersionLine(std::string_view program, std::string_view version) {
  return std::string(program) + " " + std::string(version) + " (protocol " + ProtocolId() + ")";
}

}  // namespace swarm
