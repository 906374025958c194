// Who may do what, with the caller's uid taken from SO_PEERCRED. The test connects as real
// system users (fork + setuid): "nobody" is a member of acme, "daemon" of globex, root is the
// admin; "bin" belongs to no tenant but is listed as an admin in the second config.
#include <gtest/gtest.h>
#include <pwd.h>
#include <unistd.h>

#include "tests/quotad/daemon_harness.h"

namespace egret::quotad {
namespace {

using nlohmann::json;
using testing::AsUser;
using testing::Daemon;

const char* kAuthConfig = R"toml(
[global]
admins = ["root"]
[gpu_types]
h100 = 1.0
[[partition]]
name = "gpu"
gpu_type = "h100"
gpus = 8
[[tenant]]
name = "acme"
members = ["nobody"]
allowed_partitions = ["gpu"]
gpu_quota = { gpu = 4 }
[[tenant]]
name = "globex"
members = ["daemon"]
allowed_partitions = ["gpu"]
gpu_quota = { gpu = 4 }
)toml";

// Runs REQUEST as USER on a fresh connection; returns the reply's JSON text.
std::string CallAs(const Daemon& d, const std::string& user, const json& request) {
  return AsUser(user, [&]() -> std::string {
    auto r = d.Call(request);
    return r.ok() ? r->dump() : "transport error: " + r.error().message();
  });
}

json Parse(const std::string& s) {
  json j = json::parse(s, nullptr, false);
  return j.is_discarded() ? json{{"unparsed", s}} : j;
}

class AuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "connecting as other users needs root (setuid)";
  }
  static void SetUpTestSuite() {
    d_ = new Daemon("auth", kAuthConfig);
    Status s = d_->Start();
    ASSERT_TRUE(s.ok()) << s.error().message();
    // Root (the admin) holds one lease per tenant.
    for (auto [job, tenant] : {std::pair{101, "acme"}, std::pair{202, "globex"}}) {
      auto r = d_->Call({{"op", "acquire"}, {"job_id", job}, {"tenant", tenant}, {"partition", "gpu"}, {"gpus", 1}});
      ASSERT_TRUE(r.ok());
      ASSERT_EQ((*r)["decision"], "granted") << r->dump();
    }
  }
  static void TearDownTestSuite() { delete d_; }
  static Daemon* d_;
};
Daemon* AuthTest::d_ = nullptr;

TEST_F(AuthTest, AUserCannotTouchLeases) {
  for (const json& req : {json{{"op", "acquire"}, {"job_id", 5}, {"tenant", "acme"}, {"partition", "gpu"}, {"gpus", 1}},
                          json{{"op", "release"}, {"job_id", 101}, {"end_time", 1}},
                          json{{"op", "heartbeat"}, {"job_ids", {101}}},
                          json{{"op", "get_lease"}, {"job_id", 101}}}) {
    json r = Parse(CallAs(*d_, "nobody", req));
    EXPECT_EQ(r.value("code", ""), "forbidden") << req.dump() << " -> " << r.dump();
    EXPECT_NE(r.value("error", "").find("only root, the SlurmUser or an egret admin"), std::string::npos);
    EXPECT_NE(r.value("error", "").find("(nobody)"), std::string::npos) << r.dump();
  }
  // Nothing changed: the lease is still open, no lease for job 5.
  auto l = d_->Call({{"op", "get_lease"}, {"job_id", 101}});
  EXPECT_TRUE((*l)["ok"].get<bool>());
  auto none = d_->Call({{"op", "get_lease"}, {"job_id", 5}});
  EXPECT_EQ((*none)["code"], "not_found");
}

TEST_F(AuthTest, TheUidComesFromTheSocketNotFromTheRequest) {
  json claim = {{"op", "acquire"}, {"job_id", 6}, {"tenant", "acme"}, {"partition", "gpu"}, {"gpus", 1},
                {"uid", 0}, {"user", "root"}, {"admin", true}};
  json r = Parse(CallAs(*d_, "nobody", claim));
  EXPECT_EQ(r.value("code", ""), "forbidden") << r.dump();
  json ping = Parse(CallAs(*d_, "nobody", {{"op", "ping"}, {"uid", 0}}));
  EXPECT_EQ(ping.value("uid", -1), static_cast<int>(::getpwnam("nobody")->pw_uid));
  EXPECT_EQ(ping.value("user", ""), "nobody");
  EXPECT_EQ(ping.value("admin", true), false);
}

