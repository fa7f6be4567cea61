#include "orchestrator/run/run_layout.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "git/workspace.h"
#include "sandbox/overlay_mount.h"
#include "testing/test_util.h"

namespace swarm {
namespace {

namespace fs = std::filesystem;
using ::swarm::testing::Sh;
using ::swarm::testing::TempDir;

class RunLayoutTest : public ::testing::Test {
 protected:
  // 8 command agents, 2 check jobs, a queue of 3 and the base's test: 14 trees written at once.
  void FourteenTreesWithTheDefaultFlags() {
    run_.config.max_workspace_mb = 16384;
    run_.config.max_workspace_files = 1000000;
    run_.config.test_jobs = 2;
    run_.config.queue_depth = 3;
  }
  void SetUp() override {
    Sh("git init -q " + dir_ / "repo");
    absl::StatusOr<Git> git = Git::Open(dir_ / "repo");
    ASSERT_TRUE(git.ok()) << git.status();
    run_.user.emplace(std::move(*git));
    run_.repo_root = dir_ / "repo";
    run_.state_dir = dir_ / "state";
    run_.run_id = "r-layout";
    run_.config.agents = 8;
  }
  bool Hidden(const RunLayout& layout, const std::string& path) {
    return std::find(layout.hidden_paths.begin(), layout.hidden_paths.end(), path) != layout.hidden_paths.end();
  }

