// The queue manager's logic against a fake slurmctld (plain data; the real libslurm adapter is
// exercised by queue_cluster_test on the cluster): leases are on disk before a job is released,
// waiting jobs get their reason once, user holds become admin holds, reconciliation charges to
// the real end, and reclaim signals, waits the grace period, then requeues.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "scheduler/daemon/engine.h"
#include "scheduler/ledger/ledger.h"
#include "scheduler/slurm/queue_manager.h"
#include "tests/quotad/test_config.h"

namespace egret::quotad {
namespace {

constexpr int64_t kT0 = testing::kDayStartMs + 3'600'000;

class FakeSlurm : public SlurmApi {
 public:
  std::map<uint32_t, SlurmJob> jobs;
  bool down = false;
  std::vector<std::string> calls;
  std::function<void(uint32_t)> on_release;  // runs when a job is released

  Result<std::vector<SlurmJob>> LoadJobs() override {
    if (down) return Error("slurm_load_jobs: Unable to contact slurm controller");
    std::vector<SlurmJob> v;
    for (auto& [id, j] : jobs) v.push_back(j);
    return v;
  }
  Status SetPriority(uint32_t id, uint32_t prio, const std::string& comment) override {
    calls.push_back("priority " + std::to_string(id) + " " + std::to_string(prio));
    if (!jobs.count(id)) return Error("Invalid job id specified");
    if (prio > 0 && on_release) on_release(id);
    jobs[id].priority = prio;
    jobs[id].user_hold = false;
    if (!comment.empty()) jobs[id].comment = comment;
    return Ok();
  }
  Status SetComment(uint32_t id, const std::string& comment) override {
    calls.push_back("comment " + std::to_string(id));
    jobs[id].comment = comment;
    return Ok();
  }
  Status AdminHold(uint32_t id, const std::string& comment) override {
    calls.push_back("adminhold " + std::to_string(id));
    jobs[id].priority = 0;
    jobs[id].user_hold = false;
    if (!comment.empty()) jobs[id].comment = comment;
    return Ok();
  }
  Status Signal(uint32_t id, int sig, bool) override {
    calls.push_back("signal " + std::to_string(id) + " " + std::to_string(sig));
    return Ok();
  }
  Status Requeue(uint32_t id) override {
    calls.push_back("requeue " + std::to_string(id));
    SlurmJob& j = jobs[id];
    j.state = JobState::kPending;
    j.priority = 0;
    j.restart_cnt++;
    return Ok();
  }
  // As slurmctld does: the task gets a record (and id) of its own, copied from the array's.
  Status SplitArrayTask(uint32_t array, uint32_t task, const std::string& comment) override {
    calls.push_back("split " + std::to_string(array) + "_" + std::to_string(task));
    SlurmJob& meta = jobs.at(array);
    auto ids = ArrayTaskIds(meta.array_tasks);
    std::string rest;
    for (uint32_t t : ids)
      if (t != task) rest += (rest.empty() ? "" : ",") + std::to_string(t);
    SlurmJob copy = meta;
    copy.job_id = next_id++;
    copy.array_tasks.clear();
    copy.priority = 0;
    copy.user_hold = false;
    copy.comment = comment;
    meta.array_tasks = rest;
    jobs[copy.job_id] = copy;
    return Ok();
  }
  uint32_t next_id = 1000;
  int Count(const std::string& prefix) const {
    int n = 0;
    for (const auto& c : calls) n += c.rfind(prefix, 0) == 0;
    return n;
  }

