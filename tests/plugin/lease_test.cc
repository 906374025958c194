// Admission leases on the managed partition (gpu): a job runs only with the lease egret-quotad
// granted when it released the held job; a job over its tenant's quota waits, held, with a
// readable reason, and starts by itself once quota frees up; a job released by hand is
// refused at step start. Leases are released, and usage charged for exactly the time the job
// ran (elapsed x GPUs, within 1 s), after a normal exit, scancel, the time limit, and a
// SIGKILLed slurmstepd (then by egret-quotad's reconciliation with slurmctld).
#include <signal.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "common/strings.h"
#include "tests/plugin/plugin_cluster.h"

namespace egret::testing {
namespace {

using nlohmann::json;

class Lease : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = RunningPluginConfig();
    ASSERT_TRUE(c.ok()) << c.error().message();
    cfg_ = *c;
    auto v = QuotadView("leases");
    ASSERT_TRUE(v.ok()) << "egret-quotad must run for these tests: " << v.error().message();
    SeedTenant(cfg_, "acme");
    dir_ = MakeJobDir("plugin-lease-" + std::string(
        ::testing::UnitTest::GetInstance()->current_test_info()->name()));
  }
  void TearDown() override {
    for (long id : cleanup_) (void)RunProcess({"scancel", std::to_string(id)});
    for (long id : cleanup_) WaitForJob(id, 30);
  }

