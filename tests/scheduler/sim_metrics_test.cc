// The simulator on small traces whose every figure is worked out by hand, and the metric
// building blocks (water-filling entitlement, Jain's index, percentiles).
#include <gtest/gtest.h>

#include "scheduler/sim/compare.h"
#include "scheduler/sim/generator.h"
#include "scheduler/sim/metrics.h"
#include "scheduler/sim/simulator.h"

namespace egret::sim {
namespace {

TEST(MetricParts, NearestRankPercentile) {
  EXPECT_EQ(Percentile({15, 20, 35, 40, 50}, 30), 20);
  EXPECT_EQ(Percentile({15, 20, 35, 40, 50}, 100), 50);
  EXPECT_EQ(Percentile({0, 90, 80}, 50), 80);
  EXPECT_EQ(Percentile({0, 90, 80}, 95), 90);
  EXPECT_EQ(Percentile({}, 50), 0);
}

TEST(MetricParts, JainIndex) {
  EXPECT_DOUBLE_EQ(JainIndex({1, 1}), 1);
  EXPECT_DOUBLE_EQ(JainIndex({2, 0}), 0.5);
  EXPECT_NEAR(JainIndex({1, 2, 3}), 36.0 / 42.0, 1e-12);
}

TEST(MetricParts, EntitlementIsWaterFilled) {
  // Shares .5/.3/.2; tenants 0 and 1 wait; 2 holds 0.1, less than its share: the rest is
  // split .5:.3 -> lambda = 0.9 / 0.8 = 1.125.
  auto e = EntitledShares({0.5, 0.3, 0.2}, {0.3, 0.3, 0.1}, {true, true, false});
  EXPECT_NEAR(e[0], 0.5625, 1e-12);
  EXPECT_NEAR(e[1], 0.3375, 1e-12);
  EXPECT_EQ(e[2], 0);
  // A satisfied tenant holding more than its share does not shrink the waiting one's.
  e = EntitledShares({0.5, 0.5}, {0.2, 0.8}, {true, false});
  EXPECT_NEAR(e[0], 0.5, 1e-12);
}

policy::Spec TwoTenants() { return ProportionalSpec({"a", "b"}, {1, 1}, 4, 3600); }

// 4 GPUs, a and b with 2 each. Job 1 (a, 4 GPUs, 100 s) at t=0; job 2 (b, 2 GPUs, 50 s) at
// t=10; job 3 (a, 2 GPUs, 50 s) at t=20. Time limits are the run times.
Trace Small() {
  Trace t;
  t.jobs = {{1, 0, 100, 100, 4, "a"}, {2, 10, 50, 50, 2, "b"}, {3, 20, 50, 50, 2, "a"}};
  return t;
}

const PolicyRun& Find(const std::vector<PolicyRun>& runs, const std::string& name) {
  for (const PolicyRun& r : runs)
    if (r.metrics.policy == name) return r;
  return runs.front();
}

TEST(SimulatorByHand, FifoOnTheSmallTrace) {
  // FIFO: job 1 runs 0-100; jobs 2 and 3 wait and both start at 100, end at 150.
  auto pols = ComparedPolicies({"fifo"});
  ASSERT_TRUE(pols.ok());
  SimOptions so;
  auto runs = Compare(TwoTenants(), Small(), *pols, so, MetricOptions{});
  ASSERT_TRUE(runs.ok()) << runs.error().message();
  const PolicyRun& r = Find(*runs, "fifo");
  const auto& jobs = r.result.jobs;
  EXPECT_EQ(jobs[0].first_start, 0);
  EXPECT_EQ(jobs[0].end, 100);
  EXPECT_EQ(jobs[1].first_start, 100);
  EXPECT_EQ(jobs[2].first_start, 100);
  EXPECT_EQ(jobs[2].end, 150);
  const Metrics& m = r.metrics;
  // Arrival window [0, 20]: 4 GPUs busy throughout.
  EXPECT_DOUBLE_EQ(m.arrival_window_s, 20);
  EXPECT_DOUBLE_EQ(m.utilisation, 1.0);
  // Contended [10, 100): still 4 busy.
  EXPECT_DOUBLE_EQ(m.utilisation_contended, 1.0);
  // Waits 0, 90, 80: p50 = 80, p95 = 90 (nearest rank).
  EXPECT_DOUBLE_EQ(m.wait_p50_s, 80);
  EXPECT_DOUBLE_EQ(m.wait_p95_s, 90);
  // Bounded slowdowns 100/100 = 1, (150-10)/50 = 2.8, (150-20)/50 = 2.6.
  EXPECT_DOUBLE_EQ(m.bsld_p95, 2.8);
  // Entitlement: b alone waits in [10, 20) while a holds all 4 -> b entitled 0.5; both wait in
  // [20, 100) -> 0.5 each. b gets 0 for 90 s, a gets 1.0 for 80 s: x_b = 0, x_a = 80 / 40 = 2,
  // Jain = (2 + 0)^2 / (2 * (4 + 0)) = 0.5.
  EXPECT_EQ(m.jain_windows, 1);
  EXPECT_DOUBLE_EQ(m.jain, 0.5);
  EXPECT_DOUBLE_EQ(m.tenants[1].entitled, 0.5);
  EXPECT_DOUBLE_EQ(m.tenants[1].received, 0);
  EXPECT_DOUBLE_EQ(m.max_shortfall, 0.5);
  EXPECT_EQ(m.max_shortfall_tenant, "b");
  EXPECT_DOUBLE_EQ(m.tenants[0].shortfall, -0.5);
  // Job 2 fitted b's unused quota (0 + 2 <= 2) for all its 90 s of waiting.
  EXPECT_DOUBLE_EQ(m.max_fit_wait_s, 90);
  EXPECT_EQ(m.preemptions, 0);
}

TEST(SimulatorByHand, EgretBorrowsReclaimsAndBackfills) {
  // Egret: job 1 borrows b's idle 2 GPUs at t=0. At t=10 b's job 2 fits its quota: job 1 is
  // preempted, checkpoints for the 60 s grace and leaves at 70 with 90 s of work left (10 s
  // done). At 70 job 2 starts, job 1 (needs b's 2 GPUs again) gets a reservation for 120 when
  // job 2's limit ends, and job 3 (2 GPUs, ends by 120) backfills. Job 1 runs 120-210.
  auto pols = ComparedPolicies({"egret"});
  ASSERT_TRUE(pols.ok());
  SimOptions so;
  so.preempt_grace_s = 60;
  auto runs = Compare(TwoTenants(), Small(), *pols, so, MetricOptions{});
  ASSERT_TRUE(runs.ok()) << runs.error().message();
  const auto& jobs = runs->front().result.jobs;
  EXPECT_EQ(jobs[0].first_start, 0);
  EXPECT_EQ(jobs[0].preemptions, 1);
  EXPECT_EQ(jobs[1].first_start, 70);
  EXPECT_EQ(jobs[1].end, 120);
  EXPECT_EQ(jobs[2].first_start, 70);
  EXPECT_EQ(jobs[2].end, 120);
  EXPECT_EQ(jobs[0].end, 210);
  const Metrics& m = runs->front().metrics;
  EXPECT_EQ(m.preemptions, 1);
  EXPECT_DOUBLE_EQ(m.lost_gpu_s, 4 * 60);
  EXPECT_DOUBLE_EQ(m.lost_fraction, 240.0 / (4 * 20));
  // Waits 0, 60, 50; slowdowns 210/100 = 2.1, 110/50 = 2.2, 100/50 = 2.
  EXPECT_DOUBLE_EQ(m.wait_p95_s, 60);
  EXPECT_DOUBLE_EQ(m.bsld_p95, 2.2);
  // Job 2 fitted b's quota from 10 to 70: the checkpoint grace.
  EXPECT_DOUBLE_EQ(m.max_fit_wait_s, 60);
}

TEST(SimulatorByHand, StaticQuotaRefusesWhatNoQuotaHolds) {
  auto pols = ComparedPolicies({"static-quota"});
  ASSERT_TRUE(pols.ok());
  auto runs = Compare(TwoTenants(), Small(), *pols, SimOptions{}, MetricOptions{});
  ASSERT_TRUE(runs.ok());
  const Metrics& m = runs->front().metrics;
  EXPECT_TRUE(runs->front().result.jobs[0].denied);  // 4 GPUs > a's 2, no borrowing
  EXPECT_EQ(m.never_completed, 1);
  EXPECT_EQ(runs->front().result.jobs[1].first_start, 10);
  EXPECT_EQ(runs->front().result.jobs[2].first_start, 20);
}

TEST(SimulatorByHand, UnknownTenantIsAnError) {
  Trace t = Small();
  t.jobs[1].tenant = "zed";
  auto r = Simulate(TwoTenants(), t, SimOptions{});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "trace job 2: tenant \"zed\" is not in the tenant configuration");
}

TEST(Generator, DeterministicContestedAndAsSpecified) {
  GeneratorOptions g;
  g.seed = 7;
  Scenario a = Generate(g), b = Generate(g);
  ASSERT_EQ(a.trace.jobs.size(), b.trace.jobs.size());
  for (size_t i = 0; i < a.trace.jobs.size(); ++i) {
    EXPECT_EQ(a.trace.jobs[i].submit_s, b.trace.jobs[i].submit_s);
    EXPECT_EQ(a.trace.jobs[i].gpus, b.trace.jobs[i].gpus);
  }
  g.seed = 8;
  EXPECT_NE(Generate(g).trace.jobs.size(), a.trace.jobs.size());
  // Nominal quotas 0.4/0.3/0.2/0.1 of 64 by largest remainder: 26, 19, 13, 6.
  ASSERT_EQ(a.spec.tenants.size(), 4u);
  EXPECT_EQ(a.spec.tenants[0].quota[0].nominal, 26);
  EXPECT_EQ(a.spec.tenants[1].quota[0].nominal, 19);
  EXPECT_EQ(a.spec.tenants[2].quota[0].nominal, 13);
  EXPECT_EQ(a.spec.tenants[3].quota[0].nominal, 6);
  // Offered load about 1.3x capacity; some jobs exceed the smallest tenant's quota.
  double work = 0;
  bool big = false;
  for (const TraceJob& j : a.trace.jobs) {
    work += j.gpus * j.runtime_s;
    big = big || (j.tenant == "t3" && j.gpus > 6);
    EXPECT_GE(j.time_limit_s, j.runtime_s);
  }
  const double load = work / (64 * 3 * 86400.0);
  EXPECT_GT(load, 1.0);
  EXPECT_LT(load, 1.7);
  EXPECT_TRUE(big);
}

}  // namespace
}  // namespace egret::sim
