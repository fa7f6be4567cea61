// Overlay workspaces give the same patch as cloned ones, for every kind of change, and cost only
// what the agent writes. Needs root (mounts in a private mount namespace), as CI runs.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "git/base_checkouts.h"
#include "git/workspace.h"
#include "sandbox/overlay_mount.h"
#include "testing/test_util.h"

namespace swarm {
namespace {

namespace fs = std::filesystem;
using ::swarm::testing::CommitAll;
using ::swarm::testing::InitRepo;
using ::swarm::testing::ReadFile;
using ::swarm::testing::Sh;
using ::swarm::testing::TempDir;
using ::swarm::testing::Trim;
using ::swarm::testing::WriteFile;

class OverlayWorkspaceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "overlay workspaces need root (CI runs as root)";
    ASSERT_TRUE(EnterPrivateMountNamespace().ok());
    ASSERT_TRUE(ProbeOverlay(dir_.path()).ok()) << ProbeOverlay(dir_.path());
    const std::string repo = dir_ / "repo";
    InitRepo(repo);
    WriteFile(repo + "/a.txt", "a\n");
    WriteFile(repo + "/sub/b.txt", "b\n");
    WriteFile(repo + "/sub/keep.txt", "keep\n");
    WriteFile(repo + "/sub/deep/d.txt", "d\n");
    WriteFile(repo + "/gone.txt", "gone\n");
    WriteFile(repo + "/run.sh", "#!/bin/sh\n");
    WriteFile(repo + "/.gitignore", "*.o\n");
    Sh("chmod +x " + repo + "/run.sh && ln -s a.txt " + repo + "/link && printf '\\000\\001\\377bin' > " + repo +
       "/blob.bin");
    CommitAll(repo, "base");
    base_ = Trim(Sh("git -C " + repo + " rev-parse HEAD"));
    bases_ = std::make_unique<BaseCheckouts>(repo + "/.git", dir_ / "bases", nullptr);
  }

  std::unique_ptr<Workspace> Clone(const std::string& name) {
    auto ws = Workspace::Create(dir_ / "repo/.git", base_, dir_ / name, false);
    EXPECT_TRUE(ws.ok()) << ws.status();
    return ws.ok() ? std::move(*ws) : nullptr;
  }
  // `name` under the test's directory, or an absolute path.
  std::unique_ptr<Workspace> Overlay(const std::string& name, const WorkspaceLimits& limits = {},
                                     const std::string& mount_place = "") {
    auto lower = bases_->Acquire(base_);
    EXPECT_TRUE(lower.ok()) << lower.status();
    if (!lower.ok()) return nullptr;
    const std::string dir = name[0] == '/' ? name : dir_ / name;
    auto ws = Workspace::CreateOverlay(dir_ / "repo/.git", *lower, dir, nullptr, limits, mount_place);
    EXPECT_TRUE(ws.ok()) << ws.status();
    return ws.ok() ? std::move(*ws) : nullptr;
  }

  TempDir dir_;
  std::string base_;
  std::unique_ptr<BaseCheckouts> bases_;
};

// The mount point of a file the sandbox showed the agent (its own script) never lands, in either kind
// of workspace, even where the repository's .gitignore would bring it back with a negation.
TEST_F(OverlayWorkspaceTest, AFileShownToTheAgentIsLeftOutOfThePatchWhateverGitignoreSays) {
  for (bool overlay : {false, true}) {
    std::unique_ptr<Workspace> ws = overlay ? Overlay("shown-overlay") : Clone("shown-clone");
    ASSERT_NE(ws, nullptr);
    ASSERT_TRUE(ws->Ignore({"do-subtask.sh", "tools/agent.sh"}).ok());
    WriteFile(ws->root() + "/.gitignore", "*\n!*.sh\n!*/\n!.gitignore\n");
    WriteFile(ws->root() + "/do-subtask.sh", "");  // what bubblewrap leaves where it mounted the file
    WriteFile(ws->root() + "/tools/agent.sh", "");
    WriteFile(ws->root() + "/work.sh", "echo the agent's own\n");
    absl::StatusOr<Patch> p = ws->ComputePatch();
    ASSERT_TRUE(p.ok()) << p.status();
    EXPECT_NE(p->diff.find("work.sh"), std::string::npos) << (overlay ? "overlay" : "clone") << "\n" << p->diff;
    EXPECT_EQ(p->diff.find("do-subtask.sh"), std::string::npos) << (overlay ? "overlay" : "clone") << "\n" << p->diff;
    EXPECT_EQ(p->diff.find("tools/agent.sh"), std::string::npos) << (overlay ? "overlay" : "clone") << "\n" << p->diff;
  }
}

