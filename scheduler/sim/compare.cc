#include "scheduler/sim/compare.h"

#include "common/strings.h"

namespace egret::sim {

Result<std::vector<NamedPolicy>> ComparedPolicies(const std::vector<std::string>& names) {
  using Order = policy::Options::Order;
  std::vector<NamedPolicy> all;
  policy::Options o;
  o.explain = false;
  o.budgets = false;
  // The baselines are the classic schedulers: Slurm's factor, no fair-share preemption.
  policy::Options base = o;
  base.running_weight = 0;
  base.fair_preemption = false;
  base.reservation_counts_guarantees = false;

  policy::Options fifo = base;
  fifo.order = Order::kFifo;
  fifo.quotas = fifo.borrowing = fifo.reclaim = false;
  all.push_back({"fifo", fifo});

  policy::Options quota = base;
  quota.order = Order::kFifo;
  quota.borrowing = quota.reclaim = false;
  all.push_back({"static-quota", quota});

  policy::Options fair = base;
  fair.order = Order::kFairshare;
  fair.quotas = fair.borrowing = fair.reclaim = false;
  all.push_back({"fairshare", fair});

  policy::Options egret = o;
  all.push_back({"egret", egret});

  if (names.empty()) return all;
  std::vector<NamedPolicy> picked;
  for (const std::string& n : names) {
    bool found = false;
    for (const NamedPolicy& p : all)
      if (p.name == n) picked.push_back(p), found = true;
    if (!found) return Error("unknown policy \"" + n + "\" (policies: fifo, static-quota, fairshare, egret)");
  }
  return picked;
}

Result<std::vector<PolicyRun>> Compare(const policy::Spec& spec, const Trace& trace,
                                 const std::vector<NamedPolicy>& policies, SimOptions base,
                                 const MetricOptions& metric_options) {
  std::vector<PolicyRun> runs;
  for (const NamedPolicy& p : policies) {
    SimOptions so = base;
    so.policy = p.options;
    so.policy.preempt_grace_s = base.preempt_grace_s;
    auto r = Simulate(spec, trace, so);
    if (!r.ok()) return r.error();
    PolicyRun run;
    run.metrics = ComputeMetrics(spec, base.partition, *r, metric_options);
    run.metrics.policy = p.name;
    run.result = std::move(r).value();
    runs.push_back(std::move(run));
  }
  return runs;
}

}  // namespace egret::sim
