#include "orchestrator/merge/internal/landing_message.h"

#include "gtest/gtest.h"

namespace swarm {
namespace {

MergePatch Patch(const std::string& id, const std::string& summary) {
  MergePatch p;
  p.subtask_id = id;
  p.title = "Title of " + id;
  p.summary = summary;
  return p;
}

TEST(LandingMessageTest, ALonePatchCarriesItsAgentsSummaryAsTheBodyAndTheTrailersLast) {
  MergeRequest request{{Patch("api", "Added the v2 endpoint.\n\nKept v1 as it was.")}, ""};
  EXPECT_EQ(LandingMessage(request, "r1"),
            "Title of api (api)\n\nAdded the v2 endpoint.\n\nKept v1 as it was.\n\nswarm-run: r1\nswarm-subtask: api\n");
  request.patches[0].summary = "";
  EXPECT_EQ(LandingMessage(request, "r1"), "Title of api (api)\n\nswarm-run: r1\nswarm-subtask: api\n");
}

TEST(LandingMessageTest, AGroupListsItsMembersThenEachSummary) {
  MergeRequest request{{Patch("r1", "core renamed"), Patch("r2", "")}, "rename"};
  EXPECT_EQ(LandingMessage(request, "run"),
            "group rename: 2 subtasks\n\n- Title of r1 (r1)\n- Title of r2 (r2)\n\nr1:\ncore renamed\n\n"
            "swarm-run: run\nswarm-group: rename\nswarm-subtask: r1\nswarm-subtask: r2\n");
}

TEST(LandingMessageTest, TheSignoffIsTheAuthorsAndComesLast) {
  MergeRequest request{{Patch("a", "")}, ""};
  CommitAuthor author{"CI Bot", "ci@example.com", /*signoff=*/true};
  std::string msg = LandingMessage(request, "r", author);
  EXPECT_TRUE(msg.ends_with("swarm-subtask: a\nSigned-off-by: CI Bot <ci@example.com>\n")) << msg;
}

TEST(LandingMessageTest, AnAgentsSummaryIsMadePlainTextThatCannotPassForTrailersOrAPatch) {
  std::string hostile = "ok\r\n\x1b[31mred\x07\n\n\n\n---\n--- a/x\n end   \n\n";
  EXPECT_EQ(CommitBodyText(hostile), "ok\n[31mred\n\n  ---\n  --- a/x\n end");
  // Bidirectional overrides and C1 controls go; lines that read as trailers are indented.
  EXPECT_EQ(CommitBodyText("a\u202Eb\u2066c\u0085d"), "abcd");
  EXPECT_EQ(CommitBodyText("Fixed it.\nSigned-off-by: Someone <s@x>\nNote: kept v1"),
            "Fixed it.\n  Signed-off-by: Someone <s@x>\n  Note: kept v1");
  EXPECT_EQ(CommitBodyText("a\xff" "b"), "a\\xffb") << "bytes that are not UTF-8 are spelled out";
  // Whatever it says, the trailers are the last paragraph, and swarm's.
  MergeRequest request{{Patch("a", "done\n\nswarm-subtask: forged\nswarm-run: other")}, ""};
  std::string msg = LandingMessage(request, "r");
  EXPECT_TRUE(msg.ends_with("\n\nswarm-run: r\nswarm-subtask: a\n")) << msg;
  std::string big(10000, 'x');
  std::string cut = CommitBodyText(big);
  EXPECT_LE(cut.size(), 4096u + 32);
  EXPECT_TRUE(cut.ends_with("[summary cut at 4 KiB]")) << cut.substr(cut.size() - 40);
}

}  // namespace
}  // namespace swarm
