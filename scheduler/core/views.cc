#include "scheduler/core/views.h"

#include <cmath>

#include "common/strings.h"
#include "scheduler/core/charging.h"
#include "scheduler/policy/budget.h"
#include "scheduler/policy/fairshare.h"
#include "scheduler/protocol/json_text.h"
#include "scheduler/protocol/messages.h"

namespace egret::quotad {

using nlohmann::json;

namespace {

json Limit(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

std::string MemberName(const config::Member& m) {
  return m.kind == config::Member::Kind::kGroup ? "@" + m.name : m.name;
}

json TenantsView(const QuotaState& s, const Scope& scope) {
  json out = json::array();
  const config::Config& c = s.config();
  for (const config::Tenant& t : c.tenants) {
    if (!scope.Sees(t.name)) continue;
    json members = json::array(), quotas = json::array();
    for (const auto& m : t.members) members.push_back(MemberName(m));
    for (const auto& q : t.quotas)
      quotas.push_back({{"partition", q.partition},
                        {"nominal_gpus", q.nominal_gpus},
                        {"borrowing_limit", Limit(q.borrowing_limit)},
                        {"lending_limit", Limit(q.lending_limit)}});
    out.push_back({{"tenant", t.name},
                   {"shares", t.shares},
                   {"cohort", t.cohort},
                   {"members", members},
                   {"quotas", quotas},
                   {"allowed_partitions", t.allowed_partitions},
                   {"budget_gpu_hours", t.budget_gpu_hours ? json(*t.budget_gpu_hours) : json(nullptr)}});
  }
  return out;
}

json SharesView(const QuotaState& s, const Scope& scope, int64_t now_ms) {
  const policy::Spec& spec = s.spec();
  std::vector<double> usage = s.UsageNow(now_ms);
  std::vector<double> norm_shares = policy::NormalisedShares(spec);
  std::vector<double> factors = policy::FairshareFactors(spec, usage);
  double total = 0;
  for (double u : usage) total += u;
  json out = json::array();
  for (size_t t = 0; t < spec.tenants.size(); ++t) {
    if (!scope.Sees(spec.tenants[t].name)) continue;
    out.push_back({{"tenant", spec.tenants[t].name},
                   {"raw_shares", spec.tenants[t].shares},
                   {"norm_shares", norm_shares[t]},
                   {"raw_usage", usage[t]},
                   {"norm_usage", total > 0 ? usage[t] / total : 0.0},
                   {"fairshare", factors[t]}});
  }
  return out;
}

json UsageView(const QuotaState& s, const Scope& scope) {
  const policy::Spec& spec = s.spec();
  const policy::Usage& u = s.gpu_usage();
  json rows = json::array();
  for (size_t t = 0; t < spec.tenants.size(); ++t) {
    if (!scope.Sees(spec.tenants[t].name)) continue;
    for (size_t p = 0; p < spec.partitions.size(); ++p) {
      int ti = static_cast<int>(t), pi = static_cast<int>(p);
      const policy::QuotaSpec& q = spec.tenants[t].quota[p];
      if (!spec.tenants[t].allowed[p] && u.Used(ti, pi) == 0) continue;
      rows.push_back({{"tenant", spec.tenants[t].name},
                      {"partition", spec.partitions[p].name},
                      {"nominal_gpus", q.nominal},
                      {"in_use_gpus", u.Used(ti, pi)},
                      {"borrowed_gpus", u.Borrowed(ti, pi)},
                      {"lendable_gpus", u.Lendable(ti, pi)}});
    }
  }
  json parts = json::array();
  for (size_t p = 0; p < spec.partitions.size(); ++p)
    parts.push_back({{"partition", spec.partitions[p].name},
                     {"capacity_gpus", spec.partitions[p].capacity_gpus},
                     {"in_use_gpus", u.PartitionUsed(static_cast<int>(p))},
                     {"managed", spec.partitions[p].managed}});
  return {{"tenants", rows}, {"partitions", parts}};
}

json QueueView(const QuotaState& s, const Scope& scope) {
  json out = json::array();
  for (const QueueEntry& q : s.queue()) {
    if (!scope.Sees(q.tenant)) continue;
    out.push_back({{"job_id", q.job_id},
                   {"tenant", q.tenant},
                   {"partition", q.partition},
                   {"user", q.user},
                   {"gpus", q.gpus},
                   {"position", q.position},
                   {"state", q.denied ? "denied" : "queued"},
                   {"submit_time", Seconds(q.submit_ms)},
                   {"reason", q.reason}});
  }
  return out;
}

json LeasesView(const QuotaState& s, const Scope& scope, int64_t now_ms) {
  json open = json::array(), flagged = json::array(), unleased = json::array();
  for (const auto& [job, l] : s.open_leases()) {
    if (!scope.Sees(l.tenant)) continue;
    json j = LeaseJson(l, now_ms);
    j["preempting"] = s.preempting().count(job) > 0;
    open.push_back(std::move(j));
  }
  for (const auto& [id, l] : s.flagged())
    if (scope.Sees(l.tenant)) flagged.push_back(LeaseJson(l, now_ms));
  for (const UnleasedJob& u : s.unleased())
    if (scope.Sees(u.tenant))
      unleased.push_back({{"job_id", u.job_id}, {"tenant", u.tenant}, {"partition", u.partition},
                          {"gpus", u.gpus}, {"user", u.user}});
  return {{"open", open}, {"awaiting_reconciliation", flagged}, {"running_without_lease", unleased}};
}

json BudgetView(const QuotaState& s, const Scope& scope, int64_t now_ms) {
  const policy::Spec& spec = s.spec();
  std::vector<double> used = s.BudgetUsedNow(now_ms);
  policy::PeriodBounds p = policy::BudgetPeriodAt(spec.budget_period, spec.budget_period_start,
                                                  Seconds(now_ms));
  json rows = json::array();
  for (size_t t = 0; t < spec.tenants.size(); ++t) {
    if (!scope.Sees(spec.tenants[t].name)) continue;
    double budget = spec.tenants[t].budget_gpu_hours;
    double used_h = used[t] / 3600.0;
    rows.push_back({{"tenant", spec.tenants[t].name},
                    {"budget_gpu_hours", Limit(budget)},
                    {"used_gpu_hours", used_h},
                    {"remaining_gpu_hours", std::isfinite(budget) ? json(std::max(0.0, budget - used_h)) : json(nullptr)}});
  }
  return {{"period", std::string(config::BudgetPeriodName(s.config().budget_period))},
          {"period_start", p.start},
          {"period_end", p.end},
          {"tenants", rows}};
}

}  // namespace

json LeaseJson(const LeaseRecord& l, int64_t now_ms) {
  json j = {{"lease_id", l.lease_id},
            {"job_id", l.job_id},
            {"tenant", l.tenant},
            {"partition", l.partition},
            {"gpus", l.gpus},
            {"weight", l.weight},
            {"state", l.borrowed ? "borrowed" : "granted"},
            {"granted_at", Seconds(l.granted_ms)},
            {"granted_at_ms", l.granted_ms},
            {"start_at", l.started() ? json(Seconds(l.start_ms)) : json(nullptr)},
            {"heartbeat_at", Seconds(l.heartbeat_ms)},
            {"time_limit_s", l.time_limit_s},
            {"charged_units", l.charged_units}};
  if (l.open()) {
    j["open"] = true;
    j["accrued_units"] = ChargeUnits(l.rate(), l.charge_start(), now_ms);
  } else {
    j["open"] = false;
    j["closed_at"] = Seconds(l.closed_ms);
    j["close_reason"] = l.close_reason;
    j["needs_reconcile"] = l.needs_reconcile;
  }
  return j;
}

std::string LeaseJsonText(const LeaseRecord& l, int64_t now_ms) {
  std::string out;
  out.reserve(320);
  JsonObject o(&out);
  o.Int("lease_id", l.lease_id)
      .Int("job_id", l.job_id)
      .Str("tenant", l.tenant)
      .Str("partition", l.partition)
      .Int("gpus", l.gpus)
      .Num("weight", l.weight)
      .Str("state", l.borrowed ? "borrowed" : "granted")
      .Num("granted_at", Seconds(l.granted_ms))
      .Int("granted_at_ms", l.granted_ms);
  if (l.started()) o.Num("start_at", Seconds(l.start_ms));
  else o.Null("start_at");
  o.Num("heartbeat_at", Seconds(l.heartbeat_ms)).Num("time_limit_s", l.time_limit_s).Num("charged_units", l.charged_units);
  if (l.open()) {
    o.Bool("open", true).Num("accrued_units", ChargeUnits(l.rate(), l.charge_start(), now_ms));
  } else {
    o.Bool("open", false)
        .Num("closed_at", Seconds(l.closed_ms))
        .Str("close_reason", l.close_reason)
        .Bool("needs_reconcile", l.needs_reconcile);
  }
  o.Close();
  return out;
}

Result<json> BuildView(const QuotaState& s, const std::string& view, const Scope& scope,
                       int64_t now_ms, std::string* error_code) {
  *error_code = code::kBadRequest;
  if (view == "tenants") return TenantsView(s, scope);
  if (view == "shares") return SharesView(s, scope, now_ms);
  if (view == "usage") return UsageView(s, scope);
  if (view == "queue") return QueueView(s, scope);
  if (view == "leases") return LeasesView(s, scope, now_ms);
  if (view == "budget") return BudgetView(s, scope, now_ms);
  if (view.rfind("why:", 0) == 0) {
    std::string id = view.substr(4);
    char* end = nullptr;
    unsigned long v = std::strtoul(id.c_str(), &end, 10);
    if (id.empty() || *end != '\0' || v == 0 || v > UINT32_MAX)
      return Error("why: '" + id + "' is not a job id");
    uint32_t job = static_cast<uint32_t>(v);
    std::string tenant;
    json j = {{"job_id", job}};
    if (const LeaseRecord* l = s.OpenLease(job)) {
      tenant = l->tenant;
      j["state"] = s.preempting().count(job) ? "preempting" : "running";
      j["reason"] = std::string("holds a ") + (l->borrowed ? "borrowed" : "granted") + " lease for " +
                    std::to_string(l->gpus) + " GPUs of " + l->tenant + " on " + l->partition;
      j["lease"] = LeaseJson(*l, now_ms);
    } else {
      for (const QueueEntry& q : s.queue())
        if (q.job_id == job) {
          tenant = q.tenant;
          j["state"] = q.denied ? "denied" : "queued";
          j["position"] = q.position;
          j["reason"] = q.reason;
          j["tenant"] = q.tenant;
          j["partition"] = q.partition;
        }
      if (tenant.empty())
        for (const UnleasedJob& u : s.unleased())
          if (u.job_id == job) {
            tenant = u.tenant;
            j["state"] = "running_without_lease";
            j["reason"] = "runs in a managed partition without an admission lease (released by "
                          "hand, or its lease expired)";
          }
      if (tenant.empty())
        if (const LeaseRecord* l = s.LastClosedLease(job)) {
          tenant = l->tenant;
          j["state"] = "finished";
          j["reason"] = "lease closed (" + l->close_reason + "), charged " +
                        std::to_string(l->charged_units) + " GPU-unit-seconds";
          j["lease"] = LeaseJson(*l, now_ms);
        }
    }
    if (tenant.empty()) {
      *error_code = code::kNotFound;
      return Error("egret-quotad knows nothing about job " + id +
                   " (not in a managed partition, not yet seen, or long finished)");
    }
    if (!scope.Sees(tenant)) {
      *error_code = code::kForbidden;
      return Error("job " + id + " belongs to another tenant");
    }
    return j;
  }
  return Error("unknown view '" + view + "' (known: " + kViews + ")");
}

}  // namespace egret::quotad
