#include "scheduler/policy/schedule.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>

#include "scheduler/policy/budget.h"
#include "scheduler/policy/fairshare.h"
#include "scheduler/policy/quota.h"
#include "scheduler/policy/reclaim.h"

namespace egret::policy {
namespace {

std::string Duration(double s) {
  char buf[32];
  long long m = static_cast<long long>(std::ceil(std::max(0.0, s) / 60.0));
  if (m >= 60)
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", m / 60, m % 60);
  else
    std::snprintf(buf, sizeof buf, "%lldm", m);
  return buf;
}

// A job expected to give its GPUs back at `end` (start + time limit).
struct Release {
  Time end;
  int tenant;
  int partition;
  int gpus;
};

// Backfill's reservation for the highest-priority blocked job on a partition: at `start` the
// job fits given what will still be running then (`at_start`); a later job may start now only
// if it ends by `start` or the reserved job still fits at `start` with it added.
struct Reservation {
  int pending_index;
  JobId job;
  int tenant;
  int gpus;
  Time start;
  Usage at_start;
};

bool Fits(Fit f) { return f == Fit::kNominal || f == Fit::kBorrow; }

class Pass {
 public:
  Pass(const Spec& spec, const State& state, Time now, const Options& options)
      : spec_(spec), state_(state), now_(now), opt_(options), usage_(spec, state.running),
        running_(state.running) {
    const size_t T = spec.tenants.size(), P = spec.partitions.size();
    factors_ = FairshareFactors(spec, state.usage);
    soon_free_.assign(P, 0.0);
    committed_.assign(T, 0.0);
    position_.assign(P, 0);
    reservations_.resize(P);
    for (const RunningJob& j : state.running) {
      if (j.preempting) soon_free_[j.partition] += j.gpus;
      if (j.tenant >= 0 && j.tenant < static_cast<int>(T)) committed_[j.tenant] += CommittedGpuSeconds(spec, j, now);
    }
  }

  Decisions Run() {
    std::vector<int> order = PriorityOrder(spec_, state_, opt_);
    std::vector<char> blocked(spec_.tenants.size(), 0);
    std::vector<int> deferred;
    // Phase 1: guarantees (nominal quota), reclaiming lent GPUs where needed.
    for (int idx : order) {
      const PendingJob& job = state_.pending[idx];
      int pos = ++position_[Valid(job) ? job.partition : 0];
      if (!Screen(job, pos)) continue;
      if (!spec_.partitions[job.partition].managed) {
        Admit(job, false);
        continue;
      }
      // Without quotas nothing is guaranteed: every job waits its turn in phase 2.
      if (blocked[job.tenant] || !opt_.quotas) {
        deferred.push_back(idx);
        positions_.push_back(pos);
        continue;
      }
      Fit fit = CheckFit(spec_, usage_, job.tenant, job.partition, job.gpus, opt_);
      if (fit == Fit::kNominal) {
        Admit(job, false);
        continue;
      }
      if (fit == Fit::kNever) {
        Wait(job, pos, true, DescribeNoFit(spec_, usage_, job.tenant, job.partition, job.gpus, fit, opt_));
        continue;
      }
      blocked[job.tenant] = 1;
      if (fit == Fit::kNoRoom && WithinNominal(job) && opt_.quotas && opt_.reclaim &&
          TryReclaim(job, pos))
        continue;
      deferred.push_back(idx);
      positions_.push_back(pos);
    }
    // Phase 2: borrowing and backfill around one reservation per partition.
    for (size_t k = 0; k < deferred.size(); ++k) {
      const PendingJob& job = state_.pending[deferred[k]];
      const int pos = positions_[k];
      Fit fit = CheckFit(spec_, usage_, job.tenant, job.partition, job.gpus, opt_);
      if (fit == Fit::kNever) {
        Wait(job, pos, true, DescribeNoFit(spec_, usage_, job.tenant, job.partition, job.gpus, fit, opt_));
        continue;
      }
      std::optional<Reservation>& res = reservations_[job.partition];
      if (Fits(fit)) {
        if (!res || !Delays(*res, job, fit)) {
          Admit(job, fit == Fit::kBorrow);
          continue;
        }
        Wait(job, pos, false,
             spec_.tenants[job.tenant].name + ": waits so as not to delay job " +
                 std::to_string(res->job) + " (" + spec_.tenants[res->tenant].name + ", " +
                 std::to_string(res->gpus) + " GPUs on " + spec_.partitions[job.partition].name +
                 "), reserved to start in " + Duration(res->start - now_) + "; position " +
                 std::to_string(pos));
        continue;
      }
      std::string reason = DescribeNoFit(spec_, usage_, job.tenant, job.partition, job.gpus, fit, opt_);
      Time reserved = -1;
      if (opt_.reservation && !res) {
        res = Reserve(deferred[k], job);
        if (res) {
          reserved = res->start;
          reason += "; GPUs reserved for it in " + Duration(res->start - now_);
        }
      }
      Wait(job, pos, false, reason + "; position " + std::to_string(pos));
      out_.waiting.back().reserved_start = reserved;
    }
    return std::move(out_);
  }

