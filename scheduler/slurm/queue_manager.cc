#include "scheduler/slurm/queue_manager.h"

#include <algorithm>
#include <cstdio>

#include "common/strings.h"
#include "scheduler/core/charging.h"
#include "scheduler/core/submit_check.h"
#include "scheduler/daemon/log.h"
#include "scheduler/policy/schedule.h"

namespace egret::quotad {

namespace {
int64_t SecToMs(int64_t s) { return s * 1000; }

// Splits per pass: a huge array is split over a few passes rather than in one burst of RPCs.
constexpr size_t kMaxSplitsPerPass = 256;

// Why a held job is not yet for the policy to admit ("" when it is): an array whose tasks
// still share one record (their splits are queued on TO_SPLIT: each task is admitted and
// leased under its own job id, the id egret.so checks at step start), an unmet dependency,
// or a begin time in the future.
std::string NotYetEligible(const SlurmJob& j, int64_t now_ms, std::vector<std::pair<uint32_t, uint32_t>>& to_split) {
  if (!j.array_tasks.empty()) {
    std::vector<uint32_t> tasks = ArrayTaskIds(j.array_tasks, kMaxSplitsPerPass + 1);
    if (tasks.size() > 1) {
      // The first task stays in this record, which then is a job like any other.
      for (size_t k = 1; k < tasks.size(); ++k) to_split.emplace_back(j.array_job_id, tasks[k]);
      return "array tasks " + j.array_tasks + " are being split off, to be admitted one by one";
    }
  }
  if (!j.dependency.empty()) return "waits for its dependency " + j.dependency;
  if (j.begin_time > 0 && SecToMs(j.begin_time) > now_ms) return "waits for its begin time " + UtcTime(static_cast<double>(j.begin_time));
  return "";
}
}  // namespace

std::string FirstPartition(const std::string& list) {
  auto c = list.find(',');
  return c == std::string::npos ? list : list.substr(0, c);
}

QueueManager::QueueManager(Engine* engine, SlurmApi* slurm, QueueManagerOptions options)
    : engine_(engine), slurm_(slurm), options_(options) {}

QueueManager::~QueueManager() { Stop(); }

void QueueManager::Start() {
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> l(mu_);
    while (!stop_) {
      l.unlock();
      RunPass();
      l.lock();
      cv_.wait_for(l, std::chrono::duration<double>(options_.poll_interval_s), [&] { return stop_; });
    }
  });
}

void QueueManager::Stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void QueueManager::Log(const std::string& line) { LogLine(line); }

