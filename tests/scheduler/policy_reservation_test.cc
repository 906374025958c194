// Backfill reservations: the highest-priority blocked job gets the earliest time it could start
// (from running jobs' time limits); later jobs start now only if they do not delay it.
#include <gtest/gtest.h>

#include "scheduler/policy/schedule.h"
#include "tests/scheduler/policy_fixture.h"

namespace egret::policy {
namespace {

using namespace egret::policy::testing;

constexpr int kA = 0, kB = 1;
Spec TwoInCohort() {
  return SpecFromToml(R"(
[gpu_types]
h100 = 1.0
[[partition]]
name = "gpu"
gpu_type = "h100"
gpus = 8
[[tenant]]
name = "a"
members = ["alice"]
shares = 50
cohort = "c"
gpu_quota = { gpu = 4 }
[[tenant]]
name = "b"
members = ["bob"]
shares = 50
cohort = "c"
gpu_quota = { gpu = 4 }
)");
}

// a runs 2 GPUs until t=100, b runs 2 until t=300. a's 8-GPU job (twice its quota) can start
// only when both have ended and b lends all 4: at t=300.
State BigJobScene(const Spec& spec) {
  State s = Empty(spec);
  s.running = {Running(1, kA, 2, 0, 100), Running(2, kB, 2, 0, 300)};
  s.pending = {Job(10, kA, 8, 1), Job(11, kA, 1, 2, 1000), Job(12, kA, 1, 3, 50)};
  return s;
}

TEST(Reservation, ProtectsTheBigJobAndBackfillsWhatEndsBeforeIt) {
  Spec spec = TwoInCohort();
  Decisions d = Schedule(spec, BigJobScene(spec), 10);
  const Waiting* big = FindWaiting(d, 10);
  ASSERT_NE(big, nullptr);
  EXPECT_EQ(big->reserved_start, 300);
  EXPECT_EQ(big->reason,
            "a: 2/4 GPUs in use on gpu, cohort has 2 idle to lend; GPUs reserved for it in 5m; "
            "position 1");
  // Job 11 would still run at t=300 and leave 7 GPUs: it waits.
  ASSERT_NE(FindWaiting(d, 11), nullptr);
  EXPECT_EQ(FindWaiting(d, 11)->reason,
            "a: waits so as not to delay job 10 (a, 8 GPUs on gpu), reserved to start in 5m; "
            "position 2");
  // Job 12 ends at t=60, before the reservation: it fills the gap.
  ASSERT_NE(FindAdmit(d, 12), nullptr);
}

TEST(Reservation, WithoutItSmallJobsOvertakeForever) {
  Spec spec = TwoInCohort();
  Options o;
  o.reservation = false;
  Decisions d = Schedule(spec, BigJobScene(spec), 10, o);
  EXPECT_NE(FindAdmit(d, 11), nullptr);
  EXPECT_NE(FindAdmit(d, 12), nullptr);
}

TEST(Reservation, BackfillMayUseGPUsTheReservedJobDoesNotNeed) {
  // Quotas off (plain backfill). 8 GPUs: X holds 4 until t=100, Y 2 until t=500. The 5-GPU job
  // fits at t=100 with 1 GPU to spare: one long 1-GPU job may take it, a second may not.
  Spec spec = TwoInCohort();
  State s = Empty(spec);
  s.running = {Running(1, kA, 4, 0, 100), Running(2, kB, 2, 0, 500)};
  s.pending = {Job(10, kA, 5, 1), Job(11, kB, 1, 2, 10000), Job(12, kB, 1, 3, 10000)};
  Options o;
  o.quotas = false;
  o.running_weight = 0;  // a ranks first by past usage (none for either: submit order)
  Decisions d = Schedule(spec, s, 10, o);
  ASSERT_NE(FindWaiting(d, 10), nullptr);
  EXPECT_EQ(FindWaiting(d, 10)->reserved_start, 100);
  EXPECT_NE(FindAdmit(d, 11), nullptr);
  ASSERT_NE(FindWaiting(d, 12), nullptr);
  EXPECT_EQ(FindWaiting(d, 12)->reason.rfind("b: waits so as not to delay job 10", 0), 0u);
}

TEST(Reservation, AnotherTenantsGuaranteeComesFirst) {
  // b's 2-GPU job is within b's nominal quota: it starts even though it runs past t=300 and
  // takes GPUs a's reserved job wanted to borrow. Nominal quota is a guarantee; the
  // reservation only holds back borrowers and a's own later jobs.
  Spec spec = TwoInCohort();
  State s = BigJobScene(spec);
  s.pending.push_back(Job(13, kB, 2, 4, 1000));
  Decisions d = Schedule(spec, s, 10);
  EXPECT_NE(FindAdmit(d, 13), nullptr);
}

TEST(Reservation, BigJobStartsWhenItsTimeComes) {
  Spec spec = TwoInCohort();
  State s = Empty(spec);
  s.pending = {Job(10, kA, 8, 1)};
  Decisions d = Schedule(spec, s, 300);
  ASSERT_EQ(d.admit.size(), 1u);
  EXPECT_TRUE(d.admit[0].borrowed);
}

}  // namespace
}  // namespace egret::policy
