#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "common/fs.h"
#include "common/process.h"
#include "common/result.h"
#include "common/strings.h"

namespace egret {
namespace {

Result<int> ParsePositive(int v) {
  if (v <= 0) return Error("must be > 0 (got " + std::to_string(v) + ")");
  return v;
}

Status Chain(int v) {
  EGRET_ASSIGN_OR_RETURN(int x, ParsePositive(v));
  if (x > 10) return Error("too big");
  return Ok();
}

TEST(Result, CarriesValueOrErrorWithContext) {
  auto good = ParsePositive(3);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 3);
  auto bad = ParsePositive(-2);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().context("tenants.toml:14: gpu_quota").message(),
            "tenants.toml:14: gpu_quota: must be > 0 (got -2)");
  EXPECT_TRUE(Chain(5).ok());
  EXPECT_EQ(Chain(0).error().message(), "must be > 0 (got 0)");
  EXPECT_EQ(Chain(11).error().message(), "too big");
}

TEST(Fs, AtomicWriteReplacesWholeFileAndLeavesNoTemp) {
  auto dir = std::filesystem::temp_directory_path() / ("egret-fs-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::string path = (dir / "f.txt").string();
  ASSERT_TRUE(WriteFileAtomic(path, "first").ok());
  ASSERT_TRUE(WriteFileAtomic(path, "second, longer", 0600).ok());
  auto text = ReadFile(path);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, "second, longer");
  struct stat st{};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), {}), 1);
  auto missing = ReadFile((dir / "nope").string());
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message().find("nope: cannot open: No such file"), std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST(Process, CapturesOutputExitCodeAndStdin) {
  ProcessOptions opts;
  opts.stdin_data = std::string(200000, 'x');  // larger than a pipe buffer
  opts.env = {"EGRET_T=42"};
  auto r = RunProcess({"sh", "-c", "wc -c; echo $EGRET_T >&2; exit 7"}, opts);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 7);
  EXPECT_EQ(std::string(Trim(r->out)), "200000");
  EXPECT_EQ(r->err, "42\n");
}

TEST(Process, TimesOutAndReportsMissingProgram) {
  ProcessOptions opts;
  opts.timeout_s = 0.3;
  auto r = RunProcess({"sleep", "10"}, opts);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->timed_out);
  auto missing = RunProcess({"/nonexistent/prog"});
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->exit_code, 127);
}

TEST(Strings, SplitTrimJoinQuote) {
  EXPECT_EQ(Split("a,,b", ','), (std::vector<std::string>{"a", "", "b"}));
  EXPECT_EQ(Split("a,,b", ',', true), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(Trim("  x y \n"), "x y");
  EXPECT_EQ(Join({"a", "b", "c"}, ", "), "a, b, c");
  EXPECT_EQ(ShellQuote("it's"), "'it'\\''s'");
}

}  // namespace
}  // namespace egret