 private:
  bool Valid(const PendingJob& j) const {
    return j.tenant >= 0 && j.tenant < static_cast<int>(spec_.tenants.size()) && j.partition >= 0 &&
           j.partition < static_cast<int>(spec_.partitions.size());
  }

  Time ExpectedEnd(const RunningJob& j) const {
    if (j.preempting) return now_ + opt_.preempt_grace_s;
    if (j.time_limit_s <= 0) return INFINITY;
    return std::max(now_, j.start + j.time_limit_s);
  }

  bool WithinNominal(const PendingJob& j) const {
    return usage_.Used(j.tenant, j.partition) + j.gpus <=
           spec_.tenants[j.tenant].quota[j.partition].nominal;
  }

  // Refusals that do not depend on GPUs: unknown names, partitions not allowed, budgets.
  bool Screen(const PendingJob& job, int pos) {
    if (!Valid(job)) {
      Wait(job, pos, true, "unknown tenant or partition");
      return false;
    }
    const TenantSpec& t = spec_.tenants[job.tenant];
    if (!t.allowed[job.partition]) {
      std::string allowed;
      for (size_t p = 0; p < spec_.partitions.size(); ++p)
        if (t.allowed[p]) allowed += (allowed.empty() ? "" : ", ") + spec_.partitions[p].name;
      Wait(job, pos, true, t.name + " may not use partition " + spec_.partitions[job.partition].name +
                               " (allowed: " + (allowed.empty() ? "none" : allowed) + ")");
      return false;
    }
    if (opt_.budgets && job.tenant < static_cast<int>(state_.budget_used_gpu_s.size())) {
      BudgetCheck b = CheckBudget(spec_, job.tenant, job.partition, job.gpus, job.time_limit_s,
                                  state_.budget_used_gpu_s[job.tenant], committed_[job.tenant], now_);
      if (b.verdict != BudgetVerdict::kOk) {
        Wait(job, pos, b.verdict == BudgetVerdict::kDenied, b.reason);
        return false;
      }
    } else if (opt_.budgets && !std::isinf(t.budget_gpu_hours)) {
      BudgetCheck b = CheckBudget(spec_, job.tenant, job.partition, job.gpus, job.time_limit_s, 0,
                                  committed_[job.tenant], now_);
      if (b.verdict != BudgetVerdict::kOk) {
        Wait(job, pos, b.verdict == BudgetVerdict::kDenied, b.reason);
        return false;
      }
    }
    return true;
  }

  void Admit(const PendingJob& job, bool borrowed) {
    out_.admit.push_back({job.id, borrowed, SlurmPriority(factors_[job.tenant])});
    if (!spec_.partitions[job.partition].managed) return;
    usage_.Add(job.tenant, job.partition, job.gpus);
    RunningJob r{job.id, job.tenant, job.partition, job.gpus, borrowed, false, now_, job.time_limit_s};
    committed_[job.tenant] += CommittedGpuSeconds(spec_, r, now_);
    Time end = ExpectedEnd(r);
    admitted_.push_back({end, job.tenant, job.partition, job.gpus});
    for (auto& res : reservations_)
      if (res && res->start < end) res->at_start.Add(job.tenant, job.partition, job.gpus);
  }

  void Wait(const PendingJob& job, int pos, bool denied, std::string reason) {
    out_.waiting.push_back({job.id, pos, denied, std::move(reason), -1});
  }

  // The job fits its nominal quota but the partition's GPUs are held: GPUs already being given
  // back are claimed first, then borrowed jobs of the cohort are preempted.
  bool TryReclaim(const PendingJob& job, int pos) {
    const int p = job.partition;
    const double free = std::max(0.0, spec_.partitions[p].capacity_gpus - usage_.PartitionUsed(p));
    const std::string& name = spec_.tenants[job.tenant].name;
    const double from_leaving = job.gpus - std::min<double>(free, job.gpus);
    int preempted = 0;
    if (from_leaving > soon_free_[p]) {
      std::vector<int> victims =
          PickReclaimVictims(spec_, usage_, running_, job.tenant, p, from_leaving - soon_free_[p]);
      if (victims.empty()) return false;
      for (int v : victims) {
        RunningJob& r = running_[v];
        r.preempting = true;
        usage_.Add(r.tenant, p, -r.gpus);
        usage_.Hold(p, r.gpus);
        soon_free_[p] += r.gpus;
        ++preempted;
        out_.preempt.push_back({r.id, job.id,
                                "reclaimed by " + name + " (job " + std::to_string(job.id) + ") on " +
                                    spec_.partitions[p].name + ": " + spec_.tenants[r.tenant].name +
                                    " borrowed " + std::to_string(r.gpus) +
                                    " GPUs of the cohort's lent quota"});
      }
    }
    // The job now owns the free GPUs it needs and part of what the leaving jobs give back.
    usage_.Add(job.tenant, p, job.gpus);
    usage_.Hold(p, -from_leaving);
    soon_free_[p] -= from_leaving;
    RunningJob later{job.id, job.tenant, p, job.gpus, false, false, now_ + opt_.preempt_grace_s,
                     job.time_limit_s};
    admitted_.push_back({ExpectedEnd(later), job.tenant, p, job.gpus});
    Wait(job, pos, false,
         name + ": within its quota on " + spec_.partitions[p].name + "; reclaiming lent GPUs (" +
             std::to_string(preempted) + " borrowed job(s) preempted now), starts once they have "
             "checkpointed; position " + std::to_string(pos));
    return true;
  }

