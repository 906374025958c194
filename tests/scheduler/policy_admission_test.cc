// Admission: nominal quota, borrowing within both limits, queue order and the reasons people read.
#include <gtest/gtest.h>

#include "scheduler/policy/fairshare.h"
#include "scheduler/policy/quota.h"
#include "scheduler/policy/schedule.h"
#include "tests/scheduler/policy_fixture.h"

namespace egret::policy {
namespace {

using namespace egret::policy::testing;

TEST(Admission, WithinNominalIsGranted) {
  Spec spec = SpecFromToml(ClusterToml());
  State s = Empty(spec);
  s.pending = {Job(1, kAcme, 4, 0)};
  Decisions d = Schedule(spec, s, 10);
  ASSERT_EQ(d.admit.size(), 1u);
  EXPECT_FALSE(d.admit[0].borrowed);
  EXPECT_EQ(d.admit[0].slurm_priority, SlurmPriority(1.0));
}

TEST(Admission, BeyondNominalBorrowsWhatTheCohortLends) {
  // acme holds its 4; globex idle lends at most 2 (its lending_limit).
  Spec spec = SpecFromToml(ClusterToml());
  State s = Empty(spec);
  s.running = {Running(1, kAcme, 4, 0)};
  s.pending = {Job(2, kAcme, 2, 1)};
  Decisions d = Schedule(spec, s, 10);
  ASSERT_EQ(d.admit.size(), 1u);
  EXPECT_TRUE(d.admit[0].borrowed);
}

TEST(Admission, LendingLimitCapsWhatOthersMayBorrow) {
  // acme may borrow up to 4, but globex lends at most 2: 3 more GPUs must wait.
  Spec spec = SpecFromToml(ClusterToml());
  State s = Empty(spec);
  s.running = {Running(1, kAcme, 4, 0)};
  s.pending = {Job(2, kAcme, 3, 1)};
  Decisions d = Schedule(spec, s, 10);
  ASSERT_TRUE(d.admit.empty());
  ASSERT_EQ(d.waiting.size(), 1u);
  EXPECT_FALSE(d.waiting[0].denied);
  EXPECT_EQ(d.waiting[0].reason, "acme: 4/4 GPUs in use on gpu, cohort has 2 idle to lend; position 1");
}

TEST(Admission, BorrowingLimitCapsWhatATenantMayBorrow) {
  // acme idle lends up to 4, but globex may borrow only 2 beyond its nominal 4.
  Spec spec = SpecFromToml(ClusterToml());
  State s = Empty(spec);
  s.running = {Running(1, kGlobex, 4, 0)};
  s.pending = {Job(2, kGlobex, 3, 1), Job(3, kGlobex, 2, 2)};
  Decisions d = Schedule(spec, s, 10);
  const Waiting* w2 = FindWaiting(d, 2);
  ASSERT_NE(w2, nullptr);
  EXPECT_FALSE(w2->denied);
  EXPECT_EQ(w2->reason,
            "globex: 4/4 GPUs in use on gpu, borrowing 3 would exceed its borrowing_limit 2; "
            "position 1");
  // Job 2 has no reservation (the running job has no time limit, so nobody knows when it
  // ends), so job 3 may borrow the 2 GPUs globex is allowed.
  EXPECT_EQ(w2->reserved_start, -1);
  ASSERT_NE(FindAdmit(d, 3), nullptr);
  EXPECT_TRUE(FindAdmit(d, 3)->borrowed);
}

TEST(Admission, JobBiggerThanAnyLimitAllowsIsRefused) {
  Spec spec = SpecFromToml(ClusterToml());
  State s = Empty(spec);
  s.pending = {Job(1, kGlobex, 7, 0), Job(2, kInitech, 3, 0), Job(3, kAcme, 9, 0)};
  Decisions d = Schedule(spec, s, 10);
  ASSERT_EQ(d.waiting.size(), 3u);
  EXPECT_TRUE(FindWaiting(d, 1)->denied);
  EXPECT_EQ(FindWaiting(d, 1)->reason,
            "globex: job asks 7 GPUs but globex can hold at most 6 on gpu (nominal 4 + what its "
            "cohort may lend, within its borrowing_limit); ask for fewer GPUs or an admin for a "
            "larger quota");
  EXPECT_TRUE(FindWaiting(d, 2)->denied);
  EXPECT_EQ(FindWaiting(d, 3)->reason,
            "acme: job asks 9 GPUs but partition gpu has 8; ask for at most 8");
}

TEST(Admission, BorrowingLimitReachedQueuesWithReason) {
  Spec spec = SpecFromToml(ClusterToml());
  State s = Empty(spec);
  s.running = {Running(1, kGlobex, 4, 0), Running(2, kGlobex, 1, 0, 0, true)};
  s.pending = {Job(3, kGlobex, 2, 1)};
  Decisions d = Schedule(spec, s, 10);
  ASSERT_EQ(d.waiting.size(), 1u);
  EXPECT_EQ(d.waiting[0].reason,
            "globex: 5/4 GPUs in use on gpu, borrowing 3 would exceed its borrowing_limit 2; "
            "position 1");
}

TEST(Admission, NoCohortMeansNoBorrowing) {
  Spec spec = SpecFromToml(ClusterToml());
  State s = Empty(spec);
  s.running = {Running(1, kInitech, 2, 0)};
  s.pending = {Job(2, kInitech, 1, 1)};
  Decisions d = Schedule(spec, s, 10);
  ASSERT_EQ(d.waiting.size(), 1u);
  EXPECT_FALSE(d.waiting[0].denied);
  EXPECT_EQ(d.waiting[0].reason, "initech: 2/2 GPUs in use on gpu, no cohort to borrow from; position 1");
}

TEST(Admission, FullPartitionWithinQuotaSaysSo) {
  // Nominal quotas add up to 10 on 8 GPUs: initech's own quota cannot be honoured while acme
  // and globex use theirs, and nothing is borrowed, so nothing is reclaimed.
  Spec spec = SpecFromToml(ClusterToml());
  State s = Empty(spec);
  s.running = {Running(1, kAcme, 4, 0), Running(2, kGlobex, 4, 0)};
  s.pending = {Job(3, kInitech, 2, 1)};
  Decisions d = Schedule(spec, s, 10);
  ASSERT_EQ(d.waiting.size(), 1u);
  EXPECT_TRUE(d.preempt.empty());
  EXPECT_EQ(d.waiting[0].reason,
            "initech: 0/2 GPUs in use on gpu, within its quota, but partition gpu is full (8/8 "
            "GPUs in use); position 1");
}

TEST(Admission, BudgetSpentIsARefusal) {
  Spec spec = SpecFromToml(ClusterToml(/*initech_budget=*/true));
  State s = Empty(spec);
  s.pending = {Job(1, kInitech, 1, 0, 600)};
  Decisions d = Schedule(spec, s, 1740000000);
  ASSERT_EQ(d.waiting.size(), 1u);
  EXPECT_TRUE(d.waiting[0].denied);
  EXPECT_EQ(d.waiting[0].reason.rfind("initech: GPU-hour budget spent: 0.00 of 0.00 used", 0), 0u)
      << d.waiting[0].reason;
  SingleDecision one = Decide(spec, s, s.pending[0], 1740000000);
  EXPECT_EQ(one.outcome, Outcome::kDenied);
}

TEST(Admission, PartitionNotAllowedIsARefusal) {
  Spec spec = SpecFromToml(ClusterToml());
  State s = Empty(spec);
  s.pending = {Job(1, kInitech, 0, 0, 0, kCpu)};
  Decisions d = Schedule(spec, s, 10);
  ASSERT_EQ(d.waiting.size(), 1u);
  EXPECT_TRUE(d.waiting[0].denied);
  EXPECT_EQ(d.waiting[0].reason, "initech may not use partition cpu (allowed: gpu)");
}

TEST(Admission, UnmanagedPartitionIsAdmittedWithoutQuota) {
  Spec spec = SpecFromToml(ClusterToml());
  State s = Empty(spec);
  s.pending = {Job(1, kAcme, 0, 0, 0, kCpu)};
  Decisions d = Schedule(spec, s, 10);
  ASSERT_EQ(d.admit.size(), 1u);
}

TEST(Order, FairshareAcrossTenantsFifoWithin) {
  // Shares 60/40, usage 30/10: F_acme = 0.42 < F_globex = 0.65, so globex goes first even
  // though acme submitted earlier; each tenant's jobs stay in submit order.
  Spec spec = SpecFromToml(ClusterToml());
  State s = Empty(spec);
  s.usage = {30, 10, 0};
  s.usage[kInitech] = 0;
  s.pending = {Job(10, kAcme, 1, 5), Job(11, kAcme, 1, 1), Job(12, kGlobex, 1, 9),
               Job(13, kInitech, 1, 20)};
  std::vector<int> order = PriorityOrder(spec, s, Options{});
  // initech has no usage (F = 1), then globex, then acme's two in submit order.
  ASSERT_EQ(order.size(), 4u);
  EXPECT_EQ(s.pending[order[0]].id, 13u);
  EXPECT_EQ(s.pending[order[1]].id, 12u);
  EXPECT_EQ(s.pending[order[2]].id, 11u);
  EXPECT_EQ(s.pending[order[3]].id, 10u);
  Options fifo;
  fifo.order = Options::Order::kFifo;
  order = PriorityOrder(spec, s, fifo);
  EXPECT_EQ(s.pending[order[0]].id, 11u);
  EXPECT_EQ(s.pending[order[3]].id, 13u);
}

TEST(Order, QueueReasonsCarryPositions) {
  Spec spec = SpecFromToml(ClusterToml());
  State s = Empty(spec);
  s.running = {Running(1, kAcme, 4, 0), Running(2, kAcme, 2, 0, 0, true), Running(3, kGlobex, 2, 0)};
  s.pending = {Job(4, kAcme, 2, 1), Job(5, kAcme, 1, 2)};
  Decisions d = Schedule(spec, s, 10);
  ASSERT_EQ(d.waiting.size(), 2u);
  EXPECT_EQ(FindWaiting(d, 4)->reason,
            "acme: 6/4 GPUs in use on gpu, cohort has 0 idle to lend; position 1");
  EXPECT_EQ(FindWaiting(d, 5)->reason,
            "acme: 6/4 GPUs in use on gpu, cohort has 0 idle to lend; position 2");
}

TEST(Usage, CohortAccountingFollowsKueue) {
  Spec spec = SpecFromToml(ClusterToml());
  Usage u(spec, {Running(1, kAcme, 6, 0), Running(2, kGlobex, 1, 0)});
  EXPECT_EQ(u.Borrowed(kAcme, kGpu), 2);
  EXPECT_EQ(u.Lendable(kAcme, kGpu), 0);
  EXPECT_EQ(u.Lendable(kGlobex, kGpu), 2);  // 3 unused, lending_limit 2
  EXPECT_EQ(u.CohortBorrowed(0, kGpu), 2);
  EXPECT_EQ(u.CohortLendable(0, kGpu), 2);
  u.Add(kAcme, kGpu, -6);
  EXPECT_EQ(u.CohortBorrowed(0, kGpu), 0);
  EXPECT_EQ(u.CohortLendable(0, kGpu), 6);
  EXPECT_EQ(u.PartitionUsed(kGpu), 1);
}

}  // namespace
}  // namespace egret::policy