// The property: the same commands in a clone and in an overlay give the same tree and the same diff.
TEST_F(OverlayWorkspaceTest, EveryKindOfChangeGivesTheClonesPatch) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"nothing", "true"},
      {"edit", "printf 'A\\n' > a.txt"},
      {"add in new directories", "mkdir -p new/deep && printf c > new/deep/c.txt"},
      {"delete", "rm gone.txt"},
      {"rename", "mv sub/b.txt sub/renamed.txt"},
      {"directory renamed", "mv sub moved"},
      {"directory renamed by git, then edited", "git mv sub sub2 && printf e > sub2/keep.txt"},
      {"directory renamed into a new one", "mkdir -p nest && mv sub nest/sub"},
      {"mode on and off", "chmod +x a.txt && chmod -x run.sh"},
      {"new symlink", "ln -s sub/b.txt link2"},
      {"symlink retargeted", "rm link && ln -s gone.txt link"},
      {"symlink replaced by a file", "rm link && printf 'was a link' > link"},
      {"binary edit", "printf '\\000\\002\\376' >> blob.bin && printf '\\377\\000' > new.bin"},
      {"directory deleted", "rm -r sub"},
      {"nested file deleted, sibling kept", "rm sub/deep/d.txt"},
      {"directory replaced by a file", "rm -r sub && printf x > sub"},
      {"file replaced by a directory", "rm gone.txt && mkdir gone.txt && printf y > gone.txt/inner"},
      {"directory emptied and refilled (opaque)", "rm -r sub && mkdir sub && printf n > sub/new.txt"},
      {"ignored file", "printf o > build.o"},
      {"deleted and written back the same", "rm a.txt && printf 'a\\n' > a.txt && touch run.sh"},
      {"agent commits", "printf z > z.txt && rm gone.txt && git add -A && "
                        "git -c user.name=a -c user.email=a@b commit -qm x"},
  };
  int n = 0;
  for (const auto& [name, command] : cases) {
    SCOPED_TRACE(name);
    auto clone = Clone("clone-" + std::to_string(n));
    auto overlay = Overlay("overlay-" + std::to_string(n++));
    ASSERT_NE(clone, nullptr);
    ASSERT_NE(overlay, nullptr);
    for (const Workspace* ws : {clone.get(), overlay.get()}) Sh("cd " + ws->root() + " && " + command);
    absl::StatusOr<Patch> want = clone->ComputePatch();
    absl::StatusOr<Patch> got = overlay->ComputePatch();
    ASSERT_TRUE(want.ok()) << want.status();
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(got->empty, want->empty);
    EXPECT_EQ(got->tree, want->tree);
    EXPECT_EQ(got->diff, want->diff);
  }
  EXPECT_EQ(bases_->made(), 1) << "every overlay shares one checkout of the base";
}