TEST_F(AuthTest, AUserSeesOnlyTheirOwnTenant) {
  for (const char* view : {"tenants", "shares", "budget"}) {
    json r = Parse(CallAs(*d_, "nobody", {{"op", "query"}, {"view", view}}));
    ASSERT_TRUE(r.value("ok", false)) << r.dump();
    std::string text = r["result"].dump();
    EXPECT_NE(text.find("\"acme\""), std::string::npos) << view << ": " << text;
    EXPECT_EQ(text.find("globex"), std::string::npos) << view << " leaks another tenant: " << text;
  }
  json leases = Parse(CallAs(*d_, "daemon", {{"op", "query"}, {"view", "leases"}}));
  ASSERT_TRUE(leases.value("ok", false));
  ASSERT_EQ(leases["result"]["open"].size(), 1u) << leases.dump();
  EXPECT_EQ(leases["result"]["open"][0]["job_id"], 202);
  // Another tenant's job: refused, not described.
  json why = Parse(CallAs(*d_, "nobody", {{"op", "query"}, {"view", "why:202"}}));
  EXPECT_EQ(why.value("code", ""), "forbidden") << why.dump();
  EXPECT_EQ(why.dump().find("globex"), std::string::npos);
  json mine = Parse(CallAs(*d_, "nobody", {{"op", "query"}, {"view", "why:101"}}));
  EXPECT_TRUE(mine.value("ok", false)) << mine.dump();
  // A user of no tenant sees nothing.
  json none = Parse(CallAs(*d_, "bin", {{"op", "query"}, {"view", "leases"}}));
  EXPECT_TRUE(none["result"]["open"].empty()) << none.dump();
}

TEST_F(AuthTest, AdminSeesEverythingAndMayReload) {
  auto all = d_->Call({{"op", "query"}, {"view", "leases"}});
  ASSERT_TRUE(all.ok());
  EXPECT_EQ((*all)["result"]["open"].size(), 2u);
  auto reload = d_->Call({{"op", "reload"}});
  EXPECT_TRUE((*reload)["ok"].get<bool>()) << reload->dump();
  json user = Parse(CallAs(*d_, "nobody", {{"op", "reload"}}));
  EXPECT_EQ(user.value("code", ""), "forbidden");
}

TEST_F(AuthTest, SubmitChecksAreAboutTheCaller) {
  json ok = Parse(CallAs(*d_, "nobody", {{"op", "check_submit"}, {"account", "acme"}, {"partition", "gpu"}, {"gpus", 1}}));
  EXPECT_TRUE(ok.value("allowed", false)) << ok.dump();
  json no = Parse(CallAs(*d_, "nobody", {{"op", "check_submit"}, {"account", "globex"}, {"partition", "gpu"}, {"gpus", 1}}));
  EXPECT_FALSE(no.value("allowed", true));
  EXPECT_EQ(no.value("reason", ""), "egret: user nobody is not a member of tenant globex (members: daemon)");
}

TEST(AuthAdmins, AnAdminListedInTheConfigMayDoEverything) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (setuid)";
  std::string cfg = kAuthConfig;
  cfg.replace(cfg.find("admins = [\"root\"]"), 17, "admins = [\"root\", \"bin\"]");
  Daemon d("auth-admin", cfg);
  ASSERT_TRUE(d.Start().ok());
  json r = Parse(CallAs(d, "bin", {{"op", "acquire"}, {"job_id", 9}, {"tenant", "globex"}, {"partition", "gpu"}, {"gpus", 2}}));
  EXPECT_EQ(r.value("decision", ""), "granted") << r.dump();
  json all = Parse(CallAs(d, "bin", {{"op", "query"}, {"view", "tenants"}}));
  EXPECT_EQ(all["result"].size(), 2u);
  json reload = Parse(CallAs(d, "bin", {{"op", "reload"}}));
  EXPECT_TRUE(reload.value("ok", false)) << reload.dump();
}

TEST(AuthSlurmUser, TheSlurmUserMayTakeLeasesButIsNoAdmin) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (setuid)";
  Daemon d("auth-slurmuser", kAuthConfig, {"--slurm-user", "sys"});
  ASSERT_TRUE(d.Start().ok());
  json r = Parse(CallAs(d, "sys", {{"op", "acquire"}, {"job_id", 9}, {"tenant", "acme"}, {"partition", "gpu"}, {"gpus", 1}}));
  EXPECT_EQ(r.value("decision", ""), "granted") << r.dump();
  json reload = Parse(CallAs(d, "sys", {{"op", "reload"}}));
  EXPECT_EQ(reload.value("code", ""), "forbidden");
}

}  // namespace
}  // namespace egret::quotad
