#include "scheduler/policy/schedule.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>

#include "scheduler/policy/budget.h"
#include "scheduler/policy/fair_preemption.h"
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

// Seconds of usage one running normalised GPU counts for in the order (Options::running_weight).
double RunningCharge(const Spec& spec, const Options& o) {
  const double h = spec.half_life_s > 0 ? spec.half_life_s : 7 * 86400.0;
  return o.running_weight * h / std::log(2.0);
}

// Ordering F_t = 2^(-U_t/S_t) with U_t = usage_t / sum(usage) is, for ranking, the same as
// ordering usage_t / S_t ascending: the normalisation is common to all tenants.
double RankKey(double usage, double held_units, double charge, double norm_share) {
  return (usage + held_units * charge) / norm_share;
}

class Pass {
 public:
  Pass(const Spec& spec, const State& state, Time now, const Options& options)
      : spec_(spec), state_(state), now_(now), opt_(options), usage_(spec, state.running),
        running_(state.running) {
    const size_t T = spec.tenants.size(), P = spec.partitions.size();
    factors_ = FairshareFactors(spec, state.usage);
    shares_ = NormalisedShares(spec);
    charge_ = RunningCharge(spec, options);
    held_units_.assign(T, 0.0);
    base_usage_.assign(T, 0.0);
    for (size_t t = 0; t < T && t < state.usage.size(); ++t) base_usage_[t] = std::max(0.0, state.usage[t]);
    soon_free_.assign(P, 0.0);
    committed_.assign(T, 0.0);
    position_.assign(P, 0);
    fair_tried_.assign(T * P, 0);
    backlogged_.assign(T * P, 0);
    for (const PendingJob& j : state.pending)
      if (j.tenant >= 0 && j.tenant < static_cast<int>(T) && j.partition >= 0 &&
          j.partition < static_cast<int>(P))
        backlogged_[j.tenant * P + j.partition] = 1;
    reservations_.resize(P);
    for (const RunningJob& j : state.running) {
      if (j.preempting) soon_free_[j.partition] += j.gpus;
      if (j.tenant >= 0 && j.tenant < static_cast<int>(T) && j.partition >= 0 &&
          j.partition < static_cast<int>(P))
        held_units_[j.tenant] += j.gpus * spec.partitions[j.partition].weight;
      if (j.tenant >= 0 && j.tenant < static_cast<int>(T)) committed_[j.tenant] += CommittedGpuSeconds(spec, j, now);
    }
  }

