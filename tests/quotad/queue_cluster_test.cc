// egret-quotad managing the real cluster (2 nodes x 4 GPUs, partition gpu managed):
// job_submit.lua holds each gpu job at submission and quotad releases it when it fits; a job
// over quota waits held with a readable reason in squeue and `egretctl why`, and starts by
// itself once quota frees up; a tenant whose budget is spent is denied with the reason; leases
// of jobs that ended while quotad was down are reconciled to the real end time; a borrowed job
// is preempted for a lender: it gets the signal, is requeued and held again.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "common/strings.h"
#include "tests/quotad/cluster_util.h"

namespace egret::quotad {
namespace {

using egret::testing::Eventually;
using egret::testing::GetJob;
using egret::testing::JobInfo;
using egret::testing::MakeJobDir;
using egret::testing::ReadText;
using egret::testing::SbatchAs;
using egret::testing::WaitForJob;
using egret::testing::WaitUntil;
using nlohmann::json;
using namespace testing;

bool Running(const JobInfo& j) { return j.state == "RUNNING"; }
bool Started(const JobInfo& j) { return j.state == "RUNNING" || j.state == "COMPLETED"; }

class QueueCluster : public ::testing::Test {
 protected:
  void TearDown() override {
    Cancel(jobs_);
    // Leave no lease behind for the next test: the jobs' leases close once Slurm reports them
    // ended (reconciliation).
    Eventually([] {
      json l = EgretctlJson("root", {"leases"});
      return l.contains("open") && l["open"].empty();
    }, 30);
  }
  // Without the SPANK plugin's submit check: these tests are about what slurmctld and quotad
  // do with whatever reaches the queue (a job of a spent budget, a job while quotad is down).
  long Submit(const std::string& user, std::vector<std::string> args, const std::string& script) {
    auto s = egret::testing::SbatchWithoutSpankAs(user, args, script);
    EXPECT_GT(s.job_id, 0) << s.err;
    if (s.job_id > 0) jobs_.push_back(s.job_id);
    return s.job_id;
  }
  std::vector<long> jobs_;
};

TEST_F(QueueCluster, AGpuJobIsHeldAtSubmissionAndReleasedByQuotad) {
  std::string dir = MakeJobDir("quotad-held");
  ASSERT_TRUE(QuotadFixture("stop"));
  long job = Submit("alice", {"-A", "acme", "-p", "gpu", "--gres=gpu:1", "-o", dir + "/out.txt"},
                    "#!/bin/bash\necho ran\n");
  long cpu = Submit("alice", {"-A", "acme", "-p", "cpu", "-o", dir + "/cpu.txt"}, "#!/bin/bash\necho cpu\n");
  // Without quotad, slurmctld starts the unmanaged cpu job at once (the SPANK plugin then fails
  // it closed at step start, quotad being down), while the gpu job stays held.
  JobInfo cpu_done = WaitForJob(cpu, 30);
  EXPECT_TRUE(cpu_done.state == "FAILED" || cpu_done.state == "COMPLETED") << cpu_done.state;
  auto held = GetJob(job);
  ASSERT_TRUE(held);
  EXPECT_EQ(held->state, "PENDING");
  EXPECT_EQ(held->fields["Priority"], "0");
  EXPECT_EQ(held->fields["AdminComment"], "egret:held");
  EXPECT_EQ(Squeue(job, "%k"), "egret: waiting for egret-quotad to admit it");
  EXPECT_EQ(GetJob(cpu)->fields["AdminComment"], "") << "unmanaged partitions are left alone";
  ASSERT_TRUE(QuotadFixture("start"));
  JobInfo done = WaitForJob(job, 30);
  EXPECT_EQ(done.state, "COMPLETED");
  EXPECT_EQ(ReadText(dir + "/out.txt"), "ran\n");
  EXPECT_NE(done.fields["Priority"], "0");
  // The audit log recorded the admission.
  std::string audit = ReadText(egret::testing::ClusterDir() + "/quotad/audit.jsonl");
  EXPECT_NE(audit.find("\"event\":\"admit\""), std::string::npos);
  EXPECT_NE(audit.find("\"job_id\":" + std::to_string(job)), std::string::npos) << audit;
}

TEST_F(QueueCluster, OverQuotaWaitsWithAReasonAndStartsWhenQuotaFrees) {
  std::string dir = MakeJobDir("quotad-overquota");
  // globex fills its nominal 4 GPUs, so it lends acme nothing; acme fills its own 4.
  long bob = Submit("bob", {"-A", "globex", "-p", "gpu", "--gres=gpu:4", "-o", dir + "/b.txt"},
                    "#!/bin/bash\nsleep 60\n");
  ASSERT_TRUE(WaitUntil(bob, Running, 30));
  long first = Submit("alice", {"-A", "acme", "-p", "gpu", "--gres=gpu:4", "-o", dir + "/a1.txt"},
                      "#!/bin/bash\nsleep 6\n");
  ASSERT_TRUE(WaitUntil(first, Running, 30));
  long second = Submit("alice", {"-A", "acme", "-p", "gpu", "--gres=gpu:2", "-o", dir + "/a2.txt"},
                       "#!/bin/bash\necho second\n");
  // It waits, held, with quotad's reason where people look.
  std::string reason;
  ASSERT_TRUE(Eventually([&] {
    reason = Squeue(second, "%k");
    return reason.rfind("egret: acme:", 0) == 0;
  }, 10)) << reason;
  EXPECT_NE(reason.find("4/4 GPUs in use on gpu"), std::string::npos) << reason;
  EXPECT_NE(reason.find("position 1"), std::string::npos) << reason;
  EXPECT_EQ(GetJob(second)->state, "PENDING");
  EXPECT_EQ(GetJob(second)->fields["Priority"], "0");
  json why = EgretctlJson("alice", {"why", std::to_string(second)});
  EXPECT_EQ(why.value("state", ""), "queued") << why.dump();
  EXPECT_EQ("egret: " + why.value("reason", ""), reason);
  auto table = Egretctl("alice", {"why", std::to_string(second)});
  EXPECT_NE(table.out.find("queued (position 1)"), std::string::npos) << table.out;
  // bob may not read alice's job.
  auto other = Egretctl("bob", {"why", std::to_string(second)});
  EXPECT_NE(other.exit_code, 0);
  EXPECT_NE(other.err.find("belongs to another tenant"), std::string::npos) << other.err;
  // When the first job ends, the second starts by itself.
  EXPECT_EQ(WaitForJob(first, 30).state, "COMPLETED");
  EXPECT_EQ(WaitForJob(second, 30).state, "COMPLETED");
  EXPECT_EQ(ReadText(dir + "/a2.txt"), "second\n");
}

TEST_F(QueueCluster, ASpentBudgetIsDeniedWithItsReason) {
  std::string dir = MakeJobDir("quotad-budget");
  long job = Submit("alice", {"-A", "initech", "-p", "gpu", "--gres=gpu:1", "-t", "10", "-o", dir + "/out.txt"},
                    "#!/bin/bash\necho never\n");
  std::string reason;
  ASSERT_TRUE(Eventually([&] {
    reason = Squeue(job, "%k");
    return reason.rfind("egret: denied:", 0) == 0;
  }, 10)) << reason;
  EXPECT_NE(reason.find("budget"), std::string::npos) << reason;
  json why = EgretctlJson("alice", {"why", std::to_string(job)});
  EXPECT_EQ(why.value("state", ""), "denied") << why.dump();
  EXPECT_EQ(GetJob(job)->state, "PENDING");
}

TEST_F(QueueCluster, ALeaseWhoseJobEndedWhileQuotadWasDownIsChargedToTheRealEnd) {
  std::string dir = MakeJobDir("quotad-reconcile");
  long job = Submit("alice", {"-A", "acme", "-p", "gpu", "--gres=gpu:2", "-o", dir + "/out.txt"},
                    "#!/bin/bash\nsleep 4\n");
  ASSERT_TRUE(WaitUntil(job, Running, 30));
  // quotad learns the real start on its next pass.
  ASSERT_TRUE(Eventually([&] {
    json w = EgretctlJson("root", {"why", std::to_string(job)});
    return w.contains("lease") && !w["lease"]["start_at"].is_null();
  }, 10));
  ASSERT_TRUE(QuotadFixture("stop"));
  JobInfo done = WaitForJob(job, 30);
  ASSERT_EQ(done.state, "COMPLETED");
  ASSERT_TRUE(QuotadFixture("start"));
  json w;
  ASSERT_TRUE(Eventually([&] {
    w = EgretctlJson("root", {"why", std::to_string(job)});
    return w.value("state", "") == "finished";
  }, 10)) << w.dump();
  int64_t start = SlurmTime(done.fields["StartTime"]), end = SlurmTime(done.fields["EndTime"]);
  ASSERT_GT(end, start);
  EXPECT_EQ(w["lease"]["close_reason"], "reconciled");
  EXPECT_DOUBLE_EQ(w["lease"]["closed_at"].get<double>(), static_cast<double>(end));
  // 2 GPUs x weight 1.0 x (end - start), to the second Slurm reports.
  EXPECT_NEAR(w["lease"]["charged_units"].get<double>(), 2.0 * static_cast<double>(end - start), 1e-6)
      << w.dump();
}

TEST_F(QueueCluster, ABorrowedJobIsSignalledRequeuedAndHeldWhenTheLenderNeedsItsQuota) {
  std::string dir = MakeJobDir("quotad-preempt");
  long nominal = Submit("alice", {"-A", "acme", "-p", "gpu", "--gres=gpu:4", "-o", dir + "/a1.txt"},
                        "#!/bin/bash\nsleep 120\n");
  ASSERT_TRUE(WaitUntil(nominal, Running, 30));
  // The borrowed job checkpoints on SIGUSR1 (here: says so) and keeps running.
  long borrowed = Submit("alice", {"-A", "acme", "-p", "gpu", "--gres=gpu:2", "--open-mode=append",
                                   "-o", dir + "/a2.txt"},
                         "#!/bin/bash\ntrap 'echo checkpoint on USR1' USR1\necho started\n"
                         "for i in $(seq 600); do sleep 0.2; done\n");
  ASSERT_TRUE(WaitUntil(borrowed, Running, 30));
  json w = EgretctlJson("root", {"why", std::to_string(borrowed)});
  ASSERT_EQ(w["lease"].value("state", ""), "borrowed") << w.dump();
  // globex asks for its nominal 4: only 2 GPUs are free, the other 2 are lent to acme.
  long lender = Submit("bob", {"-A", "globex", "-p", "gpu", "--gres=gpu:4", "-o", dir + "/b.txt"},
                       "#!/bin/bash\necho lender\nsleep 2\n");
  ASSERT_TRUE(Eventually([&] { return ReadText(dir + "/a2.txt").find("checkpoint on USR1") != std::string::npos; }, 20))
      << ReadText(dir + "/a2.txt");
  // After the grace period (3 s in the fixture) it is requeued and held again; the lender runs.
  ASSERT_TRUE(WaitUntil(lender, Started, 40));
  auto requeued = GetJob(borrowed);
  ASSERT_TRUE(requeued);
  EXPECT_EQ(requeued->state, "PENDING");
  EXPECT_EQ(requeued->fields["Restarts"], "1");
  EXPECT_EQ(requeued->fields["Priority"], "0");
  EXPECT_EQ(GetJob(nominal)->state, "RUNNING") << "the job within nominal quota is never preempted";
  std::string audit = ReadText(egret::testing::ClusterDir() + "/quotad/audit.jsonl");
  EXPECT_NE(audit.find("\"event\":\"preempt_signal\""), std::string::npos) << audit;
  EXPECT_NE(audit.find("\"event\":\"preempt_requeue\""), std::string::npos) << audit;
  // Back in quotad's queue (or already readmitted) by its next pass, and never reported as
  // running without a lease on the way.
  json closed;
  EXPECT_TRUE(Eventually([&] {
    closed = EgretctlJson("root", {"why", std::to_string(borrowed)});
    return closed.value("state", "") == "queued" || closed.value("state", "") == "running";
  }, 10)) << closed.dump();
  for (const auto& line : Split(ReadText(egret::testing::ClusterDir() + "/quotad/audit.jsonl"), '\n', true)) {
    json e = json::parse(line, nullptr, false);
    if (e.is_object() && e.value("event", "") == "unleased") {
      EXPECT_NE(e.value("job_id", 0L), borrowed) << "the requeued job was reported as running without a lease";
    }
  }
  EXPECT_EQ(WaitForJob(lender, 40).state, "COMPLETED");
  EXPECT_EQ(ReadText(dir + "/b.txt"), "lender\n");
}

}  // namespace
}  // namespace egret::quotad
