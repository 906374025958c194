// Environment scrubbing: what a job of tenant acme may keep from its submitter's environment.
#include <gtest/gtest.h>

#include <algorithm>

#include "plugins/env_scrub.h"

namespace egret::plugin {
namespace {

EnvRules AcmeRules() {
  return EnvRules{"/srv/egret/tenants", "acme", {"/var/lib/egret/jobs", "/run/egret/shm"}, {}};
}

bool Unsets(const EnvPlan& p, const std::string& name) {
  return std::find(p.unset.begin(), p.unset.end(), name) != p.unset.end();
}

TEST(PluginEnv, CredentialLikeNames) {
  for (const char* n : {"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "AWS_SECRET_ACCESS_KEY",
                        "AWS_ACCESS_KEY_ID", "AWS_SESSION_TOKEN", "WANDB_API_KEY", "OPENAI_API_KEY",
                        "GITHUB_TOKEN", "DB_PASSWORD", "SSH_AUTH_SOCK", "KRB5CCNAME",
                        "GOOGLE_APPLICATION_CREDENTIALS", "SLURM_JWT_TOKEN", "my_secret",
                        "XAUTHORITY", "NETRC", "PGPASSFILE", "AZURE_CLIENT_SECRET", "PGPASSWORD",
                        "SLURM_JWT", "SSH_PRIVATE_KEY", "api_key", "SESSION_COOKIE"})
    EXPECT_TRUE(IsCredentialName(n)) << n;
  for (const char* n : {"PATH", "HOME", "SLURM_JOB_ID", "CUDA_VISIBLE_DEVICES", "OMP_NUM_THREADS",
                        "LANG", "TOKENIZERS_PARALLELISM", "SLURM_JOB_ACCOUNT", "TMPDIR",
                        "SORT_KEY", "KEYBOARD", "SECRETARY_NAME", "MAX_TOKENS_X"})
    EXPECT_FALSE(IsCredentialName(n)) << n;
}

TEST(PluginEnv, ForeignTenantPathsInAnyWord) {
  const char* root = "/srv/egret/tenants";
  EXPECT_TRUE(MentionsForeignTenantPath("/srv/egret/tenants/globex/data", root, "acme"));
  EXPECT_TRUE(MentionsForeignTenantPath("/usr/bin:/srv/egret/tenants/globex/bin", root, "acme"));
  EXPECT_TRUE(MentionsForeignTenantPath("--data=/srv/egret/tenants/globex", root, "acme"));
  EXPECT_TRUE(MentionsForeignTenantPath("file:///srv/egret/tenants/globex/x", root, "acme"));
  EXPECT_TRUE(MentionsForeignTenantPath("/srv/egret/tenants/acme/../globex", root, "acme"));
  EXPECT_TRUE(MentionsForeignTenantPath("//srv//egret/tenants/./globex", root, "acme"));
  EXPECT_TRUE(MentionsForeignTenantPath("a b /srv/egret/tenants/acme-old/c", root, "acme"));
  EXPECT_FALSE(MentionsForeignTenantPath("/srv/egret/tenants/acme/data", root, "acme"));
  EXPECT_FALSE(MentionsForeignTenantPath("/srv/egret/tenants", root, "acme"));
  EXPECT_FALSE(MentionsForeignTenantPath("/srv/egret/tenants2/globex", root, "acme"));
  EXPECT_FALSE(MentionsForeignTenantPath("globex", root, "acme"));
  // A job without a tenant keeps no tenant path at all.
  EXPECT_TRUE(MentionsForeignTenantPath("/srv/egret/tenants/acme/data", root, ""));
}

TEST(PluginEnv, PlanDropsForeignPathsCredentialsPrivateDirsAndForgedEgretVars) {
  std::vector<std::string> env = {
      "PATH=/usr/bin:/bin",
      "HOME=/home/alice",
      "OLD_DATA=/srv/egret/tenants/globex/data",
      "MY_DATA=/srv/egret/tenants/acme/data",
      "HF_TOKEN=hf_abc",
      "EGRET_DATA_DIR=/srv/egret/tenants/globex/data",
      "EGRET_TENANT=globex",
      "LEFTOVER=/var/lib/egret/jobs/12-100-n1",
      "SHM=/run/egret/shm/12-100-n1/x",
      "WEIRD",
      "=novalue",
      "EMPTY=",
  };
  EnvPlan p = PlanEnvironment(env, AcmeRules());
  EXPECT_EQ(p.unset, (std::vector<std::string>{"OLD_DATA", "HF_TOKEN", "EGRET_DATA_DIR",
                                               "EGRET_TENANT", "LEFTOVER", "SHM"}));
  ASSERT_EQ(p.reasons.size(), p.unset.size());
  EXPECT_EQ(p.reasons[0], "names another tenant's path");
  EXPECT_EQ(p.reasons[1], "credential-like name");
  EXPECT_EQ(p.reasons[4], "names a private job directory");
  EXPECT_EQ(p.set, (std::vector<std::pair<std::string, std::string>>{
                       {"EGRET_TENANT", "acme"},
                       {"EGRET_DATA_DIR", "/srv/egret/tenants/acme/data"},
                       {"EGRET_MODELS_DIR", "/srv/egret/tenants/acme/models"},
                       {"EGRET_CKPT_DIR", "/srv/egret/tenants/acme/checkpoints"}}));
}

TEST(PluginEnv, AdminsMayKeepNamedCredentials) {
  EnvRules r = AcmeRules();
  r.keep = {"HF_TOKEN"};
  EnvPlan p = PlanEnvironment({"HF_TOKEN=x", "WANDB_API_KEY=y"}, r);
  EXPECT_EQ(p.unset, std::vector<std::string>{"WANDB_API_KEY"});
}

TEST(PluginEnv, NoTenantSetsNothingAndDropsEveryTenantPath) {
  EnvRules r = AcmeRules();
  r.tenant = "";
  EnvPlan p = PlanEnvironment({"A=/srv/egret/tenants/acme/data", "B=/home/x"}, r);
  EXPECT_EQ(p.unset, std::vector<std::string>{"A"});
  EXPECT_TRUE(p.set.empty());
}

TEST(PluginEnv, DuplicateNamesAreUnsetOnce) {
  EnvPlan p = PlanEnvironment({"HF_TOKEN=a", "HF_TOKEN=b"}, AcmeRules());
  EXPECT_EQ(p.unset, std::vector<std::string>{"HF_TOKEN"});
  EXPECT_TRUE(Unsets(p, "HF_TOKEN"));
}

}  // namespace
}  // namespace egret::plugin