  Decisions Run() {
    // Positions follow the order at the start of the pass; refusals that do not depend on GPUs
    // (and jobs on unmanaged partitions) are settled before anything competes for GPUs.
    std::vector<int> candidates;
    for (int idx : PriorityOrder(spec_, state_, opt_)) {
      const PendingJob& job = state_.pending[idx];
      int pos = ++position_[Valid(job) ? job.partition : 0];
      if (!Screen(job, pos)) continue;
      if (!spec_.partitions[job.partition].managed) {
        Admit(job, false);
        continue;
      }
      candidates.push_back(idx);
      candidate_pos_.push_back(pos);
    }
    std::vector<char> blocked(spec_.tenants.size(), 0);
    std::vector<int> deferred;
    // Phase 1: guarantees (nominal quota), reclaiming lent GPUs where needed.
    Merge first(*this, candidates);
    for (int c = first.Next(); c >= 0; c = first.Next()) {
      const int idx = candidates[c];
      const PendingJob& job = state_.pending[idx];
      const int pos = candidate_pos_[c];
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
      // A job that needs borrowing holds back its tenant's later jobs, unless they may use the
      // tenant's own unused quota meanwhile (Options::nominal_backfill).
      if (WithinNominal(job) || !opt_.nominal_backfill) blocked[job.tenant] = 1;
      if (fit == Fit::kNoRoom && WithinNominal(job) && opt_.reclaim && TryReclaim(job, pos)) continue;
      deferred.push_back(idx);
      positions_.push_back(pos);
    }
    // Phase 2: borrowing and backfill around one reservation per partition. Tenants' lists
    // stay FIFO; which tenant goes next is re-decided after each admission when the order
    // counts running GPUs (Options::running_weight).
    Merge merge(*this, deferred);
    for (int k = merge.Next(); k >= 0; k = merge.Next()) {
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
        if (!opt_.explain) {
          Wait(job, pos, false, {});
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
      // A tenant's first job here that needs borrowing may take GPUs back from tenants holding
      // a larger share (only its first, so FIFO holds and a pass stays cheap).
      if (opt_.fair_preemption && opt_.reclaim &&
          !fair_tried_[job.tenant * spec_.partitions.size() + job.partition]) {
        fair_tried_[job.tenant * spec_.partitions.size() + job.partition] = 1;
        if (!WithinNominal(job) && TryFairPreemption(job, pos)) continue;
      }
      Time reserved = -1;
      if (opt_.reservation && !res && now_ - job.submit >= opt_.reservation_min_age_s) {
        res = Reserve(deferred[k], job);
        if (res) reserved = res->start;
      }
      std::string reason;
      if (opt_.explain) {
        reason = DescribeNoFit(spec_, usage_, job.tenant, job.partition, job.gpus, fit, opt_);
        if (reserved >= 0) reason += "; GPUs reserved for it in " + Duration(reserved - now_);
        reason += "; position " + std::to_string(pos);
      }
      Wait(job, pos, false, std::move(reason));
      out_.waiting.back().reserved_start = reserved;
    }
    return std::move(out_);
  }

 private:
  // Merges the tenants' FIFO lists of deferred jobs: each step takes the head of the tenant
  // that ranks first now (fairshare key, or submit time for FIFO).
  class Merge {
   public:
    Merge(const Pass& pass, const std::vector<int>& deferred) : pass_(pass), deferred_(deferred) {
      lists_.resize(pass.spec_.tenants.size());
      for (size_t k = 0; k < deferred.size(); ++k)
        lists_[pass.state_.pending[deferred[k]].tenant].push_back(static_cast<int>(k));
      head_.assign(lists_.size(), 0);
    }
    int Next() {
      int best = -1;
      double best_key = 0, best_submit = 0;
      JobId best_id = 0;
      for (size_t t = 0; t < lists_.size(); ++t) {
        if (head_[t] >= lists_[t].size()) continue;
        const PendingJob& j = pass_.state_.pending[deferred_[lists_[t][head_[t]]]];
        double key = pass_.opt_.order == Options::Order::kFifo ? 0 : pass_.Key(static_cast<int>(t));
        if (best < 0 || key < best_key ||
            (key == best_key && (j.submit < best_submit || (j.submit == best_submit && j.id < best_id)))) {
          best = static_cast<int>(t);
          best_key = key;
          best_submit = j.submit;
          best_id = j.id;
        }
      }
      if (best < 0) return -1;
      return lists_[best][head_[best]++];
    }

   private:
    const Pass& pass_;
    const std::vector<int>& deferred_;
    std::vector<std::vector<int>> lists_;
    std::vector<size_t> head_;
  };

  // The tenant's rank now: lower goes first. Without running_weight it is the key at the start
  // of the pass (Slurm's factor), so admissions in the pass do not change the order.
  double Key(int t) const {
    return RankKey(base_usage_[t], held_units_[t], charge_, shares_[t] > 0 ? shares_[t] : 1e-300);
  }

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
    held_units_[job.tenant] += job.gpus * spec_.partitions[job.partition].weight;
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
    const double from_leaving = job.gpus - std::min<double>(free, job.gpus);
    std::vector<int> victims;
    if (from_leaving > soon_free_[p]) {
      victims = PickReclaimVictims(spec_, usage_, running_, job.tenant, p, from_leaving - soon_free_[p]);
      if (victims.empty()) return false;
    }
    Claim(job, pos, victims, false);
    return true;
  }

  // The job needs borrowing and does not fit: preempt borrowed jobs of tenants that hold a
  // larger share than it would (fair_preemption.h).
  bool TryFairPreemption(const PendingJob& job, int pos) {
    std::vector<int> victims = PickFairShareVictims(spec_, usage_, running_, job.tenant, job.partition,
                                                    job.gpus, soon_free_[job.partition], opt_, now_);
    if (victims.empty()) return false;
    Claim(job, pos, victims, true);
    return true;
  }