TEST_F(OverlayWorkspaceTest, ANestedRepositoryIsRefusedAsAClonesIs) {
  const std::string make_nested =
      "mkdir -p vendor/x && cd vendor/x && git init -q && printf v > v.txt && git add v.txt && "
      "git -c user.name=a -c user.email=a@b commit -qm v";
  auto clone = Clone("clone");
  auto overlay = Overlay("overlay");
  ASSERT_NE(clone, nullptr);
  ASSERT_NE(overlay, nullptr);
  for (const Workspace* ws : {clone.get(), overlay.get()}) Sh("cd " + ws->root() + " && " + make_nested);
  absl::StatusOr<Patch> want = clone->ComputePatch();
  absl::StatusOr<Patch> got = overlay->ComputePatch();
  EXPECT_FALSE(want.ok());
  EXPECT_FALSE(got.ok()) << "the overlay dropped the nested repository silently";
  EXPECT_EQ(got.status().code(), want.status().code());
  EXPECT_EQ(got.status().message(), want.status().message());
}

TEST_F(OverlayWorkspaceTest, TheAgentHasAWorkingGitAndItsWritesReachNeitherTheBaseNorAnotherLayer) {
  auto first = Overlay("first");
  auto second = Overlay("second");
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(Sh("cd " + first->root() + " && git status --porcelain"), "");
  Sh("cd " + first->root() + " && printf changed > a.txt && rm gone.txt && printf new > new.txt");
  EXPECT_EQ(Sh("cd " + first->root() + " && git status --porcelain"), " M a.txt\n D gone.txt\n?? new.txt\n");
  EXPECT_EQ(ReadFile(second->root() + "/a.txt"), "a\n");
  EXPECT_TRUE(fs::exists(second->root() + "/gone.txt"));
  EXPECT_FALSE(fs::exists(second->root() + "/new.txt"));
  const std::string base_dir = dir_ / "bases/base-0/tree";
  EXPECT_EQ(ReadFile(base_dir + "/a.txt"), "a\n") << "the shared checkout was written through";
  EXPECT_TRUE(fs::exists(base_dir + "/gone.txt"));
  // What it wrote is all its layer holds.
  absl::StatusOr<std::vector<std::string>> changes = UpperChanges(dir_ / "first/upper");
  ASSERT_TRUE(changes.ok());
  std::sort(changes->begin(), changes->end());
  EXPECT_EQ(*changes, (std::vector<std::string>{"a.txt", "gone.txt", "new.txt"}));
}

// Mounts at or below `path` in this process's mount namespace.
int MountsUnder(const std::string& path) {
  std::ifstream in("/proc/self/mountinfo");
  int n = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.find(" " + path + "/") != std::string::npos) ++n;
  }
  return n;
}

std::uint64_t FreeInodes(const std::string& path) {
  struct statvfs st;
  return statvfs(path.c_str(), &st) == 0 ? st.f_favail : 0;
}

