// The submit-side check is a courtesy a user can bypass (here: their own slurm.conf whose
// plugstack has no egret.so). The node checks again, from slurmctld's and egret-quotad's
// answers only: a user who is not a member of the job's tenant never gets its data, on a
// managed partition (even with a lease) or an unmanaged one.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "tests/plugin/plugin_cluster.h"

namespace egret::testing {
namespace {

namespace fs = std::filesystem;

class NodeCheck : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = RunningPluginConfig();
    ASSERT_TRUE(c.ok()) << c.error().message();
    cfg_ = *c;
    SeedTenant(cfg_, "acme");
    dir_ = MakeJobDir("plugin-node-check");
    // mallory's own configuration: the cluster's slurm.conf without any SPANK plugin.
    std::ifstream in("/etc/slurm/slurm.conf");
    std::ofstream out(dir_ + "/slurm.conf");
    std::string line;
    while (std::getline(in, line))
      if (line.rfind("PlugStackConfig=", 0) != 0) out << line << "\n";
    out << "PlugStackConfig=" << dir_ << "/plugstack.conf\n";
    std::ofstream(dir_ + "/plugstack.conf") << "# nothing\n";
    fs::permissions(dir_ + "/slurm.conf", fs::perms::owner_all | fs::perms::others_read |
                                              fs::perms::group_read);
    fs::permissions(dir_ + "/plugstack.conf", fs::perms::owner_all | fs::perms::others_read |
                                                  fs::perms::group_read);
  }

  JobRun Bypass(const std::vector<std::string>& args) {
    return RunJob("mallory", args,
                  "#!/bin/bash\ncat " + cfg_.tenants_root + "/acme/data/secret.txt\n", 60,
                  {"SLURM_CONF=" + dir_ + "/slurm.conf"});
  }

  plugin::Config cfg_;
  std::string dir_;
};

TEST_F(NodeCheck, NonMemberOnAnUnmanagedPartitionIsRefusedAtStepStart) {
  JobRun r = Bypass({"-A", "acme", "-p", "cpu"});
  ASSERT_GT(r.job_id, 0) << r.submit_err;
  EXPECT_EQ(r.info.state, "FAILED");
  std::string id = std::to_string(r.job_id);
  EXPECT_NE(r.output.find("egret: user mallory is not a member of tenant acme (members: alice); "
                          "job " + id + " not started"),
            std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("acme data"), std::string::npos) << r.output;
}

TEST_F(NodeCheck, NonMemberWithALeaseIsRefusedAtStepStart) {
  // The job is held and admitted like any other (egret-quotad grants the lease to the
  // tenant); its step still refuses a user outside the tenant.
  JobRun r = Bypass({"-A", "acme", "-p", "gpu", "--gres=gpu:1"});
  ASSERT_GT(r.job_id, 0) << r.submit_err;
  EXPECT_EQ(r.info.state, "FAILED") << r.output;
  std::string id = std::to_string(r.job_id);
  EXPECT_NE(r.output.find("egret: user mallory is not a member of tenant acme; job " + id +
                          " not started"),
            std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("acme data"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace egret::testing