  // Signals VICTIMS and gives the job their GPUs (and any unclaimed GPUs already leaving): from
  // now on the pass counts them as the job's; it starts once the victims have gone.
  void Claim(const PendingJob& job, int pos, const std::vector<int>& victims, bool fair) {
    const int p = job.partition;
    const std::string& name = spec_.tenants[job.tenant].name;
    const double free = std::max(0.0, spec_.partitions[p].capacity_gpus - usage_.PartitionUsed(p));
    const double from_leaving = job.gpus - std::min<double>(free, job.gpus);
    for (int v : victims) {
      RunningJob& r = running_[v];
      r.preempting = true;
      usage_.Add(r.tenant, p, -r.gpus);
      usage_.Hold(p, r.gpus);
      held_units_[r.tenant] -= r.gpus * spec_.partitions[p].weight;
      soon_free_[p] += r.gpus;
      if (!opt_.explain) {
        out_.preempt.push_back({r.id, job.id, {}});
        continue;
      }
      out_.preempt.push_back(
          {r.id, job.id,
           (fair ? "fair-share preemption by " : "reclaimed by ") + name + " (job " +
               std::to_string(job.id) + ") on " + spec_.partitions[p].name + ": " +
               spec_.tenants[r.tenant].name + " borrowed " + std::to_string(r.gpus) +
               (fair ? " GPUs and holds a larger share" : " GPUs of the cohort's lent quota")});
    }
    usage_.Add(job.tenant, p, job.gpus);
    held_units_[job.tenant] += job.gpus * spec_.partitions[p].weight;
    usage_.Hold(p, -from_leaving);
    soon_free_[p] -= from_leaving;
    RunningJob later{job.id, job.tenant, p, job.gpus, fair, false, now_ + opt_.preempt_grace_s,
                     job.time_limit_s};
    const Time end = ExpectedEnd(later);
    admitted_.push_back({end, job.tenant, p, job.gpus});
    // A reservation made earlier in the pass sees the claim instead of the victims.
    if (std::optional<Reservation>& res = reservations_[p]) {
      if (res->start < end) res->at_start.Add(job.tenant, p, job.gpus);
      for (int v : victims) {
        const RunningJob& r = running_[v];
        if (r.time_limit_s <= 0 || r.start + r.time_limit_s > res->start)
          res->at_start.Add(r.tenant, p, -r.gpus);
      }
    }
    if (!opt_.explain) {
      Wait(job, pos, false, {});
      return;
    }
    Wait(job, pos, false,
         name + (fair ? ": below its fair share on " : ": within its quota on ") +
             spec_.partitions[p].name + "; " + (fair ? "preempting" : "reclaiming lent GPUs (") +
             (fair ? " " : "") + std::to_string(victims.size()) +
             (fair ? " borrowed job(s) of tenants above theirs" : " borrowed job(s) preempted now)") +
             ", starts once they have checkpointed; position " + std::to_string(pos));
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
    // Other tenants with jobs waiting here will claim their own nominal quota as it frees up
    // (it is guaranteed to them), so a reservation may not count on borrowing it: their usage
    // is taken as at least their nominal quota throughout. Without this, a reservation that
    // borrows from busy tenants keeps slipping while it holds GPUs idle.
    std::vector<double> floor(spec_.tenants.size(), 0.0);
    if (opt_.quotas && opt_.reservation_counts_guarantees) {
      for (size_t t = 0; t < spec_.tenants.size(); ++t) {
        if (static_cast<int>(t) == job.tenant || !backlogged_[t * spec_.partitions.size() + p]) continue;
        floor[t] = spec_.tenants[t].quota[p].nominal;
        const double extra = floor[t] - u.Used(static_cast<int>(t), p);
        if (extra > 0) u.Add(static_cast<int>(t), p, extra);
      }
    }
    for (size_t i = 0; i < rel.size(); ++i) {
      if (rel[i].tenant < 0) {
        u.Hold(p, -rel[i].gpus);
      } else {
        const int t = rel[i].tenant;
        const double drop = std::min<double>(rel[i].gpus, std::max(0.0, u.Used(t, p) - floor[t]));
        u.Add(t, p, -drop);
      }
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
  std::vector<double> shares_;
  std::vector<double> held_units_;  // normalised GPUs each tenant holds, updated as jobs start
  std::vector<double> base_usage_;
  double charge_ = 0;
  std::vector<double> soon_free_;
  std::vector<double> committed_;
  std::vector<int> position_;
  std::vector<int> positions_;       // of the deferred jobs
  std::vector<int> candidate_pos_;   // of the jobs phase 1 looks at
  std::vector<char> fair_tried_;  // [tenant * partitions + partition]
  std::vector<char> backlogged_;  // [tenant * partitions + partition]: has pending jobs there
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
  std::vector<double> shares = NormalisedShares(spec);
  const double charge = RunningCharge(spec, options);
  std::vector<double> held(spec.tenants.size(), 0.0);
  if (charge > 0)
    for (const RunningJob& r : state.running)
      if (r.tenant >= 0 && r.tenant < static_cast<int>(held.size()) && r.partition >= 0 &&
          r.partition < static_cast<int>(spec.partitions.size()))
        held[r.tenant] += r.gpus * spec.partitions[r.partition].weight;
  std::vector<double> key(spec.tenants.size(), 0.0);
  for (size_t t = 0; t < key.size(); ++t)
    key[t] = RankKey(t < state.usage.size() ? std::max(0.0, state.usage[t]) : 0.0, held[t], charge,
                     shares[t] > 0 ? shares[t] : 1e-300);
  auto k = [&](const PendingJob& j) {
    return j.tenant >= 0 && j.tenant < static_cast<int>(key.size()) ? key[j.tenant] : INFINITY;
  };
  std::sort(order.begin(), order.end(), [&](int a, int b) {
    double ka = k(jobs[a]), kb = k(jobs[b]);
    if (ka != kb) return ka < kb;
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
