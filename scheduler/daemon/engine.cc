#include "scheduler/daemon/engine.h"

#include <chrono>

#include "scheduler/core/charging.h"
#include "scheduler/policy/fairshare.h"

namespace egret::quotad {

int64_t SystemClockMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Engine::Engine(std::shared_ptr<const config::Config> config, std::unique_ptr<Ledger> ledger,
               const LedgerSnapshot& snapshot, AuditLog* audit, metrics::Registry* metrics,
               Clock clock, std::function<void(const Error&)> on_fatal)
    : state_(std::make_unique<QuotaState>(std::move(config), snapshot)),
      audit_(audit),
      clock_(std::move(clock)) {
  auto* commit_s = metrics->AddHistogram(
      "egret_quotad_ledger_commit_seconds", "Duration of a ledger commit (its fsync included)",
      {100e-6, 250e-6, 500e-6, 1e-3, 2e-3, 5e-3, 10e-3, 25e-3, 50e-3, 0.1, 0.5});
  auto* batch = metrics->AddHistogram("egret_quotad_ledger_commit_ops",
                                      "Operations per ledger commit (group commit batch size)",
                                      {1, 2, 4, 8, 16, 32, 64, 128, 512, 4096});
  committer_ = std::make_unique<GroupCommitter>(std::move(ledger), std::move(on_fatal),
                                                [commit_s, batch](double s, size_t n) {
                                                  commit_s->Observe(s);
                                                  batch->Observe(static_cast<double>(n));
                                                });
  for (const char* o : {"granted", "borrowed", "denied", "queued", "released", "expired",
                        "preempted", "reconciled"})
    decisions_[o] = metrics->AddCounter("egret_quotad_decisions_total", "Decisions by outcome",
                                        std::string("outcome=\"") + o + "\"");
  metrics->AddCollector([this](std::string* out) { CollectMetrics(out); });

}

Engine::~Engine() { committer_.reset(); }

void Engine::Reload(std::shared_ptr<const config::Config> config) {
  std::lock_guard<std::mutex> l(mu_);
  state_->Reload(std::move(config));
  config_generation_.fetch_add(1, std::memory_order_acq_rel);
}

void Engine::Count(const std::string& outcome, uint64_t n) {
  auto it = decisions_.find(outcome);
  if (it != decisions_.end()) it->second->Inc(n);
}

void Engine::CollectMetrics(std::string* out) const {
  int64_t now = clock_();
  GroupCommitStats cs = committer_->stats();
  std::lock_guard<std::mutex> l(mu_);
  const QuotaState& s = *state_;
  const policy::Spec& spec = s.spec();
  std::vector<double> usage = s.UsageNow(now);
  std::vector<double> factors = policy::FairshareFactors(spec, usage);
  std::vector<double> budget = s.BudgetUsedNow(now);
  auto family = [&](const char* name, const char* type, const char* help) {
    *out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  };
  auto tl = [](const std::string& t) { return "tenant=\"" + metrics::LabelValue(t) + "\""; };
  family("egret_quotad_usage_gpu_seconds", "gauge",
         "Decayed usage per tenant in normalised GPU-seconds, running leases included");
  for (size_t t = 0; t < spec.tenants.size(); ++t)
    metrics::Sample(out, "egret_quotad_usage_gpu_seconds", tl(spec.tenants[t].name), usage[t]);
  family("egret_quotad_fairshare_factor", "gauge", "Fairshare factor 2^(-U/S) per tenant");
  for (size_t t = 0; t < spec.tenants.size(); ++t)
    metrics::Sample(out, "egret_quotad_fairshare_factor", tl(spec.tenants[t].name), factors[t]);
  family("egret_quotad_budget_used_gpu_hours", "gauge",
         "Normalised GPU-hours used per tenant in the current budget period");
  for (size_t t = 0; t < spec.tenants.size(); ++t)
    metrics::Sample(out, "egret_quotad_budget_used_gpu_hours", tl(spec.tenants[t].name), budget[t] / 3600.0);
  family("egret_quotad_quota_gpus", "gauge", "Nominal GPU quota per tenant and partition");
  family("egret_quotad_in_use_gpus", "gauge", "GPUs held by leases per tenant and partition");
  family("egret_quotad_borrowed_gpus", "gauge", "GPUs held beyond nominal per tenant and partition");
  std::string q, u, b;
  const policy::Usage& gu = s.gpu_usage();
  for (size_t t = 0; t < spec.tenants.size(); ++t)
    for (size_t p = 0; p < spec.partitions.size(); ++p) {
      std::string lab = tl(spec.tenants[t].name) + ",partition=\"" +
                        metrics::LabelValue(spec.partitions[p].name) + "\"";
      metrics::Sample(&q, "egret_quotad_quota_gpus", lab, spec.tenants[t].quota[p].nominal);
      metrics::Sample(&u, "egret_quotad_in_use_gpus", lab, gu.Used(static_cast<int>(t), static_cast<int>(p)));
      metrics::Sample(&b, "egret_quotad_borrowed_gpus", lab, gu.Borrowed(static_cast<int>(t), static_cast<int>(p)));
    }
  *out += q + u + b;
  family("egret_quotad_queue_length", "gauge", "Pending jobs held for admission per tenant");
  std::map<std::string, int> qlen;
  for (const auto& t : spec.tenants) qlen[t.name] = 0;
  for (const QueueEntry& e : s.queue()) qlen[e.tenant]++;
  for (const auto& [t, n] : qlen) metrics::Sample(out, "egret_quotad_queue_length", tl(t), n);
  family("egret_quotad_open_leases", "gauge", "Open leases");
  metrics::Sample(out, "egret_quotad_open_leases", "", static_cast<double>(s.open_leases().size()));
  family("egret_quotad_leases_awaiting_reconciliation", "gauge",
         "Closed leases whose job's real end is not yet known");
  metrics::Sample(out, "egret_quotad_leases_awaiting_reconciliation", "", static_cast<double>(s.flagged().size()));
  family("egret_quotad_unleased_running_jobs", "gauge",
         "Jobs running in managed partitions without a lease");
  metrics::Sample(out, "egret_quotad_unleased_running_jobs", "", static_cast<double>(s.unleased().size()));
  family("egret_quotad_slurm_reachable", "gauge", "1 when the last poll of slurmctld succeeded");
  metrics::Sample(out, "egret_quotad_slurm_reachable", "", s.slurm_reachable() ? 1 : 0);
  family("egret_quotad_ledger_commits_total", "counter", "Ledger transactions committed (each one fsync)");
  metrics::Sample(out, "egret_quotad_ledger_commits_total", "", static_cast<double>(cs.commits));
  family("egret_quotad_ledger_ops_total", "counter", "Ledger operations committed");
  metrics::Sample(out, "egret_quotad_ledger_ops_total", "", static_cast<double>(cs.ops));
}

}  // namespace egret::quotad