// Finding 9 of the security issue: where workspaces are in RAM, an agent's layer is a tmpfs of its
// own, so its limits hold while it writes (not only when its patch is computed), and a flood of
// files takes no inode of the machine's /dev/shm.
TEST_F(OverlayWorkspaceTest, ALayerHoldsNoMoreThanItsLimitsWhileTheAgentWrites) {
  TempDir shm("/dev/shm");
  WorkspaceLimits limits;
  limits.max_growth = TreeUsage{8 << 20, 200};
  fs::create_directory(shm / "mounts");
  auto ws = Overlay(shm / "ws", limits, shm / "mounts");
  ASSERT_NE(ws, nullptr);
  // One mount per workspace (each sandbox start copies them all): the layer's is detached.
  EXPECT_EQ(MountsUnder(shm.path()), 1);
  // A write of 100 MB stops near the byte limit.
  Sh("head -c 100000000 /dev/zero > " + ws->root() + "/big 2>/dev/null || true");
  EXPECT_LT(fs::file_size(ws->root() + "/big"), 16u << 20);
  const std::uint64_t free_before = FreeInodes("/dev/shm");
  // Files until the layer refuses: a few more than the limit (the layer's slack), never 2,000.
  const std::string made = Sh("cd " + ws->root() + " && mkdir f && i=0; while [ $i -lt 2000 ]; do "
                              "touch f/$i 2>/dev/null || break; i=$((i+1)); done; echo $i");
  EXPECT_GT(std::stoi(made), 200);
  EXPECT_LT(std::stoi(made), 300) << "the layer took every file";
  // /dev/shm is shared with the tests running beside this one: what they take is noise, so the
  // flood's files must not show as a drop of anywhere near their number.
  const std::int64_t taken = static_cast<std::int64_t>(free_before) - static_cast<std::int64_t>(FreeInodes("/dev/shm"));
  EXPECT_LT(taken, std::stoi(made) / 2) << "the flood took inodes of /dev/shm";
  absl::StatusOr<Patch> patch = ws->ComputePatch();
  EXPECT_EQ(patch.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(patch.status().message().find("--max-workspace-files 200"), std::string::npos) << patch.status();
  EXPECT_NE(patch.status().message().find("No space left on device"), std::string::npos) << patch.status();
  ws.reset();
  EXPECT_FALSE(fs::exists(shm / "ws"));
}

// A test run's tree in an LLM agent's workspace: the work as it is, and nothing the tests write
// comes back; it costs what the tests write, within the same limits.
TEST_F(OverlayWorkspaceTest, AThrowawayViewSeesTheWorkAndGivesNothingBack) {
  TempDir shm("/dev/shm");
  WorkspaceLimits limits;
  limits.max_growth = TreeUsage{8 << 20, 200};
  fs::create_directory(shm / "mounts");
  auto ws = Overlay(shm / "ws", limits, shm / "mounts");
  ASSERT_NE(ws, nullptr);
  Sh("cd " + ws->root() + " && printf mine > a.txt && rm gone.txt && printf new > new.txt");
  for (int round = 0; round < 2; ++round) {  // a second view reuses the mount points
    absl::StatusOr<std::unique_ptr<ThrowawayTree>> view = ws->MakeThrowaway(shm / "ws/test-copy", nullptr);
    ASSERT_TRUE(view.ok()) << view.status();
    const std::string root = (*view)->root();
    EXPECT_EQ(ReadFile(root + "/a.txt"), "mine");
    EXPECT_FALSE(fs::exists(root + "/gone.txt"));
    EXPECT_EQ(ReadFile(root + "/sub/b.txt"), "b\n");
    Sh("cd " + root + " && printf test > a.txt && rm new.txt sub/b.txt && mkdir build && printf o > build/x.o");
    const std::string made = Sh("cd " + root + " && i=0; while [ $i -lt 2000 ]; do touch build/$i 2>/dev/null || break; "
                                "i=$((i+1)); done; echo $i");
    EXPECT_LT(std::stoi(made), 300) << "the tests' layer took every file";
    view->reset();
    EXPECT_FALSE(fs::exists(shm / "ws/test-copy"));
  }
  EXPECT_EQ(ReadFile(ws->root() + "/a.txt"), "mine");
  EXPECT_EQ(ReadFile(ws->root() + "/new.txt"), "new");
  EXPECT_TRUE(fs::exists(ws->root() + "/sub/b.txt"));
  EXPECT_FALSE(fs::exists(ws->root() + "/build"));
  absl::StatusOr<Patch> patch = ws->ComputePatch();
  ASSERT_TRUE(patch.ok()) << patch.status();
  EXPECT_NE(patch->diff.find("new.txt"), std::string::npos);
  EXPECT_EQ(patch->diff.find("build/"), std::string::npos);
  auto clone = Clone("clone");
  ASSERT_NE(clone, nullptr);
  EXPECT_EQ(clone->MakeThrowaway(dir_ / "clone/test-copy", nullptr).status().code(), absl::StatusCode::kUnimplemented);
}

// Where overlays are not used (an ordinary user's host, in a user namespace of its own), a clone is
// a tmpfs of its own capped at its checkout plus the growth allowed, and its throwaway copy for
// the tests is capped the same way.
TEST_F(OverlayWorkspaceTest, ACloneOnItsOwnFileSystemIsCappedAndSoIsItsCopy) {
  TempDir shm("/dev/shm");
  fs::create_directory(shm / "mounts");
  WorkspaceLimits limits;
  limits.max_growth = TreeUsage{8 << 20, 200};
  auto ws = Workspace::Create(dir_ / "repo/.git", base_, shm / "ws", false, limits, shm / "mounts");
  ASSERT_TRUE(ws.ok()) << ws.status();
  EXPECT_EQ((*ws)->root(), shm / "mounts/ws");
  EXPECT_EQ(ReadFile((*ws)->root() + "/a.txt"), "a\n");
  Sh("cd " + (*ws)->root() + " && printf mine > a.txt");
  const std::string flood = " && mkdir -p f && i=0; while [ $i -lt 2000 ]; do touch f/$i 2>/dev/null || break; "
                            "i=$((i+1)); done; echo $i";
  absl::StatusOr<std::unique_ptr<ThrowawayTree>> copy = (*ws)->MakeThrowaway(shm / "ws/test-copy", nullptr);
  ASSERT_TRUE(copy.ok()) << copy.status();
  EXPECT_EQ(ReadFile((*copy)->root() + "/a.txt"), "mine");
  EXPECT_LT(std::stoi(Sh("cd " + (*copy)->root() + flood)), 300) << "the copy took every file";
  copy->reset();
  EXPECT_FALSE(fs::exists((*ws)->root() + "/f")) << "the tests' files reached the work tree";
  const int made = std::stoi(Sh("cd " + (*ws)->root() + flood));
  EXPECT_GT(made, 200);
  EXPECT_LT(made, 300) << "the clone took every file";
  absl::StatusOr<Patch> patch = (*ws)->ComputePatch();
  EXPECT_EQ(patch.status().code(), absl::StatusCode::kResourceExhausted) << patch.status();
  ws->reset();
  EXPECT_EQ(MountsUnder(shm.path()), 0);
  EXPECT_FALSE(fs::exists(shm / "ws"));
}

std::uint64_t ShmemKiB() {
  std::ifstream in("/proc/meminfo");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("Shmem:", 0) == 0) return std::stoull(line.substr(6));
  }
  return 0;
}