  TempDir dir_;
  PreparedRun run_;
};

TEST_F(RunLayoutTest, TheRunsDirectoriesAreMadeUnderTheStateDirectory) {
  absl::StatusOr<RunLayout> layout = MakeRunDirs(run_);
  ASSERT_TRUE(layout.ok()) << layout.status();
  EXPECT_EQ(layout->run_dir, dir_ / "state/runs/r-layout");
  EXPECT_TRUE(fs::is_directory(layout->log_dir));
  EXPECT_EQ(layout->ledger_dir, layout->run_dir + "/pids");
}

TEST_F(RunLayoutTest, WorkspacesGoToTmpfsOnlyWhenTheyFitInHalfOfItsFreeSpace) {
  absl::StatusOr<RunLayout> layout = MakeRunDirs(run_);
  ASSERT_TRUE(layout.ok());
  const std::uint64_t tree = 10 << 20;                  // 10 MiB of files
  const std::uint64_t need = (8 + 2) * tree * 2 + (64 << 20);  // 264 MiB
  ASSERT_TRUE(PlaceWorkspaces(run_, tree, 2 * need - 1, *layout).ok());
  EXPECT_FALSE(layout->workspaces_on_tmpfs);
  EXPECT_EQ(layout->workspace_root, layout->run_dir + "/work");
  EXPECT_TRUE(fs::is_directory(layout->workspace_root));
  // It fits, and each of the 14 trees written at once gets 16 MiB past its slack.
  run_.config.test_jobs = 2;
  ASSERT_TRUE(PlaceWorkspaces(run_, tree, 2 * need + 2 * 14 * (16 << 20), *layout).ok());
  EXPECT_TRUE(layout->workspaces_on_tmpfs);
  EXPECT_EQ(layout->workspace_root, "/dev/shm/swarm-r-layout");
  EXPECT_EQ(layout->own_tmpfs_bytes, 0u);
  fs::remove_all(layout->workspace_root);
}

// In a mount namespace of its own the run's trees go in a tmpfs of its own, sized from the RAM given
// (its half), whatever /dev/shm holds; where the RAM cannot give each tree its share, on disk.
TEST_F(RunLayoutTest, WithItsOwnTmpfsTheTreesShareHalfOfTheRam) {
  absl::StatusOr<RunLayout> layout = MakeRunDirs(run_);
  ASSERT_TRUE(layout.ok());
  run_.config.test_jobs = 2;
  const std::uint64_t tree = 10 << 20;
  const std::uint64_t need = (8 + 2) * tree * 2 + (64 << 20);
  const std::uint64_t ram = 2 * need + 2 * 14 * (16 << 20);
  ASSERT_TRUE(PlaceWorkspaces(run_, tree, ram, *layout, std::nullopt, /*own_tmpfs=*/true).ok());
  EXPECT_TRUE(layout->workspaces_on_tmpfs);
  EXPECT_EQ(layout->workspace_root, layout->run_dir + "/work");
  EXPECT_EQ(layout->own_tmpfs_bytes, ram / 2) << "a ceiling; each tree written is a tmpfs of its own";
  EXPECT_EQ(layout->shared_space, "the RAM");
  EXPECT_EQ(layout->trees_sharing, 14);
  ASSERT_TRUE(PlaceWorkspaces(run_, tree, 2 * need - 1, *layout, std::nullopt, /*own_tmpfs=*/true).ok());
  EXPECT_FALSE(layout->workspaces_on_tmpfs);
  EXPECT_EQ(layout->own_tmpfs_bytes, 0u);
  EXPECT_EQ(layout->workspace_root, layout->run_dir + "/work");
}

TEST_F(RunLayoutTest, AvailableMemoryIsReadAndNoMoreThanTheMachineHas) {
  const std::uint64_t available = AvailableMemoryBytes();
  EXPECT_GT(available, 0u);
  EXPECT_LE(available, static_cast<std::uint64_t>(sysconf(_SC_PHYS_PAGES)) * sysconf(_SC_PAGESIZE));
}

// On disk no tree is a file system of its own: the trees share half of the disk's free space and
// inodes past their checkouts, so that together they cannot fill it (a guard holds each to its share).
TEST_F(RunLayoutTest, TreesOnDiskShareHalfOfItsFreeSpace) {
  absl::StatusOr<RunLayout> layout = MakeRunDirs(run_);
  ASSERT_TRUE(layout.ok());
  FourteenTreesWithTheDefaultFlags();
  const std::uint64_t tree = 10 << 20;
  const std::uint64_t checkouts = (14 + 2) * tree;  // a full checkout for each tree, and two more
  const TreeUsage disk{2 * (checkouts + 14 * (100ull << 20)), 2 * 14 * 5000};
  ASSERT_TRUE(PlaceWorkspaces(run_, tree, 0, *layout, disk).ok());
  EXPECT_FALSE(layout->workspaces_on_tmpfs);
  EXPECT_EQ(layout->trees_sharing, 14);
  EXPECT_EQ(layout->tree_growth_bytes, 100ull << 20);
  EXPECT_EQ(layout->tree_growth_files, 5000u);
  std::optional<std::string> note = LoweredLimitsNote(*layout, run_.config);
  ASSERT_TRUE(note.has_value());
  EXPECT_NE(note->find("share half of the disk's free space"), std::string::npos) << *note;
  // A full disk: each tree gets the least, 1 MiB (and, with no inode count, the flag's files).
  ASSERT_TRUE(PlaceWorkspaces(run_, tree, 0, *layout, TreeUsage{0, 0}).ok());
  EXPECT_EQ(layout->tree_growth_bytes, 1u << 20);
  EXPECT_EQ(layout->tree_growth_files, 1000000u);
  // A roomy disk: the flags hold.
  ASSERT_TRUE(PlaceWorkspaces(run_, tree, 0, *layout, TreeUsage{1ull << 50, 1ull << 40}).ok());
  EXPECT_EQ(layout->tree_growth_bytes, 16384ull << 20);
  EXPECT_EQ(layout->tree_growth_files, 1000000u);
  EXPECT_FALSE(LoweredLimitsNote(*layout, run_.config).has_value());
}

// On tmpfs each tree is a file system of its own: together they may hold no more than half of
// /dev/shm's free space (what is left of it past the workspaces' checkouts), shared equally.
TEST_F(RunLayoutTest, TreesOnTmpfsShareHalfOfItsFreeSpaceEqually) {
  absl::StatusOr<RunLayout> layout = MakeRunDirs(run_);
  ASSERT_TRUE(layout.ok());
  FourteenTreesWithTheDefaultFlags();
  const std::uint64_t need = 64 << 20;  // an empty tree: the 64 MiB reserve
  const std::uint64_t slack = kLayerSlackBytes + kLayerSlackInodes * kBytesPerInode;
  const std::uint64_t free = 2 * (need + 14 * ((1ull << 30) + slack));  // 1 GiB past its slack for each of 14
  ASSERT_TRUE(PlaceWorkspaces(run_, 0, free, *layout).ok());
  ASSERT_TRUE(layout->workspaces_on_tmpfs);
  EXPECT_EQ(layout->trees_sharing, 8 + 2 + 3 + 1);  // command agents, check jobs, candidates, the base test
  // Half the share at most for files, at 1 KiB each; the rest for pages; slack and all, within it.
  EXPECT_EQ(layout->tree_growth_files, (1ull << 30) / 2 / kBytesPerInode);
  EXPECT_EQ(layout->tree_growth_bytes, (1ull << 30) - layout->tree_growth_files * kBytesPerInode);
  EXPECT_LE(14 * (LayerLimitsFor(TreeUsage{layout->tree_growth_bytes, 0}).bytes +
                  LayerLimitsFor(TreeUsage{0, layout->tree_growth_files}).inodes * kBytesPerInode),
            free / 2 - need);
  run_.config.agent_command.clear();  // the built-in LLM agent: a test view beside each workspace
  run_.config.model = "scripted:x";
  ASSERT_TRUE(PlaceWorkspaces(run_, 0, free, *layout).ok());
  EXPECT_EQ(layout->trees_sharing, 16 + 2 + 3 + 1);
  run_.config.max_workspace_mb = 100;  // below the share: the flags hold
  run_.config.max_workspace_files = 1000;
  ASSERT_TRUE(PlaceWorkspaces(run_, 0, free, *layout).ok());
  EXPECT_EQ(layout->tree_growth_bytes, 100u << 20);
  EXPECT_EQ(layout->tree_growth_files, 1000u);
  // Too little for each tree to hold 2 MiB past its slack: the disk, with the flags.
  ASSERT_TRUE(PlaceWorkspaces(run_, 0, 2 * (need + 22 * (slack + (1 << 20))), *layout).ok());
  EXPECT_FALSE(layout->workspaces_on_tmpfs);
  EXPECT_EQ(layout->trees_sharing, 0);
  EXPECT_EQ(layout->tree_growth_bytes, 100u << 20);
  fs::remove_all("/dev/shm/swarm-r-layout");
}

TEST_F(RunLayoutTest, TheRuntimeDirectoryIsPrivateShortAndRecordedForACleanUp) {
  absl::StatusOr<RunLayout> layout = MakeRunDirs(run_);
  ASSERT_TRUE(layout.ok());
  ASSERT_TRUE(MakeRuntimeDir(*layout).ok());
  EXPECT_TRUE(fs::is_directory(layout->runtime_dir));
  EXPECT_EQ(fs::status(layout->runtime_dir).permissions() & fs::perms::all, fs::perms::owner_all);
  EXPECT_LE(layout->socket_path.size(), 107u);
  EXPECT_EQ(swarm::testing::ReadFile(layout->run_dir + "/runtime-dir"), layout->runtime_dir + "\n");
  // A resumed run removes what the dead one left, the runtime directory included.
  std::ofstream(layout->run_dir + "/cancel") << "old\n";
  RemoveLeftovers(run_, *layout);
  EXPECT_FALSE(fs::exists(layout->runtime_dir));
  EXPECT_FALSE(fs::exists(layout->run_dir + "/cancel"));
}

TEST_F(RunLayoutTest, TheStateTheRepositoryTheWorkspacesTheSocketAndHomeAreHidden) {
  absl::StatusOr<RunLayout> layout = MakeRunDirs(run_);
  ASSERT_TRUE(layout.ok());
  ASSERT_TRUE(PlaceWorkspaces(run_, 0, 0, *layout).ok());
  ASSERT_TRUE(MakeRuntimeDir(*layout).ok());
  run_.config.hidden_paths = {"/srv/swarm/control"};
  std::string home = dir_ / "home";
  fs::create_directories(home);
  const char* old_home = getenv("HOME");
  std::string saved = old_home != nullptr ? old_home : "";
  setenv("HOME", home.c_str(), 1);
  HidePaths(run_, *layout);
  setenv("HOME", saved.c_str(), 1);
  for (const std::string& p : {run_.state_dir, run_.repo_root, layout->workspace_root, layout->runtime_dir,
                               std::string("/srv/swarm/control"), home}) {
    EXPECT_TRUE(Hidden(*layout, p)) << p;
  }
  EXPECT_EQ(layout->sandbox_home, home);
  SandboxPolicy policy = TestPolicy(run_, *layout);
  EXPECT_EQ(policy.hidden_paths, layout->hidden_paths);
  EXPECT_NE(std::find(policy.env.begin(), policy.env.end(), "HOME=" + home), policy.env.end());
  EXPECT_EQ(policy.output_cap, 1u << 20);  // exit: the end of the output is enough
  EXPECT_TRUE(policy.rw_binds.empty()) << "no build cache unless asked";
  run_.config.test_format = "pytest";
  EXPECT_EQ(TestPolicy(run_, *layout).output_cap, 64u << 20);  // per-test: every line counts
  // --build-cache: bound writable, the usual tools pointed into it; --sandbox-env comes after, so it wins.
  run_.config.build_cache = "/var/cache/swarm-build";
  run_.sandbox_env = {"CCACHE_DIR=/elsewhere"};
  policy = TestPolicy(run_, *layout);
  EXPECT_EQ(policy.rw_binds, std::vector<std::string>{"/var/cache/swarm-build"});
  for (const char* e : {"SWARM_BUILD_CACHE=/var/cache/swarm-build", "XDG_CACHE_HOME=/var/cache/swarm-build/xdg",
                        "CCACHE_BASEDIR=/", "CARGO_HOME=/var/cache/swarm-build/cargo"}) {
    EXPECT_NE(std::find(policy.env.begin(), policy.env.end(), e), policy.env.end()) << e;
  }
  auto ccache = std::find(policy.env.begin(), policy.env.end(), "CCACHE_DIR=/var/cache/swarm-build/ccache");
  auto user = std::find(policy.env.begin(), policy.env.end(), "CCACHE_DIR=/elsewhere");
  ASSERT_NE(user, policy.env.end());
  EXPECT_LT(ccache, user) << "the user's own value comes last, and so wins";
  fs::remove_all(layout->runtime_dir);
}

}  // namespace
}  // namespace swarm