int QueueManager::Reconcile(const std::map<uint32_t, const SlurmJob*>& jobs, int64_t now_ms) {
  struct Event {
    std::string what;
    nlohmann::json fields;
  };
  std::vector<Event> events;
  auto done = engine_->MutateSync([&](QuotaState& s, std::vector<LedgerOp>* ops) {
    std::vector<uint32_t> to_close;
    for (const auto& [job_id, l] : s.open_leases()) {
      auto it = jobs.find(job_id);
      if (it == jobs.end()) {
        // A lease granted after the job list was read may be for a job submitted since.
        if (now_ms - l.granted_ms > 10'000) to_close.push_back(job_id);
        continue;
      }
      const SlurmJob& j = *it->second;
      if (j.state == JobState::kRunning || j.state == JobState::kSuspended) continue;
      if (j.state == JobState::kFinished) to_close.push_back(job_id);
      else if (j.priority == 0 && !preempting_.count(job_id)) to_close.push_back(job_id);  // held again
    }
    for (uint32_t job_id : to_close) {
      const LeaseRecord l = s.open_leases().at(job_id);
      auto it = jobs.find(job_id);
      int64_t end = l.heartbeat_ms;  // the job vanished: the last time it was seen alive
      std::string why = "job unknown to slurmctld";
      if (it != jobs.end()) {
        const SlurmJob& j = *it->second;
        if (j.state == JobState::kFinished) {
          // Charged to the real end slurmctld reports.
          end = j.end_time > 0 ? SecToMs(j.end_time) : l.heartbeat_ms;
          why = "job " + j.state_name;
        } else {
          // Held again while pending: requeued after it ran (charged to the requeue), or held
          // before it ever started (charged nothing).
          end = !l.started() ? l.granted_ms
                : j.end_time > 0 && SecToMs(j.end_time) <= now_ms ? SecToMs(j.end_time)
                                                                    : now_ms;
          why = l.started() ? "job requeued" : "job held again before it started";
        }
      }
      ReleaseResult r = s.Release(job_id, end, "reconciled", now_ms, ops);
      if (r.closed)
        events.push_back({"reconcile", {{"job_id", job_id}, {"tenant", l.tenant}, {"why", why},
                                        {"charged_units", r.units}, {"end_time", Seconds(end)}}});
    }
    // Live jobs: heartbeat, and learn the real start.
    for (const auto& [job_id, l] : std::map<uint32_t, LeaseRecord>(s.open_leases())) {
      auto it = jobs.find(job_id);
      if (it == jobs.end()) continue;
      const SlurmJob& j = *it->second;
      bool running = j.state == JobState::kRunning || j.state == JobState::kSuspended;
      s.Touch(job_id, now_ms, running && j.start_time > 0 ? SecToMs(j.start_time) : 0, ops);
    }
    // Leases that expired (or were closed before their job's end was known).
    for (const auto& [lease_id, l] : std::map<int64_t, LeaseRecord>(s.flagged())) {
      auto it = jobs.find(l.job_id);
      if (it == jobs.end()) {
        s.Reconcile(lease_id, 0, ops);
        events.push_back({"reconcile", {{"job_id", l.job_id}, {"tenant", l.tenant},
                                        {"why", "expired lease; job unknown to slurmctld"}}});
        continue;
      }
      const SlurmJob& j = *it->second;
      if (j.state == JobState::kRunning || j.state == JobState::kSuspended) {
        if (s.OpenLease(l.job_id)) continue;
        // Still running: charge up to now and give it its lease back, so its GPUs count.
        auto extra = s.Reconcile(lease_id, now_ms, ops);
        AcquireRequest req;
        req.job_id = l.job_id;
        req.tenant = l.tenant;
        req.partition = l.partition;
        req.gpus = l.gpus;
        req.time_limit_s = l.time_limit_s;
        req.decided = true;
        req.borrowed = l.borrowed;
        auto a = s.Acquire(req, now_ms, ops);
        events.push_back({"reconcile", {{"job_id", l.job_id}, {"tenant", l.tenant},
                                        {"why", "expired lease of a running job renewed"},
                                        {"charged_units", extra.value_or(0)}}});
        (void)a;
        continue;
      }
      int64_t end = j.end_time > 0 ? SecToMs(j.end_time) : 0;
      auto extra = s.Reconcile(lease_id, end, ops);
      events.push_back({"reconcile", {{"job_id", l.job_id}, {"tenant", l.tenant},
                                      {"why", "expired lease; job " + j.state_name},
                                      {"charged_units", extra.value_or(0)}}});
    }
    return 0;
  });
  if (!done.ok()) Log("reconciliation not recorded: " + done.error().message());
  double now_s = Seconds(now_ms);
  for (auto& e : events) engine_->audit()->Record(e.what, e.fields, now_s);
  engine_->Count("reconciled", events.size());
  return static_cast<int>(events.size());
}

PassReport QueueManager::RunPass() {
  PassReport report;
  auto loaded = slurm_->LoadJobs();
  int64_t now = engine_->NowMs();
  if (!loaded.ok()) {
    if (slurm_was_ok_) Log("cannot read jobs from slurmctld: " + loaded.error().message());
    slurm_was_ok_ = false;
    engine_->Mutate([](QuotaState& s, std::vector<LedgerOp>*) { s.SetSlurmReachable(false); return 0; }, {});
    return report;
  }
  if (!slurm_was_ok_) Log("slurmctld answers again");
  slurm_was_ok_ = true;
  report.slurm_ok = true;
  const std::vector<SlurmJob>& all = *loaded;
  std::map<uint32_t, const SlurmJob*> jobs;
  for (const SlurmJob& j : all) jobs[j.job_id] = &j;

  report.reconciled = Reconcile(jobs, now);
  // A job requeued just now still looks running in this pass's snapshot (and its lease is
  // closed): it is left for the next pass, not reported as running without a lease.
  std::set<uint32_t> settled;
  report.requeued = PreemptionStep(jobs, now, settled);

  // The held jobs the policy decides on, and the jobs it must not (with a reason).
  std::vector<UnleasedJob> unleased;
  std::vector<QueueEntry> entries;
  std::map<uint32_t, const SlurmJob*> pending_jobs;
  policy::State state;
  std::vector<std::pair<uint32_t, std::string>> rehold;
  std::vector<uint32_t> to_admin_hold;
  std::vector<std::pair<uint32_t, uint32_t>> to_split;  // (array job id, task)
  engine_->Read([&](const QuotaState& s) {
    state = s.PolicyState(now);
    for (const SlurmJob& j : all) {
      if (settled.count(j.job_id)) continue;
      std::string part = FirstPartition(j.partition);
      const config::Partition* p = s.config().FindPartition(part);
      if (!p || !p->managed) continue;
      bool live = j.state == JobState::kRunning || j.state == JobState::kSuspended;
      if (live && !s.OpenLease(j.job_id) && !j.completing) {
        unleased.push_back({j.job_id, j.account, part, j.gpus, j.user});
        continue;
      }
      if (j.state != JobState::kPending || s.OpenLease(j.job_id)) continue;
      // Only jobs job_submit.lua held are ours to release: an admin who wants a managed job
      // kept back holds it and changes its AdminComment.
      if (j.admin_comment != kHeldMarker) continue;
      if (j.priority != 0) {
        // Released without a lease: by hand (the plugin refuses it at step start), or
        // requeued by Slurm after we admitted it once (then it is ours to hold again).
        if (s.LastClosedLease(j.job_id)) rehold.emplace_back(j.job_id, j.account);
        else continue;
      } else if (j.user_hold) {
        // A hold made at submission is recorded as the user's; make it the admin's, which
        // the user cannot lift (job_submit.lua also refuses user releases meanwhile).
        to_admin_hold.push_back(j.job_id);
      }
      int t = s.TenantIndex(j.account), pi = s.PartitionIndex(part);
      QueueEntry e{j.job_id, j.account, part, j.user, j.gpus, SecToMs(j.submit_time), 0, true, ""};
      if (std::string why = NotYetEligible(j, now, to_split); !why.empty()) {
        // Not for the policy yet: admitting it would hold quota it cannot use.
        e.denied = false;
        e.reason = why;
        entries.push_back(e);
        continue;
      }
      if (j.account.empty()) {
        e.reason = "no tenant: the job has no account (submit with -A TENANT)";
      } else if (t < 0) {
        e.reason = "unknown tenant \"" + j.account + "\"";
      } else if (!s.spec().tenants[static_cast<size_t>(t)].allowed[static_cast<size_t>(pi)]) {
        e.reason = "tenant " + j.account + " may not use partition " + part;
      } else {
        policy::PendingJob pj;
        pj.id = j.job_id;
        pj.tenant = t;
        pj.partition = pi;
        pj.gpus = j.gpus;
        pj.submit = static_cast<double>(j.submit_time);
        pj.time_limit_s = j.time_limit_s;
        state.pending.push_back(pj);
        pending_jobs[j.job_id] = &j;
        continue;
      }
      entries.push_back(e);
    }
    return 0;
  });
  for (const auto& [array, task] : to_split) {
    Status st = slurm_->SplitArrayTask(array, task, std::string(kCommentPrefix) + "array task held for admission");
    if (!st.ok()) Log(st.error().message());
  }
  for (const auto& [job, tenant] : rehold) {
    Status st = slurm_->AdminHold(job, "");
    if (!st.ok()) Log(st.error().message());
  }
  for (const UnleasedJob& u : unleased)
    if (reported_unleased_.insert(u.job_id).second) {
      Log("job " + std::to_string(u.job_id) + " (" + u.tenant + ") runs on " + u.partition +
          " without an admission lease");
      Status st = slurm_->SetComment(u.job_id, std::string(kCommentPrefix) +
                                                   "running without an admission lease (released by hand?)");
      if (!st.ok()) Log(st.error().message());
      engine_->audit()->Record("unleased", {{"job_id", u.job_id}, {"tenant", u.tenant},
                                            {"partition", u.partition}, {"gpus", u.gpus}},
                               Seconds(now));
    }
  report.unleased = static_cast<int>(unleased.size());

  policy::Decisions d;
  const policy::Spec spec = engine_->Read([](const QuotaState& s) { return s.spec(); });
  if (!state.pending.empty()) d = policy::Schedule(spec, state, Seconds(now));

  // 4. Admit: leases first, durably, in one commit; then release the jobs in Slurm.
  std::vector<std::pair<policy::Admission, AcquireResult>> granted;
  if (!d.admit.empty()) {
    auto r = engine_->MutateSync([&](QuotaState& s, std::vector<LedgerOp>* ops) {
      std::vector<std::pair<policy::Admission, AcquireResult>> out;
      for (const policy::Admission& a : d.admit) {
        const SlurmJob& j = *pending_jobs.at(static_cast<uint32_t>(a.job));
        AcquireRequest req;
        req.job_id = j.job_id;
        req.tenant = j.account;
        req.partition = FirstPartition(j.partition);
        req.gpus = j.gpus;
        req.time_limit_s = j.time_limit_s;
        req.decided = true;
        req.borrowed = a.borrowed;
        auto ar = s.Acquire(req, now, ops);
        if (ar.ok() && ar->decision != Decision::kDenied) out.emplace_back(a, *ar);
        else if (!ar.ok()) Log("cannot grant job " + std::to_string(j.job_id) + ": " + ar.error().message());
      }
      return out;
    });
    if (!r.ok()) {
      Log("leases not recorded, nothing released: " + r.error().message());
    } else {
      granted = std::move(*r);
    }
  }
  for (const auto& [a, ar] : granted) {
    const char* how = ar.decision == Decision::kBorrowed ? "borrowed" : "granted";
    std::string comment = std::string(kCommentPrefix) + "admitted (" + how + ")";
    Status st = slurm_->SetPriority(ar.lease.job_id, a.slurm_priority, comment);
    engine_->Count(how);
    engine_->audit()->Record("admit", {{"job_id", ar.lease.job_id}, {"decision", how},
                                       {"tenant", ar.lease.tenant}, {"partition", ar.lease.partition},
                                       {"gpus", ar.lease.gpus}, {"priority", a.slurm_priority}},
                             Seconds(now));
    if (!st.ok()) {
      // The job went away between the read and the release: give the lease back.
      Log(st.error().message() + "; closing its lease");
      auto closed = engine_->MutateSync([&](QuotaState& s, std::vector<LedgerOp>* ops) {
        return s.Release(ar.lease.job_id, now, "reconciled", now, ops).closed;
      });
      if (!closed.ok()) Log(closed.error().message());
      continue;
    }
    report.admitted++;
  }

  // 5. Reasons for the jobs that wait.
  for (const policy::Waiting& w : d.waiting) {
    const SlurmJob& j = *pending_jobs.at(static_cast<uint32_t>(w.job));
    entries.push_back({j.job_id, j.account, FirstPartition(j.partition), j.user, j.gpus,
                       SecToMs(j.submit_time), w.position, w.denied, w.reason});
  }
  std::sort(entries.begin(), entries.end(), [](const QueueEntry& a, const QueueEntry& b) {
    return a.partition != b.partition ? a.partition < b.partition
           : a.position != b.position ? a.position < b.position
                                      : a.job_id < b.job_id;
  });
  std::set<uint32_t> user_held(to_admin_hold.begin(), to_admin_hold.end());
  for (const QueueEntry& e : entries) {
    std::string comment = std::string(kCommentPrefix) + (e.denied ? "denied: " : "") + e.reason;
    auto it = jobs.find(e.job_id);
    bool convert = user_held.count(e.job_id) > 0;
    if (it != jobs.end() && (convert || it->second->comment != comment)) {
      Status st = convert ? slurm_->AdminHold(e.job_id, comment) : slurm_->SetComment(e.job_id, comment);
      if (!st.ok()) Log(st.error().message());
      else
        engine_->audit()->Record("queued", {{"job_id", e.job_id}, {"tenant", e.tenant},
                                            {"denied", e.denied}, {"reason", e.reason}},
                                 Seconds(now));
    }
  }
  report.waiting = static_cast<int>(entries.size());

  // 6. Reclaim: signal now, requeue after the grace period (PreemptionStep).
  for (const policy::Preemption& p : d.preempt) {
    uint32_t job = static_cast<uint32_t>(p.job);
    if (preempting_.count(job)) continue;
    auto it = jobs.find(job);
    int sig = options_.default_signal;
    bool batch_only = false;
    if (it != jobs.end() && it->second->warn_signal > 0) {
      sig = it->second->warn_signal;
      batch_only = it->second->warn_batch_only;
    }
    Status st = slurm_->Signal(job, sig, batch_only);
    if (!st.ok()) {
      Log(st.error().message());
      continue;
    }
    preempting_[job] = Preempting{now, sig, p.reason};
    report.preempt_signalled++;
    engine_->audit()->Record("preempt_signal", {{"job_id", job}, {"for_job", p.for_job},
                                                {"signal", sig}, {"reason", p.reason}},
                             Seconds(now));
    Log("preempting job " + std::to_string(job) + ": " + p.reason);
  }
  std::set<uint32_t> pre;
  for (const auto& [job, p] : preempting_) pre.insert(job);
  engine_->Mutate(
      [&](QuotaState& s, std::vector<LedgerOp>*) {
        s.SetSlurmReachable(true);
        s.SetPreempting(pre);
        s.SetQueue(std::move(entries), std::move(unleased));
        return 0;
      },
      {});
  engine_->Count("queued", static_cast<uint64_t>(report.waiting));
  engine_->audit()->Flush();
  return report;
}

int QueueManager::PreemptionStep(const std::map<uint32_t, const SlurmJob*>& jobs, int64_t now_ms,
                                 std::set<uint32_t>& settled) {
  int requeued = 0;
  for (auto it = preempting_.begin(); it != preempting_.end();) {
    uint32_t job = it->first;
    auto j = jobs.find(job);
    bool running = j != jobs.end() && (j->second->state == JobState::kRunning ||
                                       j->second->state == JobState::kSuspended);
    bool finished = j == jobs.end() || j->second->state == JobState::kFinished;
    if (!running && !finished) {  // already back in the queue
      it = preempting_.erase(it);
      continue;
    }
    if (running && Seconds(now_ms - it->second.signalled_ms) < options_.preempt_grace_s) {
      ++it;
      continue;
    }
    // A job that ended by itself after checkpointing is requeued too, unless it completed.
    bool requeue = running || (j != jobs.end() && j->second->state_name != "COMPLETED");
    if (requeue) {
      Status st = slurm_->Requeue(job);
      if (!st.ok()) {
        Log(st.error().message());
        ++it;
        continue;
      }
      requeued++;
    }
    int64_t end = now_ms;
    if (!running && j != jobs.end() && j->second->end_time > 0) end = SecToMs(j->second->end_time);
    auto r = engine_->MutateSync([&](QuotaState& s, std::vector<LedgerOp>* ops) {
      return s.Release(job, end, "preempted", now_ms, ops);
    });
    engine_->Count("preempted");
    engine_->audit()->Record("preempt_requeue",
                             {{"job_id", job}, {"requeued", requeue},
                              {"charged_units", r.ok() ? r->units : 0.0},
                              {"reason", it->second.reason}},
                             Seconds(now_ms));
    Log("job " + std::to_string(job) + (requeue ? " requeued" : " ended") + " after preemption");
    settled.insert(job);
    it = preempting_.erase(it);
  }
  return requeued;
}

}  // namespace egret::quotad