  Submission Gpu(const std::string& gres, const std::string& script,
                 std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"-A", "acme", "-p", "gpu", "--gres=" + gres};
    args.insert(args.end(), extra.begin(), extra.end());
    Submission s = Submit("alice", args, script, dir_ + "/out-%j.txt");
    if (s.job_id > 0) cleanup_.push_back(s.job_id);
    return s;
  }
  std::string Output(long id) { return ReadText(dir_ + "/out-" + std::to_string(id) + ".txt"); }

  // Waits for the job's lease to be closed and checks what it was charged.
  void ExpectChargedForElapsed(long id, int gpus, const std::string& how) {
    json why;
    bool closed = false;
    for (int i = 0; i < 300 && !closed; ++i) {
      auto v = QuotadView("why:" + std::to_string(id));
      if (v.ok()) {
        why = *v;
        closed = why.value("state", "") == "finished";
      }
      if (!closed) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ASSERT_TRUE(closed) << how << ": lease of job " << id << " still open: " << why.dump();
    auto job = GetJob(id);
    ASSERT_TRUE(job);
    int64_t start = SlurmTime(job->fields["StartTime"]), end = SlurmTime(job->fields["EndTime"]);
    ASSERT_GT(start, 0);
    ASSERT_GE(end, start);
    const json& lease = why["lease"];
    EXPECT_EQ(lease.value("gpus", -1), gpus);
    double weight = lease.value("weight", 1.0);
    double charged_s = lease.value("charged_units", -1.0) / (gpus * weight);
    EXPECT_NEAR(charged_s, static_cast<double>(end - start), 1.0)
        << how << ": job " << id << " ran " << start << ".." << end << ", lease " << lease.dump();
  }

  // The epilog removes the job's private /tmp and /dev/shm however the job ended.
  void ExpectPrivateDirsGone(long id, const std::string& how) {
    bool gone = false;
    for (int i = 0; i < 100 && !gone; ++i) {
      gone = JobDirsOf(cfg_.job_root, id).empty() && JobDirsOf(cfg_.shm_root, id).empty();
      if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_TRUE(gone) << how << ": job " << id << "'s private directories are still there";
  }

  plugin::Config cfg_;
  std::string dir_;
  std::vector<long> cleanup_;
};

TEST_F(Lease, GpuJobRunsWithItsLeaseAndIsChargedAfterANormalExit) {
  Submission s = Gpu("gpu:2", "#!/bin/bash\necho \"tenant=$EGRET_TENANT\"\n"
                              "echo \"list=$(ls -A " + cfg_.tenants_root + " | tr '\\n' ' ')\"\n"
                              "sleep 2\n");
  ASSERT_GT(s.job_id, 0) << s.err;
  JobInfo j = WaitForJob(s.job_id, 60);
  ASSERT_EQ(j.state, "COMPLETED") << Output(s.job_id);
  EXPECT_NE(Output(s.job_id).find("tenant=acme\nlist=acme \n"), std::string::npos) << Output(s.job_id);
  ExpectChargedForElapsed(s.job_id, 2, "normal exit");
  ExpectPrivateDirsGone(s.job_id, "normal exit");
}

TEST_F(Lease, ReleasedAfterScancel) {
  Submission s = Gpu("gpu:1", "#!/bin/bash\nsleep 120\n");
  ASSERT_GT(s.job_id, 0) << s.err;
  ASSERT_TRUE(WaitFor(s.job_id, [](const JobInfo& j) { return j.state == "RUNNING"; }, 30));
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  ASSERT_TRUE(RunProcess({"scancel", std::to_string(s.job_id)}).ok());
  EXPECT_EQ(WaitForJob(s.job_id, 30).state, "CANCELLED");
  ExpectChargedForElapsed(s.job_id, 1, "scancel");
  ExpectPrivateDirsGone(s.job_id, "scancel");
}

TEST_F(Lease, ReleasedAtTheTimeLimit) {
  Submission s = Gpu("gpu:1", "#!/bin/bash\nsleep 300\n", {"-t", "5"});
  ASSERT_GT(s.job_id, 0) << s.err;
  ASSERT_TRUE(WaitFor(s.job_id, [](const JobInfo& j) { return j.state == "RUNNING"; }, 30));
  // Bring the limit to now; slurmctld's periodic check (<= 30 s) then ends the job.
  ASSERT_EQ(RunProcess({"scontrol", "update", "jobid=" + std::to_string(s.job_id), "EndTime=now"})
                ->exit_code, 0);
  EXPECT_EQ(WaitForJob(s.job_id, 60).state, "TIMEOUT");
  ExpectChargedForElapsed(s.job_id, 1, "time limit");
  ExpectPrivateDirsGone(s.job_id, "time limit");
}

TEST_F(Lease, KilledSlurmstepdIsReconciledByQuotad) {
  Submission s = Gpu("gpu:1", "#!/bin/bash\nsleep 300\n");
  ASSERT_GT(s.job_id, 0) << s.err;
  ASSERT_TRUE(WaitFor(s.job_id, [](const JobInfo& j) { return j.state == "RUNNING"; }, 30));
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  // With egret-quotad down, the epilog cannot release the lease: only reconciliation can.
  ASSERT_TRUE(StopQuotad());
  auto pid = RunProcess({"pgrep", "-f", "slurmstepd: \\[" + std::to_string(s.job_id) + ".batch\\]"});
  ASSERT_TRUE(pid.ok() && pid->exit_code == 0) << "no slurmstepd for job " << s.job_id;
  for (const auto& p : Split(pid->out, '\n', true)) ::kill(std::stoi(p), SIGKILL);
  ASSERT_TRUE(RunProcess({"scancel", std::to_string(s.job_id)}).ok());
  JobInfo j = WaitForJob(s.job_id, 60);
  EXPECT_EQ(j.state, "CANCELLED");
  ASSERT_TRUE(StartQuotad());
  ExpectChargedForElapsed(s.job_id, 1, "slurmstepd killed");
  ExpectPrivateDirsGone(s.job_id, "slurmstepd killed");
  for (const auto& st : NodeStates()) EXPECT_EQ(st.find("drain"), std::string::npos) << st;
}

TEST_F(Lease, OverQuotaWaitsHeldWithAReasonAndStartsWhenQuotaFrees) {
  // acme: nominal 4 GPUs, and its cohort lends at most 2 more: 4 + 4 never fit at once.
  Submission a = Gpu("gpu:4", "#!/bin/bash\nsleep 120\n");
  ASSERT_GT(a.job_id, 0) << a.err;
  ASSERT_TRUE(WaitFor(a.job_id, [](const JobInfo& j) { return j.state == "RUNNING"; }, 30));
  Submission b = Gpu("gpu:4", "#!/bin/bash\necho ran\n");
  ASSERT_GT(b.job_id, 0) << b.err;
  ASSERT_TRUE(WaitFor(b.job_id, [](const JobInfo& j) {
    return j.fields.count("Comment") && j.fields.at("Comment").rfind("egret:", 0) == 0;
  }, 15));
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));  // a few scheduler passes
  auto held = GetJob(b.job_id);
  ASSERT_TRUE(held);
  EXPECT_EQ(held->state, "PENDING");
  auto why = QuotadView("why:" + std::to_string(b.job_id));
  ASSERT_TRUE(why.ok()) << why.error().message();
  EXPECT_EQ(why->value("state", ""), "queued") << why->dump();
  std::string reason = why->value("reason", "");
  EXPECT_NE(reason.find("acme"), std::string::npos) << reason;
  EXPECT_NE(reason.find("gpu"), std::string::npos) << reason;
  // squeue shows the same reason in the job's comment.
  auto sq = RunProcess({"squeue", "-h", "-j", std::to_string(b.job_id), "-o", "%k"});
  ASSERT_TRUE(sq.ok());
  EXPECT_NE(sq->out.find(reason.substr(0, 20)), std::string::npos) << sq->out << " vs " << reason;

  ASSERT_TRUE(RunProcess({"scancel", std::to_string(a.job_id)}).ok());
  JobInfo done = WaitForJob(b.job_id, 60);
  EXPECT_EQ(done.state, "COMPLETED") << Output(b.job_id);
  EXPECT_EQ(Output(b.job_id), "ran\n");
}

