// The daemon's lease accounting with worked numbers: GPUs x weight x seconds, decayed usage
// after a half-life, budget periods, idempotent and stale releases, expiry and reconciliation,
// and the state rebuilt from the ledger.
#include <gtest/gtest.h>

#include <cmath>

#include "scheduler/core/charging.h"
#include "scheduler/core/quota_state.h"
#include "scheduler/core/submit_check.h"
#include "tests/quotad/test_config.h"

namespace egret::quotad {
namespace {

using testing::kDayStartMs;
using testing::kUnitConfig;
using testing::ParseOrDie;

constexpr int64_t kHour = 3'600'000;

AcquireRequest Req(uint32_t job, const std::string& tenant, const std::string& part, int gpus,
                   double limit_s = 0) {
  AcquireRequest r;
  r.job_id = job;
  r.tenant = tenant;
  r.partition = part;
  r.gpus = gpus;
  r.time_limit_s = limit_s;
  return r;
}

class QuotaStateTest : public ::testing::Test {
 protected:
  QuotaStateTest() : s(ParseOrDie(kUnitConfig), LedgerSnapshot{}) {}
  QuotaState s;
  std::vector<LedgerOp> ops;
};

TEST_F(QuotaStateTest, ChargesGpusTimesWeightTimesSeconds) {
  // 2 a100 GPUs (weight 0.6) for one hour: 2 x 0.6 x 3600 = 4320 GPU-unit-seconds.
  auto a = s.Acquire(Req(7, "acme", "old", 2), kDayStartMs, &ops);
  ASSERT_TRUE(a.ok()) << a.error().message();
  EXPECT_EQ(a->decision, Decision::kGranted);
  ReleaseResult r = s.Release(7, kDayStartMs + kHour, "released", kDayStartMs + kHour, &ops);
  EXPECT_TRUE(r.closed);
  EXPECT_DOUBLE_EQ(r.units, 4320.0);
  EXPECT_DOUBLE_EQ(s.StoredUsage("acme")->total_units, 4320.0);
  ASSERT_EQ(ops.size(), 2u);
  auto* close = std::get_if<ledger_op::CloseLease>(&ops[1]);
  ASSERT_NE(close, nullptr);
  EXPECT_DOUBLE_EQ(close->charge.units, 4320.0);
}

TEST_F(QuotaStateTest, DecayedUsageHalvesAfterOneHalfLife) {
  // Rate 1.2 for one hour with a 1 h half-life, seen at its end:
  //   1.2 * h/ln2 * (1 - 2^-1) = 1.2 * 3600 * 0.5 / 0.693147 = 2160 / 0.693147 = 3116.2213
  // and one half-life later half of that: 1558.1106.
  ASSERT_TRUE(s.Acquire(Req(7, "acme", "old", 2), kDayStartMs, &ops).ok());
  s.Release(7, kDayStartMs + kHour, "released", kDayStartMs + kHour, &ops);
  int acme = s.TenantIndex("acme");
  double at_end = s.UsageNow(kDayStartMs + kHour)[acme];
  EXPECT_NEAR(at_end, 3116.2213, 1e-3);
  EXPECT_NEAR(s.UsageNow(kDayStartMs + 2 * kHour)[acme], 1558.1106, 1e-3);
  // While a lease runs, its usage so far counts too (the same integral, up to now).
  ASSERT_TRUE(s.Acquire(Req(8, "globex", "gpu", 1), kDayStartMs, &ops).ok());
  EXPECT_NEAR(s.UsageNow(kDayStartMs + kHour)[s.TenantIndex("globex")], 3600 * 0.5 / std::log(2.0), 1e-3);
}

TEST_F(QuotaStateTest, ReleaseIsIdempotentAndChargesOnce) {
  ASSERT_TRUE(s.Acquire(Req(7, "acme", "gpu", 1), kDayStartMs, &ops).ok());
  ReleaseResult first = s.Release(7, kDayStartMs + 10'000, "released", kDayStartMs + 10'000, &ops);
  ReleaseResult second = s.Release(7, kDayStartMs + 20'000, "released", kDayStartMs + 20'000, &ops);
  EXPECT_TRUE(first.closed);
  EXPECT_DOUBLE_EQ(first.units, 10.0);
  EXPECT_FALSE(second.closed);
  EXPECT_DOUBLE_EQ(second.units, 0.0);
  EXPECT_NE(second.message.find("already closed"), std::string::npos) << second.message;
  EXPECT_DOUBLE_EQ(s.StoredUsage("acme")->total_units, 10.0);
  EXPECT_EQ(ops.size(), 2u) << "the second release must write nothing";
}

TEST_F(QuotaStateTest, AReleaseForAnEarlierRunDoesNotCloseTheNewLease) {
  // A requeued job got a new lease; the release of its first run arrives late.
  ASSERT_TRUE(s.Acquire(Req(7, "acme", "gpu", 1), kDayStartMs + 60'000, &ops).ok());
  ReleaseResult r = s.Release(7, kDayStartMs + 30'000, "released", kDayStartMs + 61'000, &ops);
  EXPECT_FALSE(r.closed);
  EXPECT_NE(s.OpenLease(7), nullptr);
}

TEST_F(QuotaStateTest, AcquireIsIdempotentForTheSameJob) {
  auto a = s.Acquire(Req(7, "acme", "gpu", 2), kDayStartMs, &ops);
  auto b = s.Acquire(Req(7, "acme", "gpu", 2), kDayStartMs + 5, &ops);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE(b->existing);
  EXPECT_EQ(b->lease.lease_id, a->lease.lease_id);
  EXPECT_EQ(ops.size(), 1u);
  EXPECT_FALSE(s.Acquire(Req(7, "acme", "gpu", 4), kDayStartMs, &ops).ok())
      << "the same job asking for something else is an error, not a second lease";
}

TEST_F(QuotaStateTest, GrantsWithinNominalBorrowsBeyondAndDeniesPastTheLimits) {
  // acme: nominal 4 on gpu, borrowing_limit 4; globex lends at most 2 of its idle 4.
  auto a = s.Acquire(Req(1, "acme", "gpu", 4), kDayStartMs, &ops);
  EXPECT_EQ(a->decision, Decision::kGranted);
  auto b = s.Acquire(Req(2, "acme", "gpu", 2), kDayStartMs, &ops);
  EXPECT_EQ(b->decision, Decision::kBorrowed);
  EXPECT_TRUE(b->lease.borrowed);
  auto c = s.Acquire(Req(3, "acme", "gpu", 1), kDayStartMs, &ops);
  EXPECT_EQ(c->decision, Decision::kDenied);
  EXPECT_NE(c->reason.find("acme"), std::string::npos) << c->reason;
  EXPECT_EQ(s.OpenLease(3), nullptr);
  // globex still gets its nominal 2 that were not lent... and 2 more of its own.
  EXPECT_EQ(s.Acquire(Req(4, "globex", "gpu", 2), kDayStartMs, &ops)->decision, Decision::kGranted);
  auto unknown = s.Acquire(Req(5, "nobody", "gpu", 1), kDayStartMs, &ops);
  EXPECT_EQ(unknown->decision, Decision::kDenied);
  EXPECT_NE(unknown->reason.find("unknown tenant"), std::string::npos);
  auto disallowed = s.Acquire(Req(6, "globex", "old", 1), kDayStartMs, &ops);
  EXPECT_EQ(disallowed->decision, Decision::kDenied);
  EXPECT_NE(disallowed->reason.find("may not use partition old"), std::string::npos);
}

TEST_F(QuotaStateTest, BudgetsCountRunningLeasesAndTheirTimeLimits) {
  // initech: 1 GPU-hour a day. A 1-GPU job with a 30 min limit fits (0.5 h committed); a
  // second one fits exactly; a third does not.
  auto a = s.Acquire(Req(1, "initech", "gpu", 1, 1800), kDayStartMs, &ops);
  EXPECT_EQ(a->decision, Decision::kGranted) << a->reason;
  auto b = s.Acquire(Req(2, "initech", "gpu", 1, 1800), kDayStartMs, &ops);
  EXPECT_EQ(b->decision, Decision::kGranted) << b->reason;
  auto c = s.Acquire(Req(3, "initech", "gpu", 1, 60), kDayStartMs, &ops);
  EXPECT_EQ(c->decision, Decision::kDenied);
  EXPECT_FALSE(c->reason.empty());
  // Both ran their full half hour: the period holds exactly 1 GPU-hour.
  s.Release(1, kDayStartMs + kHour / 2, "released", kDayStartMs + kHour / 2, &ops);
  s.Release(2, kDayStartMs + kHour / 2, "released", kDayStartMs + kHour / 2, &ops);
  EXPECT_DOUBLE_EQ(s.BudgetUsedNow(kDayStartMs + kHour)[s.TenantIndex("initech")], 3600.0);
  // The next day starts afresh.
  EXPECT_DOUBLE_EQ(s.BudgetUsedNow(kDayStartMs + 25 * kHour)[s.TenantIndex("initech")], 0.0);
}

TEST_F(QuotaStateTest, AChargeIsSplitOverTheBudgetPeriodsItSpans) {
  // 23:30 to 00:30 on one GPU: half an hour in each day.
  int64_t start = kDayStartMs - kHour / 2;
  ASSERT_TRUE(s.Acquire(Req(1, "acme", "gpu", 1), start, &ops).ok());
  s.Release(1, start + kHour, "released", start + kHour, &ops);
  auto* close = std::get_if<ledger_op::CloseLease>(&ops.back());
  ASSERT_NE(close, nullptr);
  ASSERT_EQ(close->charge.budget.size(), 2u);
  EXPECT_EQ(close->charge.budget[0].period_start_ms, kDayStartMs - 24 * kHour);
  EXPECT_DOUBLE_EQ(close->charge.budget[0].units, 1800.0);
  EXPECT_EQ(close->charge.budget[1].period_start_ms, kDayStartMs);
  EXPECT_DOUBLE_EQ(close->charge.budget[1].units, 1800.0);
}

TEST_F(QuotaStateTest, AStaleLeaseExpiresAtItsLastHeartbeatAndIsReconciledLater) {
  ASSERT_TRUE(s.Acquire(Req(1, "acme", "gpu", 2), kDayStartMs, &ops).ok());
  s.Touch(1, kDayStartMs + 100'000, 0, &ops);
  auto expired = s.ExpireStale(kDayStartMs + 100'000 + 301'000, 300'000, &ops);
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0].closed_ms, kDayStartMs + 100'000);
  EXPECT_TRUE(expired[0].needs_reconcile);
  EXPECT_DOUBLE_EQ(expired[0].charged_units, 2 * 100.0);
  EXPECT_EQ(s.OpenLease(1), nullptr);
  ASSERT_EQ(s.flagged().size(), 1u);
  // slurmctld later says the job ended at +250 s: 150 s x 2 GPUs more, once.
  auto extra = s.Reconcile(expired[0].lease_id, kDayStartMs + 250'000, &ops);
  ASSERT_TRUE(extra.has_value());
  EXPECT_DOUBLE_EQ(*extra, 300.0);
  EXPECT_TRUE(s.flagged().empty());
  EXPECT_FALSE(s.Reconcile(expired[0].lease_id, kDayStartMs + 250'000, &ops).has_value());
  EXPECT_DOUBLE_EQ(s.StoredUsage("acme")->total_units, 500.0);
}

TEST_F(QuotaStateTest, ChargingStartsAtTheJobsRealStartOnceKnown) {
  ASSERT_TRUE(s.Acquire(Req(1, "acme", "gpu", 1), kDayStartMs, &ops).ok());
  s.Touch(1, kDayStartMs + 5'000, kDayStartMs + 4'000, &ops);  // Slurm started it 4 s later
  ReleaseResult r = s.Release(1, kDayStartMs + 14'000, "released", kDayStartMs + 14'000, &ops);
  EXPECT_DOUBLE_EQ(r.units, 10.0);
}

TEST_F(QuotaStateTest, SlurmsWholeSecondStartIsTakenAsTheStart) {
  // Granted at .400; Slurm says the job started at the same whole second (.000).
  ASSERT_TRUE(s.Acquire(Req(1, "acme", "gpu", 2), kDayStartMs + 400, &ops).ok());
  s.Touch(1, kDayStartMs + 2'000, kDayStartMs, &ops);
  EXPECT_EQ(s.OpenLease(1)->start_ms, kDayStartMs);
  EXPECT_DOUBLE_EQ(s.Release(1, kDayStartMs + 10'000, "released", kDayStartMs + 10'000, &ops).units, 20.0);
  // A lease taken for a job that has run for an hour charges from the grant.
  ASSERT_TRUE(s.Acquire(Req(2, "acme", "gpu", 1), kDayStartMs + kHour, &ops).ok());
  s.Touch(2, kDayStartMs + kHour + 1000, kDayStartMs, &ops);
  EXPECT_EQ(s.OpenLease(2)->start_ms, kDayStartMs + kHour);
}

TEST_F(QuotaStateTest, StateRebuiltFromTheLedgerSnapshotMatches) {
  ASSERT_TRUE(s.Acquire(Req(1, "acme", "gpu", 2), kDayStartMs, &ops).ok());
  ASSERT_TRUE(s.Acquire(Req(2, "globex", "gpu", 3), kDayStartMs, &ops).ok());
  s.Release(1, kDayStartMs + 1000, "released", kDayStartMs + 1000, &ops);
  // The snapshot the ledger would load after these ops.
  LedgerSnapshot snap;
  snap.open.push_back(*s.OpenLease(2));
  snap.recent_closed.push_back(*s.LastClosedLease(1));
  snap.usage["acme"] = *s.StoredUsage("acme");
  snap.max_lease_id = 2;
  QuotaState t(ParseOrDie(kUnitConfig), snap);
  EXPECT_EQ(t.gpu_usage().Used(t.TenantIndex("globex"), t.PartitionIndex("gpu")), 3);
  EXPECT_EQ(t.gpu_usage().Used(t.TenantIndex("acme"), t.PartitionIndex("gpu")), 0);
  std::vector<LedgerOp> more;
  auto a = t.Acquire(Req(3, "acme", "gpu", 1), kDayStartMs + 2000, &more);
  EXPECT_EQ(a->lease.lease_id, 3) << "lease ids continue after the ledger's largest";
}

TEST_F(QuotaStateTest, SubmitChecksSayWhyInWords) {
  int64_t now = kDayStartMs;
  auto v = CheckSubmitFor(s, "mallory", {}, false, "acme", "gpu", 1, now);
  EXPECT_FALSE(v.allowed);
  EXPECT_EQ(v.reason, "egret: user mallory is not a member of tenant acme (members: alice)");
  v = CheckSubmitFor(s, "alice", {}, false, "", "gpu", 1, now);
  EXPECT_EQ(v.reason, "egret: no tenant given: submit with -A TENANT (your tenants: acme, initech)");
  v = CheckSubmitFor(s, "alice", {}, false, "umbrella", "gpu", 1, now);
  EXPECT_EQ(v.reason, "egret: unknown tenant \"umbrella\" (your tenants: acme, initech)");
  v = CheckSubmitFor(s, "bob", {}, false, "globex", "old", 1, now);
  EXPECT_EQ(v.reason, "egret: tenant globex may not use partition old (allowed: gpu, cpu)");
  v = CheckSubmitFor(s, "alice", {}, false, "acme", "gpu", 16, now);
  EXPECT_EQ(v.reason,
            "egret: tenant acme can never get 16 GPUs on gpu (at most 6: its nominal quota plus what its "
            "cohort may lend)");
  v = CheckSubmitFor(s, "alice", {}, false, "acme", "gpu", 4, now);
  EXPECT_TRUE(v.allowed) << v.reason;
  v = CheckSubmitFor(s, "root", {}, true, "globex", "gpu", 1, now);
  EXPECT_TRUE(v.allowed) << "admins may submit for any tenant";
}

TEST(SubmitCheck, ASpentBudgetIsRefusedWithThePeriodEnd) {
  std::string cfg = kUnitConfig;
  cfg.replace(cfg.find("budget_gpu_hours = 1"), 20, "budget_gpu_hours = 0");
  QuotaState s(ParseOrDie(cfg), LedgerSnapshot{});
  auto v = CheckSubmitFor(s, "bob", {}, false, "initech", "gpu", 1, kDayStartMs + 5 * kHour);
  EXPECT_FALSE(v.allowed);
  EXPECT_EQ(v.reason,
            "egret: tenant initech has spent its GPU-hour budget for this period (0.00 of 0 GPU-hours "
            "used; the period ends 2025-03-11 00:00 UTC)");
}

}  // namespace
}  // namespace egret::quotad
