// The pure rules behind isolation and admission: path normalization and containment, names
// that become path components, GPU counts from Slurm's TRES strings, lease matching and the
// messages users read.
#include <gtest/gtest.h>

#include "plugins/admission.h"
#include "plugins/gpus.h"
#include "plugins/paths.h"

namespace egret::plugin {
namespace {

TEST(PluginPaths, NormalizeResolvesDotsAndSlashes) {
  EXPECT_EQ(NormalizePath("/a/b/../c/"), "/a/c");
  EXPECT_EQ(NormalizePath("//srv///t/./acme/"), "/srv/t/acme");
  EXPECT_EQ(NormalizePath("/srv/t/acme/../../t/globex"), "/srv/t/globex");
  EXPECT_EQ(NormalizePath("/../.."), "/");
  EXPECT_EQ(NormalizePath("rel/../x"), "rel/../x");
}

TEST(PluginPaths, WithinComparesWholeComponents) {
  EXPECT_TRUE(IsWithin("/srv/t/acme/data", "/srv/t"));
  EXPECT_TRUE(IsWithin("/srv/t", "/srv/t/"));
  EXPECT_FALSE(IsWithin("/srv/t2", "/srv/t"));
  EXPECT_FALSE(IsWithin("/srv/t/../u", "/srv/t"));
  EXPECT_TRUE(IsWithin("/anything", "/"));
}

TEST(PluginPaths, TenantNamesAreSinglePathComponents) {
  for (const char* ok : {"acme", "globex", "team_1", "ml-lab", "a.b", "_x", "A1"})
    EXPECT_TRUE(ValidTenantName(ok)) << ok;
  for (const char* bad : {"", ".", "..", ".hidden", "-x", "a/b", "a b", "a\nb", "a:b"})
    EXPECT_FALSE(ValidTenantName(bad)) << bad;
  EXPECT_FALSE(ValidTenantName(std::string(65, 'a')));
  EXPECT_TRUE(ValidTenantName(std::string(64, 'a')));
}

TEST(PluginPaths, JobDirNamesMatchOnlyTheirJobAndHost) {
  EXPECT_EQ(JobDirName(42, 1700000000, "n1"), "42-1700000000-n1");
  EXPECT_TRUE(IsJobDirOf("42-1700000000-n1", 42, "n1"));
  EXPECT_TRUE(IsJobDirOf("42-5-n1", 42, "n1"));
  EXPECT_FALSE(IsJobDirOf("42-1700000000-n2", 42, "n1"));
  EXPECT_FALSE(IsJobDirOf("421-1700000000-n1", 42, "n1"));
  EXPECT_FALSE(IsJobDirOf("4-2-1700000000-n1", 4, "n1"));
  EXPECT_FALSE(IsJobDirOf("42--n1", 42, "n1"));
  // Host names with dashes still parse from both ends.
  EXPECT_TRUE(IsJobDirOf("7-99-gpu-node-3", 7, "gpu-node-3"));
  EXPECT_FALSE(IsJobDirOf("7-99-gpu-node-3", 7, "node-3"));
}

TEST(PluginGpus, CountsEveryTresSpelling) {
  EXPECT_EQ(GpusInTres("gres:gpu:2"), 2);
  EXPECT_EQ(GpusInTres("gres/gpu:2"), 2);
  EXPECT_EQ(GpusInTres("gres/gpu=3"), 3);
  EXPECT_EQ(GpusInTres("gres:gpu:a100:4"), 4);
  EXPECT_EQ(GpusInTres("gres:gpu"), 1);
  EXPECT_EQ(GpusInTres("gres:gpu:a100"), 1);
  EXPECT_EQ(GpusInTres("gpu:2"), 2);
  EXPECT_EQ(GpusInTres("gres:gpu:a100:2,gres:gpu:h100:1"), 3);
  EXPECT_EQ(GpusInTres("gres:mps:100;gres:gpu:2"), 2);
  EXPECT_EQ(GpusInTres("gres:gpumem:8"), 0);
  EXPECT_EQ(GpusInTres(""), 0);
  EXPECT_EQ(GpusInTres("gres:gpu:a:b"), -1);
  EXPECT_EQ(GpusInTres("gres/gpu=x"), -1);
}

TEST(PluginGpus, JobTotalTakesTheFirstTresThatNamesAGpu) {
  EXPECT_EQ(JobGpus("", "gres:gpu:2", "", "", 2, 8), 4);   // --gres=gpu:2 -N2
  EXPECT_EQ(JobGpus("gres:gpu:4", "", "", "", 2, 4), 4);   // --gpus=4
  EXPECT_EQ(JobGpus("", "", "gres:gpu:1", "", 1, 3), 3);   // --gpus-per-task=1 -n3
  EXPECT_EQ(JobGpus("", "", "", "gres:gpu:1", 2, 4), 2);   // --gpus-per-socket=1 -N2
  // Slurm may fill several for one request: the job-wide figure wins, as in egret-quotad.
  EXPECT_EQ(JobGpus("gres:gpu:4", "gres:gpu:2", "", "", 2, 4), 4);
  EXPECT_EQ(JobGpus("gres:gpu:0", "gres:gpu:2", "", "", 2, 4), 0);
  EXPECT_EQ(JobGpus("gres:mps:50", "gres:gpu:2", "", "", 2, 1), 4);
  EXPECT_EQ(JobGpus("", "", "", "", 1, 1), 0);
  EXPECT_EQ(JobGpus("", "gres:gpu:2", "", "", 0, 0), 2);
  EXPECT_EQ(JobGpus("", "gres:gpu:x:y", "", "", 1, 1), -1);
  EXPECT_EQ(MinNodes("2-4"), 2);
  EXPECT_EQ(MinNodes(""), 1);
  EXPECT_EQ(MinNodes("3"), 3);
}

TEST(PluginGpus, SubmissionTotalsFromSbatchOptions) {
  EXPECT_EQ(SubmitGpus("gpu:2", "", "", "", "", ""), 2);             // --gres=gpu:2
  EXPECT_EQ(SubmitGpus("gres:gpu:a100:2", "", "", "", "2", ""), 4);  // --gres=gpu:a100:2 -N2
  EXPECT_EQ(SubmitGpus("", "4", "", "", "2", ""), 4);                // --gpus=4 -N2
  EXPECT_EQ(SubmitGpus("", "a100:3", "", "", "", ""), 3);            // --gpus=a100:3
  EXPECT_EQ(SubmitGpus("", "", "2", "", "3-5", ""), 6);              // --gpus-per-node=2 -N3-5
  EXPECT_EQ(SubmitGpus("", "", "", "1", "", "4"), 4);                // --gpus-per-task=1 -n4
  EXPECT_EQ(SubmitGpus("", "", "", "", "", ""), 0);
  EXPECT_EQ(SubmitGpus("gpu:x:y", "junk:", "", "", "", ""), 0);
}

JobFacts Job(std::string account, std::string partition, int gpus) {
  JobFacts j;
  j.job_id = 42;
  j.account = std::move(account);
  j.partition = std::move(partition);
  j.gpus = gpus;
  return j;
}

TEST(PluginAdmission, LeaseMustMatchTenantPartitionAndGpus) {
  quotad::Lease lease;
  lease.job_id = 42;
  lease.tenant = "acme";
  lease.partition = "gpu";
  lease.gpus = 2;
  EXPECT_FALSE(LeaseMismatch(lease, Job("acme", "gpu", 2)));
  auto why = LeaseMismatch(lease, Job("acme", "gpu", 4));
  ASSERT_TRUE(why);
  EXPECT_EQ(*why, "the admission lease from egret-quotad is for tenant acme, partition gpu, 2 "
                  "GPUs but job 42 is tenant acme, partition gpu, 4 GPUs");
  EXPECT_TRUE(LeaseMismatch(lease, Job("globex", "gpu", 2)));
  EXPECT_TRUE(LeaseMismatch(lease, Job("acme", "gpu-big", 2)));
  lease.job_id = 41;
  why = LeaseMismatch(lease, Job("acme", "gpu", 2));
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("(lease of job 41)"), std::string::npos);
}

TEST(PluginAdmission, MembershipFromTheTenantsView) {
  const char* view = R"([{"tenant":"acme","members":["alice"]},{"tenant":"initech"}])";
  EXPECT_TRUE(*TenantListed(view, "acme"));
  EXPECT_TRUE(*TenantListed(view, "initech"));
  EXPECT_FALSE(*TenantListed(view, "globex"));
  EXPECT_FALSE(*TenantListed("[]", "acme"));
  EXPECT_FALSE(TenantListed("{\"tenant\":\"acme\"}", "acme").ok());
  EXPECT_FALSE(TenantListed("[{\"name\":\"acme\"}]", "acme").ok());
  EXPECT_FALSE(TenantListed("not json", "acme").ok());
}

TEST(PluginAdmission, ManagedUnlessListedUnmanaged) {
  Config c;
  c.unmanaged = {"cpu", "debug"};
  EXPECT_TRUE(IsManaged(c, "gpu"));
  EXPECT_FALSE(IsManaged(c, "cpu"));
  EXPECT_FALSE(IsManaged(c, "cpu,debug"));
  EXPECT_TRUE(IsManaged(c, "cpu,gpu"));  // may land on gpu
  EXPECT_TRUE(IsManaged(c, ""));         // unknown: the strict case
}

TEST(PluginAdmission, RefusalsHaveOneShape) {
  EXPECT_EQ(NotStarted(42, "cannot connect to egret-quotad at /run/egret/quotad.sock: "
                           "connection refused (the daemon is not running)"),
            "egret: cannot connect to egret-quotad at /run/egret/quotad.sock: connection "
            "refused (the daemon is not running); job 42 not started");
  EXPECT_EQ(NotStarted(7, "egret: job 7 holds no admission lease"),
            "egret: job 7 holds no admission lease; job 7 not started");
  EXPECT_EQ(WithPrefix("egret: x"), "egret: x");
}

TEST(PluginAdmission, TenantOptionMustAgreeWithTheAccount) {
  auto c = ChooseTenant("acme", "");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->account, "acme");
  EXPECT_TRUE(c->set_account);
  c = ChooseTenant("", "acme");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->account, "acme");
  EXPECT_FALSE(c->set_account);
  c = ChooseTenant("acme", "acme");
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->set_account);
  c = ChooseTenant("", "");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->account, "");
  c = ChooseTenant("globex", "acme");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().message(),
            "egret: --tenant=globex does not match the job's account acme "
            "(-A/--account/SBATCH_ACCOUNT); the tenant is the account: give the same name or "
            "only one of them");
  c = ChooseTenant("", "../x");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().message(),
            "egret: account '../x' cannot be a tenant name (letters, digits, '_', '-', '.')");
}

}  // namespace
}  // namespace egret::plugin
