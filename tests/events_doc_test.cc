// docs/events.md is the reference for readers of --json and Watch: every example on it must be an
// Event as the code reads it (proto3 JSON, no unknown field), every kind of Event must have one, and
// every kind's heading must name a kind that exists.
#include <google/protobuf/descriptor.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

#include "absl/strings/str_split.h"
#include "swarm/v1/events.pb.h"
#include "testing/test_util.h"

namespace swarm::testing {
namespace {

TEST(EventsDocTest, EveryKindHasAnExampleThatParsesAsAnEvent) {
  const std::string doc = ReadFile(SourceDir() + "/docs/events.md");
  ASSERT_FALSE(doc.empty());
  std::map<std::string, int> examples;  // kind -> examples of it
  std::set<std::string> headings;
  bool in_json = false;
  for (absl::string_view line : absl::StrSplit(doc, '\n')) {
    if (line == "```json") {
      in_json = true;
      continue;
    }
    if (line == "```") {
      in_json = false;
      continue;
    }
    if (line.substr(0, 5) == "### `") {
      std::string name(line.substr(5));
      headings.insert(name.substr(0, name.find('`')));
      continue;
    }
    if (!in_json) continue;
    v1::Event event;
    google::protobuf::util::JsonParseOptions strict;
    strict.ignore_unknown_fields = false;
    const auto status = google::protobuf::util::JsonStringToMessage(std::string(line), &event, strict);
    ASSERT_TRUE(status.ok()) << status.ToString() << "\n" << line;
    ASSERT_NE(event.kind_case(), v1::Event::KIND_NOT_SET) << line;
    EXPECT_EQ(event.schema(), 1u) << line;
    EXPECT_FALSE(event.run_id().empty()) << line;
    const auto* field = event.GetDescriptor()->FindFieldByNumber(event.kind_case());
    ++examples[field->name()];
    // A live update has no seq; every stored event has one.
    EXPECT_EQ(event.live(), event.seq() == 0) << line;
    EXPECT_EQ(event.live(), event.has_agent_activity() || event.has_queue_testing()) << line;
  }
  const google::protobuf::OneofDescriptor* kinds = v1::Event::descriptor()->FindOneofByName("kind");
  ASSERT_NE(kinds, nullptr);
  std::set<std::string> all;
  for (int i = 0; i < kinds->field_count(); ++i) all.insert(kinds->field(i)->name());
  for (const std::string& kind : all) {
    EXPECT_EQ(examples[kind], 1) << "docs/events.md needs one example of " << kind;
    EXPECT_TRUE(headings.count(kind)) << "docs/events.md needs a heading for " << kind;
  }
  for (const std::string& heading : headings) EXPECT_TRUE(all.count(heading)) << "no kind named " << heading;
}

}  // namespace
}  // namespace swarm::testing