// A sandbox started while a workspace was mounted holds a copy of its mount (bubblewrap binds /
// recursively) until it exits: the workspace's RAM must come back when the workspace goes anyway.
TEST_F(OverlayWorkspaceTest, AGoneLayerGivesItsRamBackWhileASandboxStillHoldsACopy) {
  TempDir shm("/dev/shm");
  fs::create_directory(shm / "mounts");
  WorkspaceLimits limits;
  limits.max_growth = TreeUsage{1ull << 30, 1000};
  auto ws = Overlay(shm / "ws", limits, shm / "mounts");
  ASSERT_NE(ws, nullptr);
  Sh("head -c 268435456 /dev/zero > " + ws->root() + "/big");
  // A process in a copy of this mount namespace, as a sandbox is; it says so once it is in it.
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  const pid_t holder = fork();
  if (holder == 0) {
    dup2(ready[1], STDOUT_FILENO);
    close(ready[0]);
    execlp("unshare", "unshare", "--mount", "--propagation", "unchanged", "sh", "-c", "echo in; exec sleep 60", nullptr);
    _exit(127);
  }
  close(ready[1]);
  char said[3] = {};
  ASSERT_EQ(read(ready[0], said, sizeof(said)), 3) << "unshare did not start";
  close(ready[0]);
  const std::uint64_t before = ShmemKiB();
  ws.reset();
  const std::uint64_t after = ShmemKiB();
  kill(holder, SIGKILL);
  waitpid(holder, nullptr, 0);
  EXPECT_GT(before, after + (192 << 10)) << "the 256 MiB stayed in RAM: before " << before << " KiB, after " << after;
}

