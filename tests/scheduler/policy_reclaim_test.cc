// Reclaim: a lender's job within its nominal quota gets its GPUs back by preempting borrowed
// jobs of its cohort, youngest first, and no more than needed.
#include <gtest/gtest.h>

#include <algorithm>

#include "scheduler/policy/reclaim.h"
#include "scheduler/policy/schedule.h"
#include "tests/scheduler/policy_fixture.h"

namespace egret::policy {
namespace {

using namespace egret::policy::testing;

// acme 2, globex 4, umbrella 2 GPUs on 8, all in one cohort, no limits.
constexpr int kUmbrella = 2;
Spec Cohort() {
  return SpecFromToml(R"(
[gpu_types]
h100 = 1.0
[[partition]]
name = "gpu"
gpu_type = "h100"
gpus = 8
[[tenant]]
name = "acme"
members = ["alice"]
cohort = "research"
gpu_quota = { gpu = 2 }
[[tenant]]
name = "globex"
members = ["bob"]
cohort = "research"
gpu_quota = { gpu = 4 }
[[tenant]]
name = "umbrella"
members = ["carol"]
cohort = "research"
gpu_quota = { gpu = 2 }
)");
}

std::vector<JobId> Ids(const std::vector<RunningJob>& running, const std::vector<int>& idx) {
  std::vector<JobId> out;
  for (int i : idx) out.push_back(running[i].id);
  std::sort(out.begin(), out.end());
  return out;
}

TEST(Reclaim, YoungestBorrowedFirstAndOnlyAsManyAsNeeded) {
  Spec spec = Cohort();
  // acme holds 5 (3 borrowed); umbrella its own 2; globex 1 of its 4. All 8 in use.
  std::vector<RunningJob> running = {
      Running(1, kAcme, 2, 0), Running(2, kAcme, 1, 10, 0, true), Running(3, kAcme, 1, 20, 0, true),
      Running(4, kAcme, 1, 30, 0, true), Running(5, kUmbrella, 2, 40), Running(6, kGlobex, 1, 0)};
  Usage usage(spec, running);
  EXPECT_EQ(Ids(running, PickReclaimVictims(spec, usage, running, kGlobex, kGpu, 2)),
            (std::vector<JobId>{3, 4}));
  EXPECT_EQ(Ids(running, PickReclaimVictims(spec, usage, running, kGlobex, kGpu, 1)),
            (std::vector<JobId>{4}));
  // acme borrows 3 in all: a 4th GPU cannot be reclaimed (umbrella and acme's own 2 are theirs).
  EXPECT_TRUE(PickReclaimVictims(spec, usage, running, kGlobex, kGpu, 4).empty());
}

TEST(Reclaim, DropsPicksALaterOneMadeUnnecessary) {
  Spec spec = Cohort();
  // acme: 2 + 2 + 1 (3 borrowed). Needing 2: youngest is the 1-GPU job 3, then the 2-GPU job 2,
  // which alone is enough, so job 3 is spared.
  std::vector<RunningJob> running = {Running(1, kAcme, 2, 0), Running(2, kAcme, 2, 10, 0, true),
                                     Running(3, kAcme, 1, 20, 0, true), Running(4, kUmbrella, 2, 5),
                                     Running(5, kGlobex, 1, 0)};
  Usage usage(spec, running);
  EXPECT_EQ(Ids(running, PickReclaimVictims(spec, usage, running, kGlobex, kGpu, 2)),
            (std::vector<JobId>{2}));
}

TEST(Reclaim, NothingOutsideTheCohort) {
  Spec spec = SpecFromToml(ClusterToml());  // initech has no cohort
  std::vector<RunningJob> running = {Running(1, kAcme, 6, 0, 0, true), Running(2, kGlobex, 2, 1)};
  Usage usage(spec, running);
  EXPECT_TRUE(PickReclaimVictims(spec, usage, running, kInitech, kGpu, 2).empty());
  // globex is in acme's cohort and lent to it: it may reclaim.
  EXPECT_EQ(Ids(running, PickReclaimVictims(spec, usage, running, kGlobex, kGpu, 2)),
            (std::vector<JobId>{1}));
}

TEST(Reclaim, ScheduleSignalsThenAdmitsOnceTheGPUsAreBack) {
  Spec spec = Cohort();
  State s = Empty(spec);
  s.running = {Running(1, kAcme, 2, 0), Running(2, kAcme, 1, 10, 0, true), Running(3, kAcme, 1, 20, 0, true),
               Running(4, kAcme, 1, 30, 0, true), Running(5, kUmbrella, 2, 40), Running(6, kGlobex, 1, 0)};
  s.pending = {Job(7, kGlobex, 2, 50), Job(8, kAcme, 1, 51)};
  Decisions d = Schedule(spec, s, 60);
  ASSERT_EQ(d.preempt.size(), 2u);
  EXPECT_EQ(d.preempt[0].job, 4u);
  EXPECT_EQ(d.preempt[1].job, 3u);
  EXPECT_EQ(d.preempt[0].for_job, 7u);
  EXPECT_EQ(d.preempt[0].reason,
            "reclaimed by globex (job 7) on gpu: acme borrowed 1 GPUs of the cohort's lent quota");
  EXPECT_TRUE(d.admit.empty());
  EXPECT_EQ(FindWaiting(d, 7)->reason,
            "globex: within its quota on gpu; reclaiming lent GPUs (2 borrowed job(s) preempted "
            "now), starts once they have checkpointed; position 1");

  // While they checkpoint: nothing more is preempted, and acme cannot borrow the GPUs back.
  s.running[2].preempting = s.running[3].preempting = true;
  d = Schedule(spec, s, 70);
  EXPECT_TRUE(d.preempt.empty());
  EXPECT_TRUE(d.admit.empty());
  EXPECT_NE(FindWaiting(d, 7)->reason.find("0 borrowed job(s) preempted now"), std::string::npos);

  // They have gone: globex starts; acme's borrowing job still waits.
  s.running.erase(s.running.begin() + 2, s.running.begin() + 4);
  d = Schedule(spec, s, 80);
  ASSERT_EQ(d.admit.size(), 1u);
  EXPECT_EQ(d.admit[0].job, 7u);
  EXPECT_FALSE(d.admit[0].borrowed);
}

TEST(Reclaim, OffInOptionsMeansTheLenderWaits) {
  Spec spec = Cohort();
  State s = Empty(spec);
  s.running = {Running(1, kAcme, 5, 0, 0, true), Running(2, kUmbrella, 2, 0), Running(3, kGlobex, 1, 0)};
  s.pending = {Job(4, kGlobex, 2, 1)};
  Options o;
  o.reclaim = false;
  Decisions d = Schedule(spec, s, 10, o);
  EXPECT_TRUE(d.preempt.empty());
  EXPECT_TRUE(d.admit.empty());
}

}  // namespace
}  // namespace egret::policy