  SlurmJob& Submit(uint32_t id, const std::string& account, int gpus, int64_t submit_s) {
    SlurmJob j;
    j.job_id = id;
    j.account = account;
    j.user = account == "acme" ? "alice" : "bob";
    j.partition = "gpu";
    j.gpus = gpus;
    j.priority = 0;
    j.user_hold = true;
    j.admin_comment = kHeldMarker;
    j.submit_time = submit_s;
    j.state = JobState::kPending;
    j.state_name = "PENDING";
    return jobs[id] = j;
  }
  void Start(uint32_t id, int64_t at_s) {
    jobs[id].state = JobState::kRunning;
    jobs[id].state_name = "RUNNING";
    jobs[id].start_time = at_s;
  }
  void Finish(uint32_t id, int64_t at_s) {
    jobs[id].state = JobState::kFinished;
    jobs[id].state_name = "COMPLETED";
    jobs[id].end_time = at_s;
  }
};

using json = nlohmann::json;

class QueueManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/qm-" + std::to_string(::getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    auto ledger = Ledger::Open(dir_ + "/ledger.sqlite");
    ASSERT_TRUE(ledger.ok());
    auto snap = (*ledger)->Load();
    auto audit = AuditLog::Open(dir_ + "/audit.jsonl");
    ASSERT_TRUE(audit.ok());
    audit_ = std::move(*audit);
    engine_ = std::make_unique<Engine>(testing::ParseOrDie(testing::kUnitConfig), std::move(*ledger), *snap,
                                       audit_.get(), &registry_, [this] { return now_; },
                                       [](const Error& e) { ADD_FAILURE() << e.message(); });
    QueueManagerOptions o;
    o.preempt_grace_s = 30;
    qm_ = std::make_unique<QueueManager>(engine_.get(), &slurm_, o);
  }
  int64_t Sec() const { return now_ / 1000; }
  json Why(uint32_t job) {
    return engine_->Read([&](const QuotaState& s) {
      for (const QueueEntry& q : s.queue())
        if (q.job_id == job) return json{{"reason", q.reason}, {"position", q.position}, {"denied", q.denied}};
      return json();
    });
  }
  std::string dir_;
  int64_t now_ = kT0;
  metrics::Registry registry_;
  std::unique_ptr<AuditLog> audit_;
  std::unique_ptr<Engine> engine_;
  FakeSlurm slurm_;
  std::unique_ptr<QueueManager> qm_;
};

TEST_F(QueueManagerTest, TheLeaseIsOnDiskBeforeTheJobIsReleased) {
  slurm_.Submit(1, "acme", 2, Sec());
  int checked = 0;
  slurm_.on_release = [&](uint32_t id) {
    // Read the ledger file through another connection, as a restarted daemon would.
    auto l = Ledger::Open(dir_ + "/ledger.sqlite");
    ASSERT_TRUE(l.ok());
    auto snap = (*l)->Load();
    ASSERT_TRUE(snap.ok());
    ASSERT_EQ(snap->open.size(), 1u);
    EXPECT_EQ(snap->open[0].job_id, id);
    EXPECT_EQ(snap->open[0].gpus, 2);
    ++checked;
  };
  PassReport r = qm_->RunPass();
  EXPECT_EQ(r.admitted, 1);
  EXPECT_EQ(checked, 1);
  EXPECT_GT(slurm_.jobs[1].priority, 0u);
  EXPECT_EQ(slurm_.jobs[1].comment, "egret: admitted (granted)");
}

