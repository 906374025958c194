// Budget periods (calendar arithmetic, UTC) and the "safe" budget check.
#include <gtest/gtest.h>

#include "scheduler/policy/budget.h"

namespace egret::policy {
namespace {

constexpr Time kJan1 = 1735689600;      // 2025-01-01T00:00:00Z
constexpr Time kJan31 = 1738281600;     // 2025-01-31T00:00:00Z
constexpr Time kFeb15 = 1739577600;     // 2025-02-15T00:00:00Z
constexpr Time kFeb28 = 1740700800;     // 2025-02-28T00:00:00Z
constexpr Time kMar1 = 1740787200;      // 2025-03-01T00:00:00Z
constexpr Time kMar31 = 1743379200;     // 2025-03-31T00:00:00Z

TEST(BudgetPeriod, MonthlyFromTheFirst) {
  auto b = BudgetPeriodAt(Period::kMonthly, kJan1, kFeb15);
  EXPECT_EQ(b.start, 1738368000);  // 2025-02-01
  EXPECT_EQ(b.end, kMar1);
}

TEST(BudgetPeriod, MonthlyFromThe31stClampsToTheMonthsLastDay) {
  auto b = BudgetPeriodAt(Period::kMonthly, kJan31, kFeb15);
  EXPECT_EQ(b.start, kJan31);
  EXPECT_EQ(b.end, kFeb28);
  b = BudgetPeriodAt(Period::kMonthly, kJan31, kMar1);
  EXPECT_EQ(b.start, kFeb28);
  EXPECT_EQ(b.end, kMar31);
}

TEST(BudgetPeriod, DailyAndWeeklyCountFromTheStart) {
  auto d = BudgetPeriodAt(Period::kDaily, kJan1 + 3600, kFeb15 + 1800);
  EXPECT_EQ(d.start, kFeb15 - 86400 + 3600);
  EXPECT_EQ(d.end, kFeb15 + 3600);
  auto w = BudgetPeriodAt(Period::kWeekly, kJan1, kJan1 + 10 * 86400);
  EXPECT_EQ(w.start, kJan1 + 7 * 86400);
  EXPECT_EQ(w.end, kJan1 + 14 * 86400);
  // Before the start, periods extend backwards.
  auto back = BudgetPeriodAt(Period::kWeekly, kJan1, kJan1 - 1);
  EXPECT_EQ(back.start, kJan1 - 7 * 86400);
}

Spec OneTenant(double budget_hours, double weight = 1.0) {
  Spec spec;
  spec.budget_period = Period::kMonthly;
  spec.budget_period_start = kJan1;
  spec.partitions.push_back({"gpu", 8, weight, true});
  TenantSpec t;
  t.name = "initech";
  t.quota = {{2, 0, 0}};
  t.allowed = {true};
  t.budget_gpu_hours = budget_hours;
  spec.tenants.push_back(t);
  return spec;
}

TEST(Budget, ZeroBudgetIsAlwaysSpent) {
  auto c = CheckBudget(OneTenant(0), 0, 0, 1, 600, 0, 0, kFeb15);
  EXPECT_EQ(c.verdict, BudgetVerdict::kDenied);
  EXPECT_EQ(c.reason,
            "initech: GPU-hour budget spent: 0.00 of 0.00 used this period (resets 2025-03-01 "
            "00:00 UTC)");
}

TEST(Budget, NoBudgetNoCheck) {
  EXPECT_EQ(CheckBudget(OneTenant(kUnlimited), 0, 0, 8, 0, 1e12, 0, kFeb15).verdict,
            BudgetVerdict::kOk);
}

TEST(Budget, JobWhoseTimeLimitWouldOverrunIsRefusedWithTheLimitThatFits) {
  // 10 GPU-hours, 9 used: 1 left. 2 GPUs x 1 h = 2 GPU-hours: refused; 1 / 2 GPUs = 30 min fits.
  auto c = CheckBudget(OneTenant(10), 0, 0, 2, 3600, 9 * 3600, 0, kFeb15);
  EXPECT_EQ(c.verdict, BudgetVerdict::kDenied);
  EXPECT_EQ(c.reason,
            "initech: GPU-hour budget too small for this job: it may use 2.00 GPU-hours (2 GPUs x "
            "1h00m) but 1.00 of 10.00 are left (resets 2025-03-01 00:00 UTC); shorten --time to "
            "at most 30m or ask an admin");
  EXPECT_EQ(CheckBudget(OneTenant(10), 0, 0, 2, 1800, 9 * 3600, 0, kFeb15).verdict,
            BudgetVerdict::kOk);
}

TEST(Budget, WeightScalesTheCost) {
  // On a 0.5-weight GPU, 2 GPUs x 1 h cost 1 normalised GPU-hour: exactly what is left.
  EXPECT_EQ(CheckBudget(OneTenant(10, 0.5), 0, 0, 2, 3600, 9 * 3600, 0, kFeb15).verdict,
            BudgetVerdict::kOk);
}

TEST(Budget, WhatRunningJobsMayStillUseMakesAJobWait) {
  // 1 GPU-hour left; running jobs may still use 0.75; a 0.5 GPU-hour job waits, not refused.
  auto c = CheckBudget(OneTenant(10), 0, 0, 1, 1800, 9 * 3600, 0.75 * 3600, kFeb15);
  EXPECT_EQ(c.verdict, BudgetVerdict::kWait);
}

TEST(Budget, JobWithoutTimeLimitIsRefusedUnderABudget) {
  auto c = CheckBudget(OneTenant(10), 0, 0, 1, 0, 0, 0, kFeb15);
  EXPECT_EQ(c.verdict, BudgetVerdict::kDenied);
  EXPECT_NE(c.reason.find("no time limit"), std::string::npos);
}

TEST(Budget, CommittedIsTheRestOfTheTimeLimit) {
  Spec spec = OneTenant(10, 0.5);
  RunningJob j{1, 0, 0, 4, false, false, 1000, 3600};
  EXPECT_DOUBLE_EQ(CommittedGpuSeconds(spec, j, 1000 + 600), 3000 * 4 * 0.5);
  EXPECT_EQ(CommittedGpuSeconds(spec, j, 1000 + 4000), 0);
}

}  // namespace
}  // namespace egret::policy
