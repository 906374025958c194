#include <gtest/gtest.h>

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

}  // namespace
}  // namespace egret::config