// Array tasks (a jobspec sweep) share one held record at submission; egret-quotad splits them
// off and admits each under its own job id, the id egret.so checks at step start, so every
// task runs and is charged on its own lease. A later submission --begin'ning in the future
// and one with an unmet dependency hold no lease (no quota) until they may start.
TEST_F(Lease, EveryTaskOfAnArrayRunsAndIsChargedUnderALeaseOfItsOwn) {
  Submission s = Gpu("gpu:1", "#!/bin/bash\necho \"task $SLURM_ARRAY_TASK_ID of $SLURM_ARRAY_JOB_ID\"\nsleep 1\n",
                     {"--array=0-2", "-o", dir_ + "/array-%a.txt"});
  ASSERT_GT(s.job_id, 0) << s.err;
  const std::string array = std::to_string(s.job_id);
  ASSERT_TRUE(Eventually([&] {
    auto q = RunProcess({"squeue", "-h", "-j", array});
    return q.ok() && Trim(q->out).empty();
  }, 120)) << "array " << array << " still queued";
  // Every task's record: its own job id, COMPLETED.
  auto show = RunProcess({"scontrol", "-o", "show", "job", array});
  ASSERT_TRUE(show.ok() && show->exit_code == 0);
  std::set<std::string> tasks;
  for (const auto& line : Split(show->out, '\n', true)) {
    std::map<std::string, std::string> f;
    for (const auto& kv : Split(line, ' ', true))
      if (auto eq = kv.find('='); eq != std::string::npos) f[kv.substr(0, eq)] = kv.substr(eq + 1);
    EXPECT_EQ(f["JobState"], "COMPLETED") << line;
    tasks.insert(f["ArrayTaskId"]);
    cleanup_.push_back(std::stol(f["JobId"]));
    ExpectChargedForElapsed(std::stol(f["JobId"]), 1, "array task " + f["ArrayTaskId"]);
  }
  EXPECT_EQ(tasks, (std::set<std::string>{"0", "1", "2"}));
  for (int t = 0; t < 3; ++t)
    EXPECT_EQ(ReadText(dir_ + "/array-" + std::to_string(t) + ".txt"),
              "task " + std::to_string(t) + " of " + array + "\n");
}

TEST_F(Lease, JobsWaitingForTheirBeginTimeOrADependencyHoldNoLease) {
  Submission later = Gpu("gpu:1", "#!/bin/bash\ntrue\n", {"--begin=now+1hour"});
  ASSERT_GT(later.job_id, 0) << later.err;
  Submission first = Gpu("gpu:1", "#!/bin/bash\nsleep 3\n");
  ASSERT_GT(first.job_id, 0) << first.err;
  Submission after = Gpu("gpu:1", "#!/bin/bash\necho after\n", {"--dependency=afterok:" + std::to_string(first.job_id)});
  ASSERT_GT(after.job_id, 0) << after.err;
  ASSERT_TRUE(WaitFor(first.job_id, [](const JobInfo& j) { return j.state == "RUNNING"; }, 30));
  auto why_later = QuotadView("why:" + std::to_string(later.job_id));
  ASSERT_TRUE(why_later.ok()) << why_later.error().message();
  EXPECT_EQ(why_later->value("state", ""), "queued") << why_later->dump();
  EXPECT_NE(why_later->value("reason", "").find("begin time"), std::string::npos) << why_later->dump();
  auto why_after = QuotadView("why:" + std::to_string(after.job_id));
  ASSERT_TRUE(why_after.ok()) << why_after.error().message();
  EXPECT_NE(why_after->value("reason", "").find("dependency"), std::string::npos) << why_after->dump();
  // Once its dependency is met, it is admitted and runs.
  JobInfo done = WaitForJob(after.job_id, 120);  // slurmctld re-tests a held job's dependency every so often
  EXPECT_EQ(done.state, "COMPLETED") << Output(after.job_id);
  EXPECT_EQ(Output(after.job_id), "after\n");
  EXPECT_EQ(GetJob(later.job_id)->state, "PENDING");
}

