#include <gtest/gtest.h>

#include <algorithm>

#include "scheduler/config/config.h"

namespace egret::config {
namespace {

TEST(ConfigFixture, TestClusterTenantsParse) {
  auto cfg = LoadConfig(std::string(EGRET_SOURCE_DIR) + "/tests/fixtures/tenants.toml");
  ASSERT_TRUE(cfg.ok()) << cfg.error().message();
  ASSERT_EQ(cfg->tenants.size(), 3u);
  const Tenant* acme = cfg->FindTenant("acme");
  ASSERT_NE(acme, nullptr);
  EXPECT_EQ(acme->shares, 60);
  EXPECT_EQ(acme->cohort, "research");
  ASSERT_NE(acme->FindQuota("gpu"), nullptr);
  EXPECT_EQ(acme->FindQuota("gpu")->nominal_gpus, 4);
  EXPECT_EQ(acme->FindQuota("gpu")->borrowing_limit, 4);
  EXPECT_EQ(acme->FindQuota("gpu")->lending_limit, 4);
  EXPECT_EQ(acme->root, "/var/lib/egret-cluster/tenants/acme");
  const Tenant* initech = cfg->FindTenant("initech");
  ASSERT_NE(initech, nullptr);
  ASSERT_TRUE(initech->budget_gpu_hours.has_value());
  EXPECT_EQ(*initech->budget_gpu_hours, 0);
  EXPECT_TRUE(initech->HasUser("alice"));
  EXPECT_TRUE(initech->HasUser("bob"));
  EXPECT_FALSE(initech->Allows("cpu"));
  EXPECT_EQ(cfg->decay_half_life_s, 600);
  EXPECT_EQ(cfg->budget_period_start_s, 1735689600);  // 2025-01-01T00:00:00Z
  EXPECT_TRUE(cfg->IsAdmin("root", {}));
  const Partition* gpu = cfg->FindPartition("gpu");
  ASSERT_NE(gpu, nullptr);
  EXPECT_TRUE(gpu->managed);
  EXPECT_EQ(gpu->capacity_gpus, 8);
  EXPECT_FALSE(cfg->FindPartition("cpu")->managed);
  // 4 + 4 + 2 nominal GPUs on 8: allowed, with a warning.
  ASSERT_EQ(cfg->warnings.size(), 1u);
}

TEST(ConfigFixture, CommentedExampleParses) {
  auto cfg = LoadConfig(std::string(EGRET_SOURCE_DIR) + "/scheduler/config/tenants.example.toml");
  ASSERT_TRUE(cfg.ok()) << cfg.error().message();
  EXPECT_EQ(cfg->tenants.size(), 4u);
  EXPECT_EQ(cfg->FindGpuType("a100")->weight, 0.6);
  EXPECT_EQ(cfg->FindPartition("gpu-a100")->weight, 0.6);
  const Tenant* globex = cfg->FindTenant("globex");
  EXPECT_EQ(globex->FindQuota("gpu")->nominal_gpus, 20);
  EXPECT_EQ(globex->FindQuota("gpu")->borrowing_limit, kUnlimited);
  EXPECT_EQ(globex->FindQuota("gpu")->lending_limit, kUnlimited);
  EXPECT_FALSE(globex->budget_gpu_hours.has_value());
  EXPECT_EQ(globex->data_dir, "/srv/egret/tenants/globex/data");
  EXPECT_EQ(globex->checkpoints_dir, "/srv/egret/tenants/globex/checkpoints");
  // allowed_partitions left out: every partition.
  EXPECT_TRUE(cfg->FindTenant("initech")->Allows("cpu"));
  EXPECT_EQ(cfg->decay_half_life_s, 7 * 86400);
  EXPECT_TRUE(cfg->IsAdmin("eve", {"hpc-admins"}));
  EXPECT_FALSE(cfg->IsAdmin("eve", {"users"}));
  ASSERT_EQ(cfg->TenantsOf("dave", {}).size(), 1u);
  EXPECT_EQ(cfg->TenantsOf("zed", {"acme-ml"})[0]->name, "acme");
  EXPECT_TRUE(cfg->warnings.empty()) << cfg->warnings[0];
}

// A small valid file; each case below changes one thing. Line numbers in the expected
// messages count from the first line of the text.
std::string Base(const std::string& acme_extra = "", const std::string& tail = "") {
  return "[global]\n"                                        // 1
         "decay_half_life = \"1d\"\n"                      // 2
         "[gpu_types]\n"                                     // 3
         "h100 = 1.0\n"                                      // 4
         "[[partition]]\n"                                   // 5
         "name = \"gpu\"\n"                                // 6
         "gpu_type = \"h100\"\n"                           // 7
         "gpus = 8\n"                                        // 8
         "[[tenant]]\n"                                      // 9
         "name = \"acme\"\n"                               // 10
         "members = [\"alice\"]\n"                         // 11
         "shares = 60\n"                                     // 12
         "cohort = \"research\"\n"                         // 13
         + acme_extra +                                       // 14...
         "[[tenant]]\n"
         "name = \"globex\"\n"
         "members = [\"bob\"]\n"
         "shares = 40\n"
         "cohort = \"research\"\n"
         "gpu_quota = { gpu = 4 }\n" + tail;
}

std::string Err(const std::string& text) {
  auto cfg = ParseConfig(text, "tenants.toml");
  if (cfg.ok()) return "(parsed without error)";
  return cfg.error().message();
}

TEST(ConfigErrors, BaseIsValid) {
  auto cfg = ParseConfig(Base("gpu_quota = { gpu = 4 }\n"), "tenants.toml");
  ASSERT_TRUE(cfg.ok()) << cfg.error().message();
  EXPECT_EQ(cfg->FindTenant("acme")->FindQuota("gpu")->nominal_gpus, 4);
}

TEST(ConfigErrors, NegativeQuota) {
  EXPECT_EQ(Err(Base("gpu_quota = { gpu = -2 }\n")),
            "tenants.toml:14:21: tenant \"acme\": gpu_quota.gpu must be >= 0 (got -2)");
}

TEST(ConfigErrors, NegativeLimitInTableForm) {
  EXPECT_EQ(Err(Base("[tenant.gpu_quota.gpu]\nnominal = 4\nborrowing_limit = -1\n")),
            "tenants.toml:16:1: tenant \"acme\": gpu_quota.gpu.borrowing_limit must be >= 0 "
            "(got -1)");
}

TEST(ConfigErrors, UnknownKeySuggestsTheNearOne) {
  EXPECT_EQ(Err(Base("shars = 3\n")),
            "tenants.toml:14:1: tenant \"acme\": unknown key \"shars\" (did you mean "
            "\"shares\"? valid keys: name, members, shares, cohort, gpu_quota, "
            "budget_gpu_hours, allowed_partitions, root)");
}

TEST(ConfigErrors, UnknownSectionListsValidOnes) {
  EXPECT_EQ(Err(Base("", "[tenants]\nx = 1\n")),
            "tenants.toml:20:2: unknown key \"tenants\" (did you mean \"tenant\"? valid keys: "
            "global, daemon, gpu_types, partition, tenant)");
}

TEST(ConfigErrors, UnknownKeyFarFromAnyHasNoSuggestion) {
  EXPECT_EQ(Err(Base("colour = \"red\"\n")),
            "tenants.toml:14:1: tenant \"acme\": unknown key \"colour\" (valid keys: name, "
            "members, shares, cohort, gpu_quota, budget_gpu_hours, allowed_partitions, root)");
}

TEST(ConfigErrors, DuplicateTenant) {
  EXPECT_EQ(Err(Base("", "[[tenant]]\nname = \"acme\"\nmembers = [\"carol\"]\n")),
            "tenants.toml:20:1: tenant \"acme\": defined twice (first at line 9); a Slurm account "
            "is one tenant, merge the two [[tenant]] blocks");
}

TEST(ConfigErrors, MemberOfUnknownForm) {
  auto text = Base();
  text.replace(text.find("[\"alice\"]"), 9, "[\"alice\", \"Al ice\"]");
  EXPECT_EQ(Err(text),
            "tenants.toml:11:21: tenant \"acme\": members entry \"Al ice\" is neither a user "
            "name nor an @group; write a user as \"alice\" and a group as \"@ml-team\" "
            "(lowercase letters, digits, '_', '-', '.')");
}

TEST(ConfigErrors, QuotaOnUnknownPartition) {
  EXPECT_EQ(Err(Base("gpu_quota = { gpu = 4, gpux = 2 }\n")),
            "tenants.toml:14:24: tenant \"acme\": gpu_quota.gpux: no partition \"gpux\" "
            "(managed partitions: gpu)");
}

TEST(ConfigErrors, CohortOfOne) {
  auto text = Base("gpu_quota = { gpu = 4 }\n");
  text.replace(text.rfind("cohort = \"research\""), 19, "cohort = \"other\"");
  EXPECT_EQ(Err(text),
            "tenants.toml:9:1: tenant \"acme\": cohort \"research\" has no other tenant, so "
            "nothing can be borrowed or lent in it; add another tenant to it or remove cohort\n"
            "tenants.toml:15:1: tenant \"globex\": cohort \"other\" has no other tenant, so "
            "nothing can be borrowed or lent in it; add another tenant to it or remove cohort");
}

TEST(ConfigErrors, CohortThatLendsNothing) {
  auto text = Base("gpu_quota.gpu = { nominal = 4, lending_limit = 0 }\n");
  text.replace(text.find("gpu_quota = { gpu = 4 }"), 23,
               "gpu_quota.gpu = { nominal = 4, lending_limit = 0 }");
  EXPECT_EQ(Err(text),
            "tenants.toml:9:1: tenant \"acme\": cohort \"research\" cannot lend anything: no "
            "member has a nominal quota with a lending_limit above 0; give one a quota it may "
            "lend, or remove the cohort");
}

TEST(ConfigErrors, BorrowingLimitNobodyCanCover) {
  auto text = Base("gpu_quota.gpu = { nominal = 4, borrowing_limit = 2 }\n");
  text.replace(text.find("gpu_quota = { gpu = 4 }"), 23,
               "gpu_quota.gpu = { nominal = 4, lending_limit = 0 }");
  EXPECT_EQ(Err(text),
            "tenants.toml:14:11: tenant \"acme\": gpu_quota.gpu.borrowing_limit is 2 but no other "
            "tenant of cohort \"research\" lends on \"gpu\"; set it to 0 or give another member "
            "a quota it may lend there");
}

TEST(ConfigErrors, SharesMustBePositive) {
  auto text = Base();
  text.replace(text.find("shares = 60"), 11, "shares = 0");
  EXPECT_EQ(Err(text),
            "tenants.toml:12:1: tenant \"acme\": shares must be > 0 (got 0); a tenant that should "
            "get nothing belongs in no tenant, or give it shares = 1");
}

TEST(ConfigErrors, SharesOfTheWrongType) {
  auto text = Base();
  text.replace(text.find("shares = 60"), 11, "shares = \"60\"");
  EXPECT_EQ(Err(text), "tenants.toml:12:10: tenant \"acme\": shares must be a number (got string \"60\")");
}

TEST(ConfigErrors, LendingMoreThanNominal) {
  EXPECT_EQ(Err(Base("gpu_quota.gpu = { nominal = 2, lending_limit = 3 }\n")),
            "tenants.toml:14:11: tenant \"acme\": gpu_quota.gpu.lending_limit is 3 but only its "
            "nominal 2 GPUs can be lent; lower it to at most 2 or leave it out");
}

TEST(ConfigErrors, LimitsWithoutCohort) {
  auto text = Base("gpu_quota.gpu = { nominal = 2, borrowing_limit = 1 }\n");
  text.replace(text.find("cohort = \"research\""), 19, "");
  text.replace(text.rfind("cohort = \"research\""), 19, "");
  EXPECT_EQ(Err(text),
            "tenants.toml:14:11: tenant \"acme\": gpu_quota.gpu sets borrowing_limit or "
            "lending_limit but the tenant has no cohort to borrow from or lend to; set cohort or "
            "remove them");
}

TEST(ConfigErrors, QuotaAboveCapacity) {
  EXPECT_EQ(Err(Base("gpu_quota = { gpu = 9 }\n")),
            "tenants.toml:14:15: tenant \"acme\": gpu_quota.gpu.nominal is 9 GPUs but partition "
            "\"gpu\" has 8; lower it to at most 8");
}

TEST(ConfigErrors, NegativeBudget) {
  EXPECT_EQ(Err(Base("budget_gpu_hours = -5\n")),
            "tenants.toml:14:1: tenant \"acme\": budget_gpu_hours must be >= 0 (got -5); leave "
            "it out for no budget, 0 allows nothing");
}

TEST(ConfigErrors, UnknownGpuType) {
  auto text = Base();
  text.replace(text.find("gpu_type = \"h100\""), 17, "gpu_type = \"h200\"");
  EXPECT_EQ(Err(text),
            "tenants.toml:7:12: partition \"gpu\": gpu_type \"h200\" is not defined in "
            "[gpu_types] (defined: h100); add it there with its weight");
}

TEST(ConfigErrors, AllowedPartitionUnknown) {
  EXPECT_EQ(Err(Base("allowed_partitions = [\"gpu\", \"gpux\"]\n")),
            "tenants.toml:14:30: tenant \"acme\": allowed_partitions names \"gpux\", which is "
            "not a [[partition]] (partitions: gpu)");
}

TEST(ConfigErrors, QuotaOnPartitionNotAllowed) {
  auto text = Base("allowed_partitions = []\ngpu_quota = { gpu = 1 }\n");
  EXPECT_EQ(Err(text),
            "tenants.toml:15:15: tenant \"acme\": gpu_quota.gpu is on a partition the tenant may "
            "not use; add \"gpu\" to allowed_partitions or remove the quota");
}

TEST(ConfigErrors, BadDuration) {
  auto text = Base();
  text.replace(text.find("\"1d\""), 4, "\"1 day\"");
  EXPECT_EQ(Err(text),
            "tenants.toml:2:19: [global]: decay_half_life must be a duration such as \"7d\", "
            "\"12h\", \"1h30m\", \"90s\" or a number of seconds >= 0 (got string \"1 day\")");
}

TEST(ConfigErrors, PartitionWrittenAsPlainTable) {
  auto text = Base();
  text.replace(text.find("[[partition]]"), 13, "[partition]");
  EXPECT_EQ(Err(text).rfind("tenants.toml:5:1: partition must be written as [[partition]] blocks", 0), 0u);
}

TEST(ConfigErrors, TomlSyntaxErrorNamesThePlace) {
  std::string e = Err("[global]\ndecay_half_life = \"1d\nx = 1\n");
  EXPECT_EQ(e.rfind("tenants.toml:2:", 0), 0u) << e;
  EXPECT_NE(e.find("not valid TOML"), std::string::npos) << e;
}

TEST(ConfigErrors, EveryProblemIsReportedAtOnce) {
  auto text = Base("gpu_quota = { gpu = -2 }\nshars = 1\n");
  std::string e = Err(text);
  EXPECT_EQ(std::count(e.begin(), e.end(), '\n'), 1) << e;
}

TEST(ConfigErrors, MissingFileNamesThePath) {
  auto cfg = LoadConfig("/nonexistent/tenants.toml");
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(cfg.error().message().rfind("/nonexistent/tenants.toml: cannot open", 0), 0u);
}

}  // namespace
}  // namespace egret::config