  // The earliest time the job fits, releasing running jobs in order of expected end.
  std::optional<Reservation> Reserve(int index, const PendingJob& job) {
    const int p = job.partition;
    std::vector<Release> rel;
    for (const RunningJob& r : running_) {
      if (r.partition != p || r.preempting) continue;
      Time end = ExpectedEnd(r);
      if (std::isfinite(end)) rel.push_back({end, r.tenant, p, r.gpus});
    }
    for (const Release& a : admitted_)
      if (a.partition == p && std::isfinite(a.end)) rel.push_back(a);
    // GPUs of leaving jobs that nobody claimed come back after the grace period.
    if (soon_free_[p] > 0)
      rel.push_back({now_ + opt_.preempt_grace_s, -1, p, static_cast<int>(soon_free_[p])});
    std::sort(rel.begin(), rel.end(), [](const Release& a, const Release& b) { return a.end < b.end; });
    Usage u = usage_;
    for (size_t i = 0; i < rel.size(); ++i) {
      if (rel[i].tenant < 0)
        u.Hold(p, -rel[i].gpus);
      else
        u.Add(rel[i].tenant, p, -rel[i].gpus);
      if (i + 1 < rel.size() && rel[i + 1].end == rel[i].end) continue;
      if (Fits(CheckFit(spec_, u, job.tenant, p, job.gpus, opt_)))
        return Reservation{index, job.id, job.tenant, job.gpus, rel[i].end, u};
    }
    return std::nullopt;
  }

  bool Delays(Reservation& res, const PendingJob& job, Fit fit) {
    // A job within its own tenant's nominal quota is guaranteed; only the reserved tenant's own
    // later jobs and borrowers wait for a reservation.
    if (opt_.quotas && fit == Fit::kNominal && job.tenant != res.tenant) return false;
    if (job.time_limit_s > 0 && now_ + job.time_limit_s <= res.start) return false;
    res.at_start.Add(job.tenant, job.partition, job.gpus);
    bool still = Fits(CheckFit(spec_, res.at_start, res.tenant, job.partition, res.gpus, opt_));
    res.at_start.Add(job.tenant, job.partition, -job.gpus);
    return !still;
  }

  const Spec& spec_;
  const State& state_;
  Time now_;
  Options opt_;
  Usage usage_;
  std::vector<RunningJob> running_;
  std::vector<double> factors_;
  std::vector<double> soon_free_;
  std::vector<double> committed_;
  std::vector<int> position_;
  std::vector<int> positions_;
  std::vector<Release> admitted_;  // started or claimed in this pass
  std::vector<std::optional<Reservation>> reservations_;
  Decisions out_;
};

}  // namespace

std::vector<int> PriorityOrder(const Spec& spec, const State& state, const Options& options) {
  std::vector<int> order(state.pending.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
  const auto& jobs = state.pending;
  if (options.order == Options::Order::kFifo) {
    std::sort(order.begin(), order.end(), [&](int a, int b) {
      if (jobs[a].submit != jobs[b].submit) return jobs[a].submit < jobs[b].submit;
      return jobs[a].id < jobs[b].id;
    });
    return order;
  }
  std::vector<double> f = FairshareFactors(spec, state.usage);
  auto factor = [&](const PendingJob& j) {
    return j.tenant >= 0 && j.tenant < static_cast<int>(f.size()) ? f[j.tenant] : 0.0;
  };
  std::sort(order.begin(), order.end(), [&](int a, int b) {
    double fa = factor(jobs[a]), fb = factor(jobs[b]);
    if (fa != fb) return fa > fb;
    if (jobs[a].submit != jobs[b].submit) return jobs[a].submit < jobs[b].submit;
    return jobs[a].id < jobs[b].id;
  });
  return order;
}

Decisions Schedule(const Spec& spec, const State& state, Time now, const Options& options) {
  return Pass(spec, state, now, options).Run();
}

SingleDecision Decide(const Spec& spec, const State& state, const PendingJob& job, Time now,
                      const Options& options) {
  State alone;
  alone.usage = state.usage;
  alone.budget_used_gpu_s = state.budget_used_gpu_s;
  alone.running = state.running;
  alone.pending = {job};
  Decisions d = Schedule(spec, alone, now, options);
  if (!d.admit.empty())
    return {d.admit[0].borrowed ? Outcome::kBorrowed : Outcome::kGranted,
            d.admit[0].borrowed ? "borrowed" : "granted"};
  if (!d.waiting.empty())
    return {d.waiting[0].denied ? Outcome::kDenied : Outcome::kQueued, d.waiting[0].reason};
  return {Outcome::kQueued, ""};
}

}  // namespace egret::policy
