// Test trees as overlays hold exactly what a full checkout of the tree holds, whatever changed, and a
// test run's writes reach neither the shared checkout nor another run's tree. Needs root (mounts in a
// private mount namespace), as CI runs.
#include "git/test_trees.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <map>

#include "git/integration_repo.h"
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

// Every directory, file and link under `root`, with its kind, executable bit and content or target.
std::map<std::string, std::string> Listing(const std::string& root) {
  std::map<std::string, std::string> out;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
    const std::string rel = fs::relative(it->path(), root).string();
    if (it->is_symlink()) {
      out[rel] = "link " + fs::read_symlink(it->path()).string();
    } else if (it->is_regular_file()) {
      struct stat st;
      lstat(it->path().c_str(), &st);
      out[rel] = std::string((st.st_mode & S_IXUSR) ? "exec " : "file ") + ReadFile(it->path().string());
    } else if (it->is_directory()) {
      out[rel] = "dir";  // a directory a full checkout does not have would change what tests see
    } else {
      out[rel] = "other";  // a whiteout seen through the mount would be a bug
    }
  }
  return out;
}

class TestTreesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "overlay test trees need root (CI runs as root)";
    ASSERT_TRUE(EnterPrivateMountNamespace().ok());
    InitRepo(repo());
  }
  std::string repo() const { return dir_ / "repo"; }
  // Commits the work tree after `command` and returns the commit's tree.
  std::string Commit(const std::string& command) {
    Sh("cd " + repo() + " && " + command);
    CommitAll(repo(), "c");
    return Trim(Sh("git -C " + repo() + " rev-parse HEAD^{tree}"));
  }
  std::map<std::string, std::string> Checkout(const std::string& tree) {
    auto integration = IntegrationRepo::Open(repo() + "/.git");
    EXPECT_TRUE(integration.ok());
    const std::string at = dir_ / ("full-" + std::to_string(n_++));
    EXPECT_TRUE((*integration)->Materialize(tree, at).ok());
    return Listing(at);
  }

  TempDir dir_;
  int n_ = 0;
};

TEST_F(TestTreesTest, EveryTreeHoldsWhatItsFullCheckoutHolds) {
  std::vector<std::string> trees;
  trees.push_back(Commit("mkdir -p sub/deep dir && printf a > a && printf b > sub/b && printf d > sub/deep/d && "
                         "printf x > dir/x && printf '#!/bin/sh\\n' > run.sh && chmod +x run.sh && ln -s a link && "
                         "printf '\\000\\001' > bin"));
  trees.push_back(Commit("printf A > a && printf new > sub/new && rm sub/b"));                // edit, add, delete
  trees.push_back(Commit("rm -r sub"));                                                         // a directory goes
  trees.push_back(Commit("rm a && mkdir a && printf inner > a/inner"));                        // file -> directory
  trees.push_back(Commit("rm -r dir && printf file > dir"));                                    // directory -> file
  trees.push_back(Commit("chmod -x run.sh && rm link && ln -s dir link && printf '\\377' >> bin"));  // modes, links
  trees.push_back(Commit("mkdir -p sub/deep && printf back > sub/deep/d"));                     // a directory returns
  trees.push_back(Commit("rm -r sub/deep && mkdir -p x/y/z && printf z > x/y/z/f"));             // nested ones come and go
  TestTrees layers(Git::AtGitDir(repo() + "/.git"), dir_ / "layers", nullptr);
  int i = 0;
  for (const std::string& tree : trees) {
    SCOPED_TRACE("tree " + std::to_string(i));
    auto t = layers.Make(tree, dir_ / ("t" + std::to_string(i++)));
    ASSERT_TRUE(t.ok()) << t.status();
    EXPECT_EQ(Listing((*t)->root()), Checkout(tree));
  }
  // Going back to an older tree is a delta too.
  auto back = layers.Make(trees[0], dir_ / "back");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(Listing((*back)->root()), Checkout(trees[0]));
  EXPECT_EQ(layers.checkouts(), 1) << "every tree was a layer over the first checkout";
  // Attributes change how unchanged files check out: such a tree gets a checkout of its own.
  std::string attributes = Commit("printf 'run.sh text eol=crlf\\n' > .gitattributes");  // run.sh is unchanged
  auto t = layers.Make(attributes, dir_ / "attributes");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(Listing((*t)->root()), Checkout(attributes));
  EXPECT_EQ(layers.checkouts(), 2);
}