TEST_F(QueueManagerTest, ReleasesInFairshareOrderAndExplainsTheRest) {
  // acme has used a lot lately; globex nothing. Both ask for the whole free partition.
  auto used = engine_->MutateSync([&](QuotaState& s, std::vector<LedgerOp>* ops) {
    AcquireRequest r{900, "acme", "gpu", 8, 0, /*decided=*/true, false};
    (void)s.Acquire(r, now_ - 3'600'000, ops);
    s.Release(900, now_ - 60'000, "released", now_, ops);
    return 0;
  });
  ASSERT_TRUE(used.ok());
  slurm_.Submit(1, "acme", 4, Sec() - 100);   // older
  slurm_.Submit(2, "globex", 4, Sec() - 50);
  slurm_.Submit(3, "acme", 4, Sec() - 40);
  slurm_.Submit(4, "globex", 2, Sec() - 30);
  qm_->RunPass();
  // Capacity 8: globex (higher factor) first, then acme; the rest wait with reasons.
  EXPECT_GT(slurm_.jobs[2].priority, 0u);
  EXPECT_GT(slurm_.jobs[1].priority, 0u);
  EXPECT_GT(slurm_.jobs[2].priority, slurm_.jobs[1].priority) << "priority follows the fairshare factor";
  EXPECT_EQ(slurm_.jobs[3].priority, 0u);
  EXPECT_EQ(slurm_.jobs[4].priority, 0u);
  json why3 = Why(3);
  ASSERT_TRUE(why3.is_object());
  EXPECT_EQ(slurm_.jobs[3].comment, "egret: " + why3["reason"].get<std::string>());
  EXPECT_NE(why3["reason"].get<std::string>().find("acme"), std::string::npos) << why3;
  // Waiting jobs' user holds became admin holds, with the reason, in one call each.
  EXPECT_EQ(slurm_.Count("adminhold 3"), 1);
  EXPECT_EQ(slurm_.Count("adminhold 4"), 1);
  // The next pass renumbers the queue (the admitted jobs left it); after that, passes with
  // nothing new change nothing in Slurm.
  qm_->RunPass();
  EXPECT_NE(slurm_.jobs[4].comment.find("position 1"), std::string::npos) << slurm_.jobs[4].comment;
  size_t calls = slurm_.calls.size();
  qm_->RunPass();
  std::string extra;
  for (size_t i = calls; i < slurm_.calls.size(); ++i) extra += slurm_.calls[i] + "; ";
  EXPECT_EQ(slurm_.calls.size(), calls) << "reasons are written only when they change: " << extra;
}

TEST(ArrayTaskIds, RangesStepsListsAndTheThrottle) {
  EXPECT_EQ(ArrayTaskIds("0-3"), (std::vector<uint32_t>{0, 1, 2, 3}));
  EXPECT_EQ(ArrayTaskIds("1,3-5%2"), (std::vector<uint32_t>{1, 3, 4, 5}));
  EXPECT_EQ(ArrayTaskIds("0-10:5"), (std::vector<uint32_t>{0, 5, 10}));
  EXPECT_EQ(ArrayTaskIds("7"), (std::vector<uint32_t>{7}));
  EXPECT_EQ(ArrayTaskIds("0-999", 4), (std::vector<uint32_t>{0, 1, 2, 3}));
  EXPECT_TRUE(ArrayTaskIds("3-1").empty());
  EXPECT_TRUE(ArrayTaskIds("a-b").empty());
  EXPECT_TRUE(ArrayTaskIds("0-4:0").empty());
}

TEST_F(QueueManagerTest, AnArraysTasksAreSplitOffThenAdmittedEachUnderItsOwnId) {
  // A sweep of 3 tasks, 2 GPUs each: acme's quota (4 nominal + borrowing) decides per task.
  SlurmJob& meta = slurm_.Submit(50, "acme", 2, Sec());
  meta.array_job_id = 50;
  meta.array_tasks = "0-2";
  PassReport r = qm_->RunPass();
  EXPECT_EQ(r.admitted, 0) << "the array's shared record is never leased";
  EXPECT_EQ(slurm_.Count("split 50_"), 2);
  EXPECT_EQ(slurm_.jobs[50].array_tasks, "0");
  EXPECT_NE(Why(50)["reason"].get<std::string>().find("split off"), std::string::npos) << Why(50);
  EXPECT_EQ(Why(50)["denied"], false);
  r = qm_->RunPass();
  EXPECT_EQ(r.admitted, 3);
  auto leased = engine_->Read([&](const QuotaState& s) {
    return std::vector<bool>{s.OpenLease(50) != nullptr, s.OpenLease(1000) != nullptr, s.OpenLease(1001) != nullptr};
  });
  EXPECT_EQ(leased, (std::vector<bool>{true, true, true}));
  EXPECT_EQ(slurm_.Count("split"), 2) << "split once";
}

TEST_F(QueueManagerTest, JobsWaitingForADependencyOrTheirBeginTimeHoldNoQuota) {
  SlurmJob& dep = slurm_.Submit(1, "acme", 2, Sec());
  dep.dependency = "afterok:7(unfulfilled)";
  SlurmJob& later = slurm_.Submit(2, "acme", 2, Sec());
  later.begin_time = Sec() + 600;
  PassReport r = qm_->RunPass();
  EXPECT_EQ(r.admitted, 0);
  EXPECT_EQ(slurm_.jobs[1].comment, "egret: waits for its dependency afterok:7(unfulfilled)");
  EXPECT_NE(slurm_.jobs[2].comment.find("waits for its begin time"), std::string::npos) << slurm_.jobs[2].comment;
  EXPECT_EQ(Why(2)["denied"], false);
  slurm_.jobs[1].dependency.clear();
  r = qm_->RunPass();
  EXPECT_EQ(r.admitted, 1);
  EXPECT_GT(slurm_.jobs[1].priority, 0u);
  now_ += 601'000;
  r = qm_->RunPass();
  EXPECT_EQ(r.admitted, 1);
  EXPECT_GT(slurm_.jobs[2].priority, 0u);
}

TEST_F(QueueManagerTest, JobsOfUnknownTenantsOrDisallowedPartitionsAreDeniedWithReasons) {
  slurm_.Submit(1, "", 1, Sec());
  slurm_.Submit(2, "umbrella", 1, Sec());
  qm_->RunPass();
  EXPECT_EQ(slurm_.jobs[1].comment, "egret: denied: no tenant: the job has no account (submit with -A TENANT)");
  EXPECT_EQ(slurm_.jobs[2].comment, "egret: denied: unknown tenant \"umbrella\"");
  EXPECT_EQ(slurm_.jobs[1].priority, 0u);
}

TEST_F(QueueManagerTest, ReconcilesLeasesWithWhatSlurmReports) {
  slurm_.Submit(1, "acme", 2, Sec());
  slurm_.Submit(2, "acme", 1, Sec());
  slurm_.Submit(3, "globex", 1, Sec());
  qm_->RunPass();
  slurm_.Start(1, Sec() + 2);
  slurm_.Start(2, Sec() + 2);
  now_ += 5'000;
  qm_->RunPass();  // learns the starts
  // While quotad is "down", job 1 ends at +65 s and job 2 disappears altogether; job 3 is held
  // again before it ever started.
  now_ += 60'000;
  qm_->RunPass();  // last heartbeat of job 2 at +65 s
  slurm_.Finish(1, Sec());
  int64_t job1_end = Sec();
  slurm_.jobs.erase(2);
  slurm_.jobs[3].priority = 0;
  now_ += 600'000;
  qm_->RunPass();
  engine_->Read([&](const QuotaState& s) -> void {
    // Job 3, held again, was closed and (it fits) admitted anew; jobs 1 and 2 are gone.
    ASSERT_EQ(s.open_leases().size(), 1u);
    EXPECT_EQ(s.open_leases().begin()->first, 3u);
    const LeaseRecord* l1 = s.LastClosedLease(1);
    ASSERT_NE(l1, nullptr);
    EXPECT_EQ(l1->close_reason, "reconciled");
    EXPECT_EQ(l1->closed_ms, job1_end * 1000);
    EXPECT_DOUBLE_EQ(l1->charged_units, 2.0 * static_cast<double>(job1_end - (kT0 / 1000 + 2)));
    const LeaseRecord* l2 = s.LastClosedLease(2);
    ASSERT_NE(l2, nullptr);
    EXPECT_EQ(l2->closed_ms, kT0 + 65'000) << "a vanished job is charged to its last heartbeat";
    const LeaseRecord* l3 = s.LastClosedLease(3);
    ASSERT_NE(l3, nullptr);
    EXPECT_NE(l3->lease_id, s.OpenLease(3)->lease_id);
    EXPECT_EQ(l3->close_reason, "reconciled");
    EXPECT_DOUBLE_EQ(l3->charged_units, 0.0) << "held again before it started: nothing to charge";
  });
}

TEST_F(QueueManagerTest, ReclaimSignalsTheBorrowerThenRequeuesItAfterTheGracePeriod) {
  slurm_.Submit(1, "acme", 4, Sec());
  qm_->RunPass();
  slurm_.Start(1, Sec());
  slurm_.Submit(2, "acme", 2, Sec());  // beyond acme's nominal 4: borrowed from globex
  now_ += 1000;
  qm_->RunPass();
  slurm_.Start(2, Sec());
  ASSERT_TRUE(engine_->Read([](const QuotaState& s) { return s.OpenLease(2) && s.OpenLease(2)->borrowed; }));
  slurm_.Submit(3, "acme", 2, Sec());  // fills the partition with another borrow? no: limit
  slurm_.jobs.erase(3);
  // globex wants its nominal 4; only 2 GPUs are free.
  now_ += 1000;
  slurm_.Submit(4, "globex", 4, Sec());
  qm_->RunPass();
  EXPECT_EQ(slurm_.Count("signal 2 10"), 1) << "SIGUSR1 to the borrowed job";
  EXPECT_EQ(slurm_.Count("signal 1"), 0) << "the job within nominal quota is spared";
  EXPECT_EQ(slurm_.Count("requeue"), 0);
  now_ += 10'000;
  qm_->RunPass();
  EXPECT_EQ(slurm_.Count("requeue"), 0) << "not before the grace period";
  EXPECT_EQ(slurm_.Count("signal 2"), 1) << "signalled once";
  now_ += 25'000;
  PassReport requeue_pass = qm_->RunPass();
  EXPECT_EQ(slurm_.Count("requeue 2"), 1);
  // The pass's snapshot still shows the job running, its lease now closed: that is not a job
  // running without a lease.
  EXPECT_EQ(requeue_pass.unleased, 0);
  EXPECT_EQ(slurm_.jobs[2].comment.find("without an admission lease"), std::string::npos) << slurm_.jobs[2].comment;
  engine_->Read([&](const QuotaState& s) {
    EXPECT_EQ(s.OpenLease(2), nullptr);
    EXPECT_EQ(s.LastClosedLease(2)->close_reason, "preempted");
    return 0;
  });
  EXPECT_EQ(slurm_.jobs[2].state, JobState::kPending);
  EXPECT_EQ(slurm_.jobs[2].priority, 0u);
  // With the borrower gone, the lender's job is released on the next pass.
  now_ += 1000;
  qm_->RunPass();
  EXPECT_GT(slurm_.jobs[4].priority, 0u);
}

TEST_F(QueueManagerTest, AnUnreachableSlurmctldChangesNothing) {
  slurm_.Submit(1, "acme", 1, Sec());
  qm_->RunPass();
  slurm_.down = true;
  now_ += 3'600'000;
  PassReport r = qm_->RunPass();
  EXPECT_FALSE(r.slurm_ok);
  engine_->Read([](const QuotaState& s) {
    EXPECT_EQ(s.open_leases().size(), 1u) << "no lease is closed on a failed read";
    EXPECT_FALSE(s.slurm_reachable());
    return 0;
  });
  EXPECT_NE(registry_.Render().find("egret_quotad_slurm_reachable 0"), std::string::npos);
}

TEST_F(QueueManagerTest, JobsRunningWithoutALeaseAreReported) {
  slurm_.Submit(7, "acme", 1, Sec());
  slurm_.jobs[7].priority = 1000;  // released by hand
  slurm_.Start(7, Sec());
  PassReport r = qm_->RunPass();
  EXPECT_EQ(r.unleased, 1);
  EXPECT_EQ(slurm_.jobs[7].comment, "egret: running without an admission lease (released by hand?)");
  engine_->Read([](const QuotaState& s) {
    EXPECT_EQ(s.unleased().size(), 1u);
    return 0;
  });
}

}  // namespace
}  // namespace egret::quotad
