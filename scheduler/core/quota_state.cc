#include "scheduler/core/quota_state.h"

#include <algorithm>
#include <cmath>

#include "common/strings.h"
#include "scheduler/core/charging.h"
#include "scheduler/policy/budget.h"
#include "scheduler/policy/fairshare.h"
#include "scheduler/policy/from_config.h"

namespace egret::quotad {

namespace {
// A release may carry the end time of a node whose clock runs a little ahead.
constexpr int64_t kClockSkewMs = 60'000;
// Heartbeats are cheap in memory; the ledger gets one every this often per lease.
constexpr int64_t kPersistHeartbeatMs = 10'000;
}  // namespace

const char* DecisionName(Decision d) {
  switch (d) {
    case Decision::kGranted:
      return "granted";
    case Decision::kBorrowed:
      return "borrowed";
    case Decision::kDenied:
      return "denied";
  }
  return "denied";
}

QuotaState::QuotaState(std::shared_ptr<const config::Config> config,
                       const LedgerSnapshot& snapshot, size_t keep_closed)
    : config_(std::move(config)), keep_closed_(keep_closed) {
  for (const LeaseRecord& l : snapshot.open) open_[l.job_id] = l;
  for (const LeaseRecord& l : snapshot.flagged) flagged_[l.lease_id] = l;
  // Oldest first, so the newest closed lease of a job is the one remembered.
  for (auto it = snapshot.recent_closed.rbegin(); it != snapshot.recent_closed.rend(); ++it)
    Remember(*it);
  usage_ = snapshot.usage;
  budget_ = snapshot.budget;
  next_lease_id_ = snapshot.max_lease_id + 1;
  Rebuild();
}

void QuotaState::Reload(std::shared_ptr<const config::Config> config) {
  config_ = std::move(config);
  Rebuild();
}

void QuotaState::Rebuild() {
  spec_ = policy::SpecFromConfig(*config_);
  tenant_index_.clear();
  partition_index_.clear();
  for (size_t i = 0; i < spec_.tenants.size(); ++i) tenant_index_[spec_.tenants[i].name] = static_cast<int>(i);
  for (size_t i = 0; i < spec_.partitions.size(); ++i)
    partition_index_[spec_.partitions[i].name] = static_cast<int>(i);
  gpu_usage_ = std::make_unique<policy::Usage>(spec_);
  for (const auto& [job, l] : open_) AddUsage(l, +1);
  version_++;
}

int QuotaState::TenantIndex(const std::string& name) const {
  auto it = tenant_index_.find(name);
  return it == tenant_index_.end() ? -1 : it->second;
}

int QuotaState::PartitionIndex(const std::string& name) const {
  auto it = partition_index_.find(name);
  return it == partition_index_.end() ? -1 : it->second;
}

void QuotaState::AddUsage(const LeaseRecord& l, int sign) {
  int t = TenantIndex(l.tenant), p = PartitionIndex(l.partition);
  if (t >= 0 && p >= 0) gpu_usage_->Add(t, p, sign * l.gpus);
}

void QuotaState::Remember(const LeaseRecord& closed) {
  if (!closed_.count(closed.job_id)) closed_order_.push_back(closed.job_id);
  closed_[closed.job_id] = closed;
  while (closed_order_.size() > keep_closed_) {
    closed_.erase(closed_order_.front());
    closed_order_.pop_front();
  }
}

const LeaseRecord* QuotaState::OpenLease(uint32_t job_id) const {
  auto it = open_.find(job_id);
  return it == open_.end() ? nullptr : &it->second;
}

const LeaseRecord* QuotaState::LastClosedLease(uint32_t job_id) const {
  auto it = closed_.find(job_id);
  return it == closed_.end() ? nullptr : &it->second;
}

const TenantUsage* QuotaState::StoredUsage(const std::string& tenant) const {
  auto it = usage_.find(tenant);
  return it == usage_.end() ? nullptr : &it->second;
}

Charge QuotaState::MakeCharge(const LeaseRecord& l, int seq, int64_t start_ms, int64_t end_ms,
                              const std::string& kind) {
  Charge c;
  c.lease_id = l.lease_id;
  c.seq = seq;
  c.tenant = l.tenant;
  c.start_ms = start_ms;
  c.end_ms = std::max(start_ms, end_ms);
  c.units = ChargeUnits(l.rate(), c.start_ms, c.end_ms);
  c.kind = kind;
  c.usage_after = AddCharge(spec_, usage_[l.tenant], l.rate(), c.start_ms, c.end_ms);
  c.budget = SplitOverPeriods(spec_, l.rate(), c.start_ms, c.end_ms);
  usage_[l.tenant] = c.usage_after;
  for (const BudgetPart& b : c.budget) budget_[{l.tenant, b.period_start_ms}] += b.units;
  return c;
}

Result<AcquireResult> QuotaState::Acquire(const AcquireRequest& req, int64_t now_ms,
                                          std::vector<LedgerOp>* ops) {
  if (req.job_id == 0) return Error("job_id must be a positive integer");
  if (req.gpus < 0) return Error("gpus must be >= 0 (got " + std::to_string(req.gpus) + ")");
  AcquireResult r;
  if (const LeaseRecord* l = OpenLease(req.job_id)) {
    if (l->tenant != req.tenant || l->partition != req.partition || l->gpus != req.gpus)
      return Error("job " + std::to_string(req.job_id) + " already holds a lease for " + l->tenant +
                   " on " + l->partition + " (" + std::to_string(l->gpus) +
                   " GPUs); release it before asking for another");
    r.decision = l->borrowed ? Decision::kBorrowed : Decision::kGranted;
    r.lease = *l;
    r.existing = true;
    r.reason = "job already holds this lease";
    return r;
  }
  int t = TenantIndex(req.tenant), p = PartitionIndex(req.partition);
  if (t < 0) {
    r.reason = "unknown tenant \"" + req.tenant + "\"";
    return r;
  }
  if (p < 0) {
    r.reason = "unknown partition \"" + req.partition + "\"";
    return r;
  }
  if (!spec_.tenants[t].allowed[p]) {
    r.reason = "tenant " + req.tenant + " may not use partition " + req.partition;
    return r;
  }
  bool borrowed = req.borrowed;
  if (!req.decided) {
    policy::Fit fit = policy::CheckFit(spec_, *gpu_usage_, t, p, req.gpus, options_);
    if (fit != policy::Fit::kNominal && fit != policy::Fit::kBorrow) {
      r.reason = policy::DescribeNoFit(spec_, *gpu_usage_, t, p, req.gpus, fit, options_);
      return r;
    }
    borrowed = fit == policy::Fit::kBorrow;
    if (std::isfinite(spec_.tenants[t].budget_gpu_hours)) {
      BudgetInfo b = BudgetOf(t, now_ms);
      policy::BudgetCheck bc = policy::CheckBudget(spec_, t, p, req.gpus, req.time_limit_s,
                                                   b.used_gpu_s, b.committed_gpu_s, Seconds(now_ms));
      if (bc.verdict != policy::BudgetVerdict::kOk) {
        r.reason = bc.reason;
        return r;
      }
    }
  }
  LeaseRecord l;
  l.lease_id = next_lease_id_++;
  l.job_id = req.job_id;
  l.tenant = req.tenant;
  l.partition = req.partition;
  l.gpus = req.gpus;
  l.weight = spec_.partitions[p].weight;
  l.time_limit_s = req.time_limit_s;
  l.borrowed = borrowed;
  l.granted_ms = l.heartbeat_ms = l.hb_persisted_ms = now_ms;
  open_[l.job_id] = l;
  AddUsage(l, +1);
  ops->push_back(ledger_op::OpenLease{l});
  version_++;
  r.decision = borrowed ? Decision::kBorrowed : Decision::kGranted;
  r.lease = l;
  return r;
}

ReleaseResult QuotaState::Release(uint32_t job_id, int64_t end_ms, const std::string& reason,
                                  int64_t now_ms, std::vector<LedgerOp>* ops, bool flag) {
  ReleaseResult r;
  auto it = open_.find(job_id);
  std::string job = "job " + std::to_string(job_id);
  if (it == open_.end()) {
    if (const LeaseRecord* c = LastClosedLease(job_id))
      r.message = job + "'s lease was already closed (" + c->close_reason + "); nothing more charged";
    else
      r.message = job + " holds no lease; nothing to charge";
    return r;
  }
  LeaseRecord l = it->second;
  // End times are whole seconds (Slurm's); a lease granted within the same second may look
  // younger than its end by up to a second. Anything older ended an earlier run of the job.
  if (end_ms + 1000 < l.granted_ms) {
    r.message = job + ": the release is for a run that ended before this lease was granted; ignored";
    r.lease = l;
    return r;
  }
  int64_t end = end_ms > now_ms + kClockSkewMs ? now_ms : end_ms;
  end = std::max(end, l.charge_start());
  Charge c = MakeCharge(l, l.charges, l.charge_start(), end,
                        reason == "released" ? "release" : reason == "expired" ? "expiry" : reason);
  l.closed_ms = std::max<int64_t>(end, 1);
  l.close_reason = reason;
  l.needs_reconcile = flag;
  l.charged_units += c.units;
  l.charges += 1;
  ops->push_back(ledger_op::CloseLease{l.lease_id, l.closed_ms, reason, flag, c});
  AddUsage(l, -1);
  open_.erase(it);
  Remember(l);
  if (flag) flagged_[l.lease_id] = l;
  version_++;
  r.closed = true;
  r.units = c.units;
  r.lease = l;
  r.message = job + ": lease " + reason + ", charged " + std::to_string(c.units) + " GPU-unit-seconds";
  return r;
}

bool QuotaState::Touch(uint32_t job_id, int64_t now_ms, int64_t start_ms,
                       std::vector<LedgerOp>* ops) {
  auto it = open_.find(job_id);
  if (it == open_.end()) return false;
  LeaseRecord& l = it->second;
  l.heartbeat_ms = std::max(l.heartbeat_ms, now_ms);
  // Slurm's start is in whole seconds, so a job started right after its grant may look up to
  // a second older than the lease: take Slurm's time then (charges match its elapsed time). A
  // start long before the grant (a lease taken for a job already running) charges from the grant.
  int64_t new_start = start_ms <= 0 ? 0 : start_ms >= l.granted_ms - 1000 ? start_ms : l.granted_ms;
  bool start_changed = new_start > 0 && new_start != l.start_ms;
  if (start_changed) l.start_ms = new_start;
  if (start_changed || l.heartbeat_ms - l.hb_persisted_ms >= kPersistHeartbeatMs) {
    ops->push_back(ledger_op::Touch{l.lease_id, l.heartbeat_ms, start_changed ? new_start : 0});
    l.hb_persisted_ms = l.heartbeat_ms;
  }
  return true;
}

std::vector<LeaseRecord> QuotaState::ExpireStale(int64_t now_ms, int64_t timeout_ms,
                                                 std::vector<LedgerOp>* ops) {
  std::vector<uint32_t> stale;
  for (const auto& [job, l] : open_)
    if (now_ms - l.heartbeat_ms > timeout_ms) stale.push_back(job);
  std::vector<LeaseRecord> out;
  for (uint32_t job : stale) {
    int64_t hb = open_[job].heartbeat_ms;
    ReleaseResult r = Release(job, hb, "expired", now_ms, ops, /*flag=*/true);
    if (r.lease) out.push_back(*r.lease);
  }
  return out;
}

std::optional<double> QuotaState::Reconcile(int64_t lease_id, int64_t end_ms,
                                            std::vector<LedgerOp>* ops) {
  auto it = flagged_.find(lease_id);
  if (it == flagged_.end()) return std::nullopt;
  LeaseRecord l = it->second;
  int64_t from = l.closed_ms;
  int64_t to = end_ms > from ? end_ms : from;
  Charge c = MakeCharge(l, l.charges, from, to, "reconcile");
  l.closed_ms = to;
  l.needs_reconcile = false;
  l.charged_units += c.units;
  l.charges += 1;
  ops->push_back(ledger_op::Reconcile{l.lease_id, l.closed_ms, c});
  flagged_.erase(it);
  const LeaseRecord* last = LastClosedLease(l.job_id);
  if (last && last->lease_id == l.lease_id) Remember(l);
  version_++;
  return c.units;
}

void QuotaState::SetQueue(std::vector<QueueEntry> queue, std::vector<UnleasedJob> unleased) {
  queue_ = std::move(queue);
  unleased_ = std::move(unleased);
  version_++;
}

void QuotaState::SetPreempting(std::set<uint32_t> jobs) {
  if (jobs != preempting_) version_++;
  preempting_ = std::move(jobs);
}

std::vector<double> QuotaState::UsageNow(int64_t now_ms) const {
  std::vector<double> u(spec_.tenants.size(), 0.0);
  for (size_t t = 0; t < spec_.tenants.size(); ++t) {
    auto it = usage_.find(spec_.tenants[t].name);
    if (it == usage_.end()) continue;
    policy::DecayedUsage d{it->second.decayed, Seconds(it->second.as_of_ms)};
    u[t] = d.At(std::max(Seconds(now_ms), d.as_of), spec_.half_life_s);
  }
  for (const auto& [job, l] : open_) {
    int t = TenantIndex(l.tenant);
    if (t >= 0) u[static_cast<size_t>(t)] += RunningDecayedUsage(spec_, l.rate(), l.charge_start(), now_ms);
  }
  return u;
}

std::vector<double> QuotaState::BudgetUsedNow(int64_t now_ms) const {
  std::vector<double> used(spec_.tenants.size(), 0.0);
  policy::PeriodBounds p = policy::BudgetPeriodAt(spec_.budget_period, spec_.budget_period_start,
                                                  Seconds(now_ms));
  int64_t p_start = Millis(p.start);
  for (size_t t = 0; t < spec_.tenants.size(); ++t) {
    auto it = budget_.find({spec_.tenants[t].name, p_start});
    if (it != budget_.end()) used[t] = it->second;
  }
  for (const auto& [job, l] : open_) {
    int t = TenantIndex(l.tenant);
    if (t >= 0) used[static_cast<size_t>(t)] += ChargeUnits(l.rate(), std::max(l.charge_start(), p_start), now_ms);
  }
  return used;
}

QuotaState::BudgetInfo QuotaState::BudgetOf(int tenant, int64_t now_ms) const {
  BudgetInfo b;
  const std::string& name = spec_.tenants[static_cast<size_t>(tenant)].name;
  policy::PeriodBounds p = policy::BudgetPeriodAt(spec_.budget_period, spec_.budget_period_start,
                                                  Seconds(now_ms));
  int64_t p_start = Millis(p.start);
  auto it = budget_.find({name, p_start});
  if (it != budget_.end()) b.used_gpu_s = it->second;
  for (const auto& [job, l] : open_) {
    if (l.tenant != name) continue;
    b.used_gpu_s += ChargeUnits(l.rate(), std::max(l.charge_start(), p_start), now_ms);
    if (l.time_limit_s > 0) {
      double left = Seconds(l.charge_start()) + l.time_limit_s - Seconds(now_ms);
      if (left > 0) b.committed_gpu_s += l.rate() * left;
    }
  }
  return b;
}

policy::State QuotaState::PolicyState(int64_t now_ms) const {
  policy::State s;
  s.usage = UsageNow(now_ms);
  s.budget_used_gpu_s = BudgetUsedNow(now_ms);
  for (const auto& [job, l] : open_) {
    int t = TenantIndex(l.tenant), p = PartitionIndex(l.partition);
    if (t < 0 || p < 0) continue;
    policy::RunningJob r;
    r.id = job;
    r.tenant = t;
    r.partition = p;
    r.gpus = l.gpus;
    r.borrowed = l.borrowed;
    r.preempting = preempting_.count(job) > 0;
    r.start = Seconds(l.charge_start());
    r.time_limit_s = l.time_limit_s;
    s.running.push_back(r);
  }
  return s;
}

}  // namespace egret::quotad