TEST_F(OverlayWorkspaceTest, RemovingAWorkspaceUnmountsItAndLeavesTheCheckoutForTheNext) {
  auto ws = Overlay("gone");
  ASSERT_NE(ws, nullptr);
  Sh("printf x > " + ws->root() + "/x.txt");
  ws.reset();
  EXPECT_FALSE(fs::exists(dir_ / "gone")) << "the layer is removed with the workspace";
  EXPECT_TRUE(fs::exists(dir_ / "bases/base-0/tree/a.txt")) << "an idle checkout is kept for the next attempt";
  auto again = Overlay("again");
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(bases_->made(), 1);
}

TEST_F(OverlayWorkspaceTest, ConcurrentAttemptsOnOneBaseWaitForOneCheckout) {
  std::vector<std::thread> threads;
  std::vector<std::shared_ptr<const BaseCheckouts::Checkout>> held(8);
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      auto c = bases_->Acquire(base_);
      if (c.ok()) held[i] = *c;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(bases_->made(), 1);
  for (const auto& h : held) {
    ASSERT_NE(h, nullptr);
    EXPECT_EQ(h->dir, held[0]->dir);
  }
  held.clear();
  EXPECT_EQ(bases_->Acquire("0000000000000000000000000000000000000000").ok(), false) << "an unknown commit is an error";
}

// The head moves as patches land: each new base is a layer over the last (what changed between
// them), a full checkout only once the stack is deep, and a workspace on any of them is the clone's.
TEST_F(OverlayWorkspaceTest, AMovingHeadCostsWhatChangedBetweenBasesNotTheRepository) {
  const std::string repo = dir_ / "repo";
  std::vector<std::string> commits;
  for (int i = 0; i < 10; ++i) {
    const std::string cmd = i % 3 == 2 ? "git rm -q sub/keep.txt 2>/dev/null || printf k > sub/keep.txt"
                                       : "printf " + std::to_string(i) + " >> a.txt && printf n > n" + std::to_string(i);
    Sh("cd " + repo + " && " + cmd);
    CommitAll(repo, "c");
    commits.push_back(Trim(Sh("git -C " + repo + " rev-parse HEAD")));
  }
  BaseCheckouts bases(repo + "/.git", dir_ / "moving", nullptr, /*keep_idle=*/4, /*max_layers=*/4);
  std::vector<std::shared_ptr<const BaseCheckouts::Checkout>> held;
  for (const auto& c : commits) {
    auto checkout = bases.Acquire(c);
    ASSERT_TRUE(checkout.ok()) << checkout.status();
    held.push_back(*checkout);
  }
  EXPECT_EQ(bases.made(), 10);
  EXPECT_EQ(bases.full(), 3) << "a full checkout, then layers until the stack is 4 deep";
  for (std::size_t i = 0; i < commits.size(); ++i) {
    SCOPED_TRACE("commit " + std::to_string(i));
    auto clone = Workspace::Create(repo + "/.git", commits[i], dir_ / ("mc-" + std::to_string(i)), false);
    auto overlay = Workspace::CreateOverlay(repo + "/.git", held[i], dir_ / ("mo-" + std::to_string(i)), nullptr);
    ASSERT_TRUE(clone.ok() && overlay.ok());
    EXPECT_EQ(Sh("cd " + (*overlay)->root() + " && git status --porcelain && git rev-parse HEAD"), commits[i] + "\n");
    EXPECT_EQ(Sh("cd " + (*overlay)->root() + " && find . -path ./.git -prune -o -type f -print | sort | xargs cat"),
              Sh("cd " + (*clone)->root() + " && find . -path ./.git -prune -o -type f -print | sort | xargs cat"));
    Sh("cd " + (*overlay)->root() + " && printf e > a.txt && rm -f n1");
    Sh("cd " + (*clone)->root() + " && printf e > a.txt && rm -f n1");
    auto want = (*clone)->ComputePatch();
    auto got = (*overlay)->ComputePatch();
    ASSERT_TRUE(want.ok() && got.ok());
    EXPECT_EQ(got->tree, want->tree);
    EXPECT_EQ(got->diff, want->diff);
  }
  held.clear();
}

}  // namespace
}  // namespace swarm