TEST_F(TestTreesTest, ACandidateFarFromTheSharedCheckoutBecomesTheNewOne) {
  std::string first = Commit("printf a > a");
  std::string far = Commit("for i in 1 2 3 4 5; do printf $i > f$i; done");
  TestTrees layers(Git::AtGitDir(repo() + "/.git"), dir_ / "layers", nullptr, /*max_delta=*/3);
  auto a = layers.Make(first, dir_ / "a");
  ASSERT_TRUE(a.ok());
  auto b = layers.Make(far, dir_ / "b");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(layers.checkouts(), 2);
  EXPECT_EQ(Listing((*b)->root()), Checkout(far));
  EXPECT_EQ(Listing((*a)->root()), Checkout(first)) << "the older tree keeps its checkout while in use";
  a->reset();
  EXPECT_FALSE(fs::exists(dir_ / "layers/lower-0")) << "the old checkout goes with its last user";
}

TEST_F(TestTreesTest, WhatATestWritesStaysInItsOwnLayer) {
  std::string tree = Commit("printf a > a");
  TestTrees layers(Git::AtGitDir(repo() + "/.git"), dir_ / "layers", nullptr);
  auto one = layers.Make(tree, dir_ / "one");
  auto two = layers.Make(tree, dir_ / "two");
  ASSERT_TRUE(one.ok() && two.ok());
  Sh("cd " + (*one)->root() + " && printf changed > a && printf junk > build.out && rm -f nothing");
  EXPECT_EQ(ReadFile((*two)->root() + "/a"), "a");
  EXPECT_FALSE(fs::exists((*two)->root() + "/build.out"));
  EXPECT_EQ(ReadFile(dir_ / "layers/lower-0/a"), "a") << "the shared checkout was written through";
  one->reset();
  EXPECT_FALSE(fs::exists(dir_ / "one"));
}

// Finding 4 of the security issue: a test run writes into a layer of its own that holds at most the
// run's limits (where the run's trees are in RAM), not into the machine's /dev/shm without bound.
TEST_F(TestTreesTest, ATestRunsLayerHoldsNoMoreThanItsLimits) {
  std::string base = Commit("printf a > a");
  std::string candidate = Commit("printf b > b && printf aa > a");
  TempDir shm("/dev/shm");
  fs::create_directory(shm / "mounts");
  TestTrees layers(Git::AtGitDir(repo() + "/.git"), shm / "layers", nullptr, 256, shm / "mounts",
                   LayerLimits{4 << 20, 100});
  ASSERT_TRUE(layers.Make(base, shm / "first").ok());  // the shared checkout: the candidate is a delta on it
  auto tree = layers.Make(candidate, shm / "t");
  ASSERT_TRUE(tree.ok()) << tree.status();
  const std::string root = (*tree)->root();
  EXPECT_EQ(ReadFile(root + "/b"), "b");
  EXPECT_EQ(ReadFile(root + "/a"), "aa");
  Sh("head -c 50000000 /dev/zero > " + root + "/big 2>/dev/null || true");
  EXPECT_LE(fs::file_size(root + "/big"), 4u << 20);
  const std::string made = Sh("cd " + root + " && i=0; while [ $i -lt 1000 ]; do touch f$i 2>/dev/null || break; "
                              "i=$((i+1)); done; echo $i");
  EXPECT_GT(std::stoi(made), 80);
  EXPECT_LT(std::stoi(made), 100) << "the test's layer took every file";
  tree->reset();
  EXPECT_FALSE(fs::exists(shm / "t"));
  // Without limits, or on disk, a layer is a directory (no file system of its own).
  TestTrees unlimited(Git::AtGitDir(repo() + "/.git"), shm / "unlimited", nullptr, 256, shm / "mounts");
  auto plain = unlimited.Make(candidate, shm / "plain");
  ASSERT_TRUE(plain.ok());
  EXPECT_TRUE(fs::exists(shm / "plain/upper"));
}

}  // namespace
}  // namespace swarm
