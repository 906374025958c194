// The directory helpers run as root on user-controlled trees: they must refuse a store root
// others can reach, never follow symlinks, and remove deep trees without recursion.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "plugins/job_dirs.h"

namespace egret::plugin {
namespace {

namespace fs = std::filesystem;

class PluginDirs : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/var/tmp/egret-dirs-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    base_ = tmpl;
  }
  void TearDown() override { fs::remove_all(base_); }
  std::string base_;
};

TEST_F(PluginDirs, PrivateRootIsCreated0700AndAnOpenOneIsRefused) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (the plugin runs as root)";
  std::string root = base_ + "/a/b/store";
  auto fd = OpenPrivateRoot(root);
  ASSERT_TRUE(fd.ok()) << fd.error().message();
  struct stat st;
  ASSERT_EQ(::stat(root.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  EXPECT_EQ(st.st_uid, 0u);
  ::chmod(root.c_str(), 0755);
  auto bad = OpenPrivateRoot(root);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message(),
            root + " is owned by uid 0 with mode 0755; it must be root's alone so no job can "
                   "reach what lies below it: chown root:root " + root + " && chmod 0700 " + root);
}

TEST_F(PluginDirs, PrivateRootMustNotBeASymlink) {
  fs::create_directory(base_ + "/real");
  fs::create_symlink(base_ + "/real", base_ + "/link");
  auto fd = OpenPrivateRoot(base_ + "/link");
  ASSERT_FALSE(fd.ok());
  EXPECT_NE(fd.error().message().find("cannot open " + base_ + "/link"), std::string::npos)
      << fd.error().message();
}

TEST_F(PluginDirs, OwnedDirGetsOwnerAndModeAndRefusesSymlinks) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (chown)";
  Fd parent(::open(base_.c_str(), O_RDONLY | O_DIRECTORY));
  auto d = EnsureOwnedDir(parent, base_, "job", 1234, 5678, 0700);
  ASSERT_TRUE(d.ok()) << d.error().message();
  struct stat st;
  ASSERT_EQ(::stat((base_ + "/job").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 1234u);
  EXPECT_EQ(st.st_gid, 5678u);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  // Again (another task of the step): same result.
  ASSERT_TRUE(EnsureOwnedDir(parent, base_, "job", 1234, 5678, 0700).ok());
  fs::create_symlink("/etc", base_ + "/evil");
  auto e = EnsureOwnedDir(parent, base_, "evil", 1234, 5678, 0700);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.error().message().find("it must be a real directory"), std::string::npos);
  ASSERT_EQ(::lstat("/etc", &st), 0);
  EXPECT_EQ(st.st_uid, 0u) << "followed the symlink";
}

TEST_F(PluginDirs, RemoveTreeDeletesDeepTreesWithoutFollowingLinks) {
  std::string victim = base_ + "/victim";
  fs::create_directory(victim);
  std::ofstream(victim + "/keep.txt") << "must survive";
  std::string top = base_ + "/job";
  fs::create_directories(top + "/a/b");
  std::ofstream(top + "/a/b/f") << "x";
  std::ofstream(top + "/g") << "y";
  fs::create_symlink(victim, top + "/link-to-victim");
  fs::create_symlink(victim, top + "/a/link2");
  // Deeper than any recursion-based removal could handle with a small stack.
  std::string deep = top + "/deep";
  fs::create_directory(deep);
  int fd = ::open(deep.c_str(), O_RDONLY | O_DIRECTORY);
  for (int i = 0; i < 3000; ++i) {
    ASSERT_EQ(::mkdirat(fd, "d", 0700), 0);
    int next = ::openat(fd, "d", O_RDONLY | O_DIRECTORY);
    ::close(fd);
    fd = next;
  }
  ::close(::openat(fd, "leaf", O_CREAT | O_WRONLY, 0600));
  ::close(fd);

  Fd parent(::open(base_.c_str(), O_RDONLY | O_DIRECTORY));
  Status st = RemoveTree(parent.get(), "job");
  ASSERT_TRUE(st.ok()) << st.error().message();
  EXPECT_FALSE(fs::exists(top));
  EXPECT_TRUE(fs::exists(victim + "/keep.txt"));
  EXPECT_TRUE(RemoveTree(parent.get(), "job").ok()) << "missing is fine";
}

TEST_F(PluginDirs, RemoveJobDirsTakesOnlyThatJobOnThatHost) {
  for (const char* n : {"42-100-n1", "42-200-n1", "42-100-n2", "421-100-n1", "7-1-n1"})
    fs::create_directories(base_ + "/" + n + "/sub");
  auto removed = RemoveJobDirs(base_, 42, "n1");
  ASSERT_TRUE(removed.ok()) << removed.error().message();
  EXPECT_EQ(*removed, 2);
  EXPECT_FALSE(fs::exists(base_ + "/42-100-n1"));
  EXPECT_FALSE(fs::exists(base_ + "/42-200-n1"));
  EXPECT_TRUE(fs::exists(base_ + "/42-100-n2"));
  EXPECT_TRUE(fs::exists(base_ + "/421-100-n1"));
  EXPECT_TRUE(fs::exists(base_ + "/7-1-n1"));
  auto none = RemoveJobDirs(base_ + "/missing", 42, "n1");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, 0);
}

}  // namespace
}  // namespace egret::plugin
