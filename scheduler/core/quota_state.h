// The daemon's state in memory: open leases, recently closed ones, each tenant's decayed
// usage and budget-period usage, the pending queue as the queue manager last saw it, and the
// config with its policy Spec. Every mutation returns the ledger ops that make it durable; the
// caller submits them to the GroupCommitter and acknowledges only after they commit.
//
// Not thread-safe (the service holds one mutex around it) and reads no clock: NOW is passed
// in, so tests drive it with any times they like.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "scheduler/config/config.h"
#include "scheduler/ledger/ledger.h"
#include "scheduler/policy/quota.h"
#include "scheduler/policy/types.h"

namespace egret::quotad {

struct AcquireRequest {
  uint32_t job_id = 0;
  std::string tenant;
  std::string partition;
  int gpus = 0;
  double time_limit_s = 0;  // 0 = unknown / none
  // Set by the queue manager, which already decided with the whole queue in view: the lease
  // is granted as decided (BORROWED says how) without deciding again.
  bool decided = false;
  bool borrowed = false;
};

enum class Decision { kGranted, kBorrowed, kDenied };
const char* DecisionName(Decision d);

struct AcquireResult {
  Decision decision = Decision::kDenied;
  std::string reason;
  LeaseRecord lease;      // valid unless denied
  bool existing = false;  // the job already held this lease (an idempotent retry)
};

struct ReleaseResult {
  bool closed = false;  // a lease was closed now
  double units = 0;     // GPU-unit-seconds charged now
  std::string message;  // what happened, for the reply and the audit log
  std::optional<LeaseRecord> lease;
};

// A pending job as the queue manager saw it, with why it waits.
struct QueueEntry {
  uint32_t job_id = 0;
  std::string tenant;
  std::string partition;
  std::string user;
  int gpus = 0;
  int64_t submit_ms = 0;
  int position = 0;
  bool denied = false;
  std::string reason;
};

// A running job in a managed partition that holds no lease (released by hand, or its lease
// expired): reported, never silently accepted.
struct UnleasedJob {
  uint32_t job_id = 0;
  std::string tenant;
  std::string partition;
  int gpus = 0;
  std::string user;
};

class QuotaState {
 public:
  QuotaState(std::shared_ptr<const config::Config> config, const LedgerSnapshot& snapshot,
             size_t keep_closed = 10000);

  // Swaps in a new config (already validated). Leases of tenants or partitions it no longer
  // has stay open and are charged at their recorded weight; they just count nowhere.
  void Reload(std::shared_ptr<const config::Config> config);

  const config::Config& config() const { return *config_; }
  std::shared_ptr<const config::Config> config_ptr() const { return config_; }
  const policy::Spec& spec() const { return spec_; }
  const policy::Options& options() const { return options_; }
  uint64_t version() const { return version_; }

  // --- mutations (append the ops that make them durable to OPS) ---
  Result<AcquireResult> Acquire(const AcquireRequest& req, int64_t now_ms,
                                std::vector<LedgerOp>* ops);
  // Closes JOB_ID's open lease at END_MS (clamped to [start, now + skew]); idempotent.
  // REASON: released, expired, preempted, reconciled. FLAG: still needs reconciliation.
  ReleaseResult Release(uint32_t job_id, int64_t end_ms, const std::string& reason,
                        int64_t now_ms, std::vector<LedgerOp>* ops, bool flag = false);
  // Marks leases alive at NOW_MS (and, if START_MS > 0, the job's real start). Returns false
  // when JOB_ID has no open lease.
  bool Touch(uint32_t job_id, int64_t now_ms, int64_t start_ms, std::vector<LedgerOp>* ops);
  // Closes every open lease not heartbeated for TIMEOUT_MS, at its last heartbeat, flagged.
  std::vector<LeaseRecord> ExpireStale(int64_t now_ms, int64_t timeout_ms,
                                       std::vector<LedgerOp>* ops);
  // Charges a flagged lease up to its job's real END_MS (0 = the job is gone and its end will
  // never be known: clear the flag, charge nothing more). Returns the extra units.
  std::optional<double> Reconcile(int64_t lease_id, int64_t end_ms, std::vector<LedgerOp>* ops);

  // --- what the queue manager tells us ---
  void SetQueue(std::vector<QueueEntry> queue, std::vector<UnleasedJob> unleased);
  void SetPreempting(std::set<uint32_t> jobs);
  void SetSlurmReachable(bool ok) { slurm_ok_ = ok; }

  // --- reads ---
  const LeaseRecord* OpenLease(uint32_t job_id) const;
  const LeaseRecord* LastClosedLease(uint32_t job_id) const;
  const std::map<uint32_t, LeaseRecord>& open_leases() const { return open_; }
  const std::map<int64_t, LeaseRecord>& flagged() const { return flagged_; }
  const std::vector<QueueEntry>& queue() const { return queue_; }
  const std::vector<UnleasedJob>& unleased() const { return unleased_; }
  const std::set<uint32_t>& preempting() const { return preempting_; }
  bool slurm_reachable() const { return slurm_ok_; }

  // Per tenant of the spec: decayed usage at NOW including running leases.
  std::vector<double> UsageNow(int64_t now_ms) const;
  // Per tenant of the spec: GPU-unit-seconds used in the budget period containing NOW.
  std::vector<double> BudgetUsedNow(int64_t now_ms) const;
  // The policy's view: usage, budgets, running jobs (pending left for the caller to fill).
  policy::State PolicyState(int64_t now_ms) const;
  // GPUs in use per tenant and partition (policy indices), from open leases.
  const policy::Usage& gpu_usage() const { return *gpu_usage_; }
  const TenantUsage* StoredUsage(const std::string& tenant) const;

  int TenantIndex(const std::string& name) const;
  int PartitionIndex(const std::string& name) const;

  // The budget verdict for a job of TENANT (index) asking GPUS on PARTITION (index) now.
  struct BudgetInfo {
    double used_gpu_s = 0;
    double committed_gpu_s = 0;
  };
  BudgetInfo BudgetOf(int tenant, int64_t now_ms) const;

 private:
  void Rebuild();
  void Remember(const LeaseRecord& closed);
  void AddUsage(const LeaseRecord& l, int sign);
  Charge MakeCharge(const LeaseRecord& l, int seq, int64_t start_ms, int64_t end_ms,
                    const std::string& kind);

  std::shared_ptr<const config::Config> config_;
  policy::Spec spec_;
  policy::Options options_;
  std::unordered_map<std::string, int> tenant_index_, partition_index_;
  std::unique_ptr<policy::Usage> gpu_usage_;

  std::map<uint32_t, LeaseRecord> open_;     // by job id
  std::map<int64_t, LeaseRecord> flagged_;   // closed, awaiting reconciliation, by lease id
  std::unordered_map<uint32_t, LeaseRecord> closed_;  // the last closed lease per job
  std::deque<uint32_t> closed_order_;
  size_t keep_closed_;
  std::map<std::string, TenantUsage> usage_;
  std::map<std::pair<std::string, int64_t>, double> budget_;  // (tenant, period start ms)
  int64_t next_lease_id_ = 1;

  std::vector<QueueEntry> queue_;
  std::vector<UnleasedJob> unleased_;
  std::set<uint32_t> preempting_;
  bool slurm_ok_ = true;
  uint64_t version_ = 1;
};

}  // namespace egret::quotad
