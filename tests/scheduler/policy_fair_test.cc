// The Egret-specific parts of the order: running GPUs count in the fairshare order, and
// fair-share preemption between borrowers.
#include <gtest/gtest.h>

#include <algorithm>

#include "scheduler/policy/fair_preemption.h"
#include "scheduler/policy/schedule.h"
#include "tests/scheduler/policy_fixture.h"

namespace egret::policy {
namespace {

using namespace egret::policy::testing;

constexpr int kA = 0, kB = 1;
// a, b, c: equal shares, 2 GPUs each of 6, one cohort, no limits.
Spec Three() {
  return SpecFromToml(R"(
[gpu_types]
h100 = 1.0
[[partition]]
name = "gpu"
gpu_type = "h100"
gpus = 6
[[tenant]]
name = "a"
members = ["alice"]
cohort = "c"
gpu_quota = { gpu = 2 }
[[tenant]]
name = "b"
members = ["bob"]
cohort = "c"
gpu_quota = { gpu = 2 }
[[tenant]]
name = "c"
members = ["carol"]
cohort = "c"
gpu_quota = { gpu = 2 }
)");
}

TEST(FairOrder, RunningGPUsCountWithRunningWeight) {
  // No past usage; a already holds 2 GPUs. Classic order: submit time (a's job is older).
  // With running_weight, a's running GPUs count as usage, so b goes first.
  Spec spec = Three();
  State s = Empty(spec);
  s.running = {Running(1, kA, 2, 0)};
  s.pending = {Job(2, kA, 1, 5), Job(3, kB, 1, 9)};
  Options classic;
  classic.running_weight = 0;
  EXPECT_EQ(s.pending[PriorityOrder(spec, s, classic)[0]].id, 2u);
  EXPECT_EQ(s.pending[PriorityOrder(spec, s, Options{})[0]].id, 3u);
}

TEST(FairOrder, APassReranksAfterEachAdmission) {
  // Both idle with no history: b's first job starts, then a's (a now ranks ahead), not both of
  // b's first as the fixed classic order would (b submitted earlier).
  Spec spec = Three();
  State s = Empty(spec);
  s.running = {Running(1, 2, 4, 0)};  // c holds 4: 2 GPUs are left
  s.pending = {Job(2, kB, 1, 1), Job(3, kB, 1, 2), Job(4, kA, 1, 3)};
  Decisions d = Schedule(spec, s, 10);
  ASSERT_EQ(d.admit.size(), 2u);
  EXPECT_EQ(d.admit[0].job, 2u);
  EXPECT_EQ(d.admit[1].job, 4u);
  Options classic;
  classic.running_weight = 0;
  d = Schedule(spec, s, 10, classic);
  ASSERT_EQ(d.admit.size(), 2u);
  EXPECT_EQ(d.admit[1].job, 3u);
}

// a holds 5 (nominal 2 + 3 borrowed, as three 1-GPU jobs started at 10, 20, 30), b holds 1.
std::vector<RunningJob> Borrowers() {
  return {Running(1, kA, 2, 0), Running(2, kA, 1, 10, 0, true), Running(3, kA, 1, 20, 0, true),
          Running(4, kA, 1, 30, 0, true), Running(5, kB, 1, 0)};
}

TEST(FairPreemption, TakesFromTheTenantAboveItsShareAsLongAsItEndsNoHigher) {
  // b wants 2 more (3 in all, 1 borrowed): share after 3/(1/3) = 9. Taking a's two youngest
  // leaves a at 3/(1/3) = 9 >= 9, and then 2 GPUs are free and c lends what b borrows.
  Spec spec = Three();
  std::vector<RunningJob> running = Borrowers();
  Usage usage(spec, running);
  std::vector<int> v = PickFairShareVictims(spec, usage, running, kB, kGpu, 2, 0, Options{}, 100);
  std::vector<JobId> ids;
  for (int i : v) ids.push_back(running[i].id);
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<JobId>{3, 4}));
}

TEST(FairPreemption, RefusedWhenThePreemptorWouldEndAboveTheVictim) {
  // b wanting 3 more would hold 4 (share 12) against a's 2 left (share 6): the final-share rule
  // says no.
  Spec spec = Three();
  std::vector<RunningJob> running = Borrowers();
  Usage usage(spec, running);
  Options final_only;
  final_only.fair_preemption_initial_share = false;
  EXPECT_TRUE(PickFairShareVictims(spec, usage, running, kB, kGpu, 3, 0, final_only, 100).empty());
  // Kueue's second rule: b's 12 is below a's share before preemption (5 GPUs: 15), so it may.
  Options initial;
  initial.fair_preemption_initial_share = true;
  initial.fair_preemption_margin = 0;
  EXPECT_EQ(PickFairShareVictims(spec, usage, running, kB, kGpu, 3, 0, initial, 100).size(), 3u);
  // With the default margin (0.5) a's 15 must exceed 12 x 1.5 = 18: not enough difference.
  EXPECT_TRUE(PickFairShareVictims(spec, usage, running, kB, kGpu, 3, 0, Options{}, 100).empty());
}

TEST(FairPreemption, SparesJobsAboutToEnd) {
  // a's borrowed jobs all end within 30 minutes: nothing is preempted for b.
  Spec spec = Three();
  std::vector<RunningJob> running = Borrowers();
  for (RunningJob& r : running) r.time_limit_s = 1000;
  Usage usage(spec, running);
  EXPECT_TRUE(PickFairShareVictims(spec, usage, running, kB, kGpu, 2, 0, Options{}, 100).empty());
  Options o;
  o.fair_preemption_min_left_s = 0;
  EXPECT_EQ(PickFairShareVictims(spec, usage, running, kB, kGpu, 2, 0, o, 100).size(), 2u);
}

TEST(FairPreemption, ThroughScheduleTheJobWaitsForTheCheckpoint) {
  Spec spec = Three();
  State s = Empty(spec);
  s.running = Borrowers();
  s.pending = {Job(6, kB, 2, 50)};
  Decisions d = Schedule(spec, s, 60);
  ASSERT_EQ(d.preempt.size(), 2u);
  EXPECT_TRUE(d.admit.empty());
  EXPECT_EQ(d.preempt[0].reason.rfind("fair-share preemption by b (job 6) on gpu: a borrowed 1", 0), 0u)
      << d.preempt[0].reason;
  Options off;
  off.fair_preemption = false;
  EXPECT_TRUE(Schedule(spec, s, 60, off).preempt.empty());
}

}  // namespace
}  // namespace egret::policy