TEST_F(Lease, JobReleasedByHandIsRefusedAtStepStart) {
  Submission a = Gpu("gpu:4", "#!/bin/bash\nsleep 120\n");
  ASSERT_GT(a.job_id, 0) << a.err;
  ASSERT_TRUE(WaitFor(a.job_id, [](const JobInfo& j) { return j.state == "RUNNING"; }, 30));
  Submission b = Gpu("gpu:4", "#!/bin/bash\necho must-not-run\n");
  ASSERT_GT(b.job_id, 0) << b.err;
  ASSERT_TRUE(WaitFor(b.job_id, [](const JobInfo& j) {
    return j.fields.count("Comment") && j.fields.at("Comment").rfind("egret:", 0) == 0;
  }, 15));
  // An admin releases it around egret-quotad.
  ASSERT_EQ(RunProcess({"scontrol", "release", std::to_string(b.job_id)})->exit_code, 0);
  JobInfo j = WaitForJob(b.job_id, 60);
  EXPECT_EQ(j.state, "FAILED");
  std::string out = Output(b.job_id);
  EXPECT_EQ(out.find("must-not-run"), std::string::npos) << out;
  std::string id = std::to_string(b.job_id);
  std::string line = "egret: job " + id + " holds no admission lease: it was not released by "
                     "egret-quotad; job " + id + " not started";
  // egret-quotad may not yet have seen the release when the step asks: then the job is
  // still in its queue, and it says so.
  std::string queued = "egret: job " + id + " holds no admission lease: it waits for egret-quotad (";
  EXPECT_TRUE(out.find(line) != std::string::npos || out.find(queued) != std::string::npos) << out;
  for (const auto& st : NodeStates()) EXPECT_EQ(st.find("drain"), std::string::npos) << st;
}

TEST_F(Lease, QuotadStoppedFailsJobsClosedAndLeavesNodesUp) {
  // A running leased job whose second step starts after egret-quotad stopped, and a job
  // that passed its submit check but starts only afterwards.
  std::string flag = dir_ + "/go";
  Submission x = Gpu("gpu:1", "#!/bin/bash\nwhile [ ! -e " + flag + " ]; do sleep 0.1; done\n"
                              "srun -n1 true\necho \"step_rc=$?\"\n");
  ASSERT_GT(x.job_id, 0) << x.err;
  ASSERT_TRUE(WaitFor(x.job_id, [](const JobInfo& j) { return j.state == "RUNNING"; }, 30));
  Submission h = Submit("alice", {"-A", "acme", "-p", "cpu", "--hold"}, "#!/bin/bash\necho ran\n",
                        dir_ + "/out-%j.txt");
  ASSERT_GT(h.job_id, 0) << h.err;
  cleanup_.push_back(h.job_id);

  ASSERT_TRUE(StopQuotad());
  bool socket_left = std::filesystem::exists(cfg_.socket);
  std::string cause = "cannot connect to egret-quotad at " + cfg_.socket + ": " +
                      (socket_left ? "connection refused (the daemon is not running)"
                                   : "no such socket (the daemon is not running, or the path is wrong)");
  // Submission: refused on the terminal.
  Submission refused = Submit("alice", {"-A", "acme", "-p", "gpu", "--gres=gpu:1"},
                              "#!/bin/bash\ntrue\n", dir_ + "/refused.txt");
  EXPECT_EQ(refused.job_id, -1);
  EXPECT_NE(refused.err.find("sbatch: error: egret: " + cause + "; job not submitted\n"),
            std::string::npos) << refused.err;
  // A job starting now: FAILED, with the reason in its output.
  ASSERT_EQ(RunProcess({"scontrol", "release", std::to_string(h.job_id)})->exit_code, 0);
  EXPECT_EQ(WaitForJob(h.job_id, 30).state, "FAILED");
  std::string hid = std::to_string(h.job_id);
  EXPECT_NE(Output(h.job_id).find("egret: " + cause + "; job " + hid + " not started"),
            std::string::npos) << Output(h.job_id);
  EXPECT_EQ(Output(h.job_id).find("ran"), std::string::npos);
  // A new step of the running job: refused too.
  ASSERT_TRUE(RunProcess({"touch", flag}).ok());
  JobInfo xj = WaitForJob(x.job_id, 30);
  std::string xid = std::to_string(x.job_id);
  std::string xo = Output(x.job_id);
  EXPECT_NE(xo.find("egret: " + cause + "; job " + xid + " not started"), std::string::npos) << xo;
  EXPECT_EQ(xo.find("step_rc=0"), std::string::npos) << xo;
  ASSERT_TRUE(StartQuotad());
  // Nodes stay in service.
  for (const auto& st : NodeStates()) EXPECT_EQ(st.find("drain"), std::string::npos) << st;
}

}  // namespace
}  // namespace egret::testing
