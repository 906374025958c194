// Submissions egret.so refuses on the user's terminal, each with its exact message: a
// --tenant that contradicts the account, a user who is not a member, a partition the tenant
// may not use, an exhausted GPU-hour budget (tenant initech: budget 0), an unknown tenant, and
// a managed partition without any tenant. Nothing is queued for any of them.
#include <ctime>

#include <gtest/gtest.h>

#include "common/strings.h"
#include "tests/plugin/plugin_cluster.h"

namespace egret::testing {
namespace {

const char* kScript = "#!/bin/bash\ntrue\n";

// sbatch's stderr lines, without the generic lines Slurm adds after a plugin refusal.
std::string PluginError(const Submission& s) {
  std::string out;
  for (const auto& l : Split(s.err, '\n', true))
    if (l.rfind("sbatch: error: egret: ", 0) == 0) out += l.substr(15) + "\n";
  return out;
}

Submission Try(const std::string& user, std::vector<std::string> args) {
  std::string dir = MakeJobDir("plugin-refusal");
  return Submit(user, std::move(args), kScript, dir + "/out.txt");
}

void ExpectRefused(const Submission& s, const std::string& message) {
  EXPECT_NE(s.exit_code, 0);
  EXPECT_EQ(s.job_id, -1) << s.out;
  EXPECT_EQ(PluginError(s), message + "\n") << s.err;
}

class SubmitRefusal : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(RunningPluginConfig().ok()); }
};

TEST_F(SubmitRefusal, TenantOptionContradictingTheAccount) {
  ExpectRefused(Try("alice", {"--tenant=globex", "-A", "acme", "-p", "cpu"}),
                "egret: --tenant=globex does not match the job's account acme "
                "(-A/--account/SBATCH_ACCOUNT); the tenant is the account: give the same name "
                "or only one of them");
  // The account may also come from the environment, with the same precedence as sbatch's.
  std::string dir = MakeJobDir("plugin-refusal-env");
  Submission s = Submit("alice", {"--tenant=acme", "-p", "cpu"}, kScript, dir + "/out.txt",
                        {"SBATCH_ACCOUNT=globex"});
  ExpectRefused(s, "egret: --tenant=acme does not match the job's account globex "
                   "(-A/--account/SBATCH_ACCOUNT); the tenant is the account: give the same "
                   "name or only one of them");
}

TEST_F(SubmitRefusal, TenantOptionSetsTheAccount) {
  std::string dir = MakeJobDir("plugin-tenant-sets");
  Submission s = Submit("alice", {"--tenant=acme", "-p", "cpu", "--hold"}, kScript, dir + "/o");
  ASSERT_GT(s.job_id, 0) << s.err;
  auto job = GetJob(s.job_id);
  ASSERT_TRUE(job);
  EXPECT_EQ(job->fields["Account"], "acme");
  (void)RunProcess({"scancel", std::to_string(s.job_id)});
}

TEST_F(SubmitRefusal, UserWhoIsNotAMember) {
  ExpectRefused(Try("mallory", {"-A", "acme", "-p", "cpu"}),
                "egret: user mallory is not a member of tenant acme (members: alice)");
  ExpectRefused(Try("bob", {"--tenant=acme", "-p", "gpu", "--gres=gpu:1"}),
                "egret: user bob is not a member of tenant acme (members: alice)");
}

TEST_F(SubmitRefusal, PartitionTheTenantMayNotUse) {
  ExpectRefused(Try("alice", {"-A", "initech", "-p", "cpu"}),
                "egret: tenant initech may not use partition cpu (allowed: gpu)");
}

TEST_F(SubmitRefusal, ExhaustedBudget) {
  // initech's budget is 0 GPU-hours per month (from 2025-01-01): always spent. The period
  // ends at the next first of a month, 00:00 UTC.
  std::time_t now = std::time(nullptr);
  std::tm t{};
  gmtime_r(&now, &t);
  int year = t.tm_year + 1900 + (t.tm_mon == 11 ? 1 : 0);
  int month = t.tm_mon == 11 ? 1 : t.tm_mon + 2;
  char end[64];
  std::snprintf(end, sizeof end, "%04d-%02d-01 00:00 UTC", year, month);
  ExpectRefused(Try("bob", {"-A", "initech", "-p", "gpu", "--gres=gpu:1"}),
                std::string("egret: tenant initech has spent its GPU-hour budget for this period "
                            "(0.00 of 0 GPU-hours used; the period ends ") + end + ")");
}

TEST_F(SubmitRefusal, UnknownTenant) {
  ExpectRefused(Try("alice", {"-A", "umbrella", "-p", "cpu"}),
                "egret: unknown tenant \"umbrella\" (your tenants: acme, initech)");
}

TEST_F(SubmitRefusal, ManagedPartitionWithoutTenant) {
  ExpectRefused(Try("alice", {"-p", "gpu", "--gres=gpu:1"}),
                "egret: partition gpu is shared through egret-quotad and needs a tenant: add "
                "--tenant=NAME (or -A NAME)");
}

TEST_F(SubmitRefusal, TenantNameThatCannotBeAPath) {
  Submission s = Try("alice", {"--tenant=../globex", "-p", "cpu"});
  EXPECT_NE(s.exit_code, 0);
  EXPECT_EQ(s.job_id, -1);
  EXPECT_NE(s.err.find("egret: --tenant=../globex is not a tenant name"), std::string::npos)
      << s.err;
}

}  // namespace
}  // namespace egret::testing
