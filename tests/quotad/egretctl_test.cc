// egretctl as an admin and a user use it: offline config checks that name file and line,
// tables by default and JSON with --json, and errors that say what went wrong.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "common/process.h"
#include "tests/quotad/daemon_harness.h"
#include "tests/quotad/test_config.h"
#include "tests/support/slurm.h"

namespace egret::quotad {
namespace {

using nlohmann::json;

std::string Ctl() { return egret::testing::BuildDir() + "/bin/egretctl"; }

ProcessResult RunCtl(std::vector<std::string> args) {
  args.insert(args.begin(), Ctl());
  auto r = RunProcess(args);
  return r.ok() ? *r : ProcessResult{};
}

TEST(Egretctl, CheckConfigPrintsEveryErrorWithFileAndLine) {
  std::string dir = ::testing::TempDir() + "/ctl-" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  std::string good = dir + "/good.toml", bad = dir + "/bad.toml";
  std::ofstream(good) << testing::kUnitConfig;
  std::string text = testing::kUnitConfig;
  text.replace(text.find("shares = 40"), 11, "shares = -3");
  std::ofstream(bad) << text;
  auto ok = RunCtl({"check-config", good});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_NE(ok.out.find("OK (3 tenants, 3 partitions)"), std::string::npos) << ok.out;
  auto managed = RunCtl({"check-config", good, "--managed-partitions"});
  EXPECT_EQ(managed.out, "gpu\nold\n");
  auto err = RunCtl({"check-config", bad});
  EXPECT_EQ(err.exit_code, 1);
  EXPECT_NE(err.err.find(bad + ":"), std::string::npos) << err.err;
  EXPECT_NE(err.err.find("globex"), std::string::npos) << err.err;
  EXPECT_NE(err.err.find("shares"), std::string::npos) << err.err;
  auto missing = RunCtl({"check-config", dir + "/nope.toml"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("nope.toml"), std::string::npos);
}

TEST(Egretctl, TablesByDefaultJsonOnRequest) {
  testing::Daemon d("ctl", testing::kUnitConfig);
  ASSERT_TRUE(d.Start().ok());
  ASSERT_TRUE(d.Call({{"op", "acquire"}, {"job_id", 5}, {"tenant", "acme"}, {"partition", "old"}, {"gpus", 2}}).ok());
  auto shares = RunCtl({"--socket", d.socket(), "shares"});
  ASSERT_EQ(shares.exit_code, 0) << shares.err;
  EXPECT_EQ(shares.out.rfind("TENANT", 0), 0u) << shares.out;
  for (const char* col : {"RAW_SHARES", "NORM_SHARES", "RAW_USAGE", "NORM_USAGE", "FAIRSHARE"})
    EXPECT_NE(shares.out.find(col), std::string::npos) << shares.out;
  // 60 / (60 + 40 + 10) = 0.545455
  EXPECT_NE(shares.out.find("0.545455"), std::string::npos) << shares.out;
  auto leases = RunCtl({"--socket", d.socket(), "--json", "leases"});
  json j = json::parse(leases.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << leases.out;
  ASSERT_EQ(j["open"].size(), 1u);
  EXPECT_EQ(j["open"][0]["job_id"], 5);
  EXPECT_DOUBLE_EQ(j["open"][0]["weight"].get<double>(), 0.6);
  auto why = RunCtl({"--socket", d.socket(), "why", "5"});
  EXPECT_NE(why.out.find("job 5: running"), std::string::npos) << why.out;
  EXPECT_NE(why.out.find("holds a granted lease for 2 GPUs of acme on old"), std::string::npos) << why.out;
  for (const char* view : {"tenants", "usage", "queue", "budget"}) {
    auto r = RunCtl({"--socket", d.socket(), view});
    EXPECT_EQ(r.exit_code, 0) << view << ": " << r.err;
  }
  auto reload = RunCtl({"--socket", d.socket(), "reload"});
  EXPECT_EQ(reload.out, "config reloaded\n");
}

TEST(Egretctl, ErrorsSayWhatWentWrong) {
  auto down = RunCtl({"--socket", "/tmp/egret-ctl-no-daemon.sock", "shares"});
  EXPECT_EQ(down.exit_code, 1);
  EXPECT_NE(down.err.find("no such socket"), std::string::npos) << down.err;
  auto usage = RunCtl({"frobnicate"});
  EXPECT_EQ(usage.exit_code, 2);
  EXPECT_NE(usage.err.find("unknown command 'frobnicate'"), std::string::npos);
  testing::Daemon d("ctl-err", testing::kUnitConfig);
  ASSERT_TRUE(d.Start().ok());
  auto why = RunCtl({"--socket", d.socket(), "why", "abc"});
  EXPECT_EQ(why.exit_code, 1);
  EXPECT_NE(why.err.find("'abc' is not a job id"), std::string::npos) << why.err;
}

}  // namespace
}  // namespace egret::quotad
