// What the ledger stores: leases, the charges made against them, and per-tenant aggregates
// (decayed usage for fairshare, GPU-unit-seconds per budget period). Times are unix
// milliseconds; usage is in GPU-unit-seconds (GPUs x GPU-type weight x seconds).
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace egret::quotad {

struct LeaseRecord {
  int64_t lease_id = 0;
  uint32_t job_id = 0;
  std::string tenant;
  std::string partition;
  int gpus = 0;
  double weight = 1.0;  // the GPU type's weight when granted; a reload does not re-price it
  double time_limit_s = 0;  // the job's time limit when known (budget commitments); 0 = none
  bool borrowed = false;
  int64_t granted_ms = 0;
  int64_t start_ms = 0;      // the job's start in Slurm once seen running; 0 until then
  int64_t heartbeat_ms = 0;  // last sign of life
  int64_t closed_ms = 0;     // 0 while open; else charged up to here
  std::string close_reason;  // released, expired, preempted, reconciled
  bool needs_reconcile = false;
  double charged_units = 0;  // GPU-unit-seconds charged so far (all charges)
  int charges = 0;           // number of charge rows (the next charge's seq)
  int64_t hb_persisted_ms = 0;  // in memory only: the heartbeat last written to the ledger

  bool open() const { return closed_ms == 0; }
  bool started() const { return start_ms > 0; }
  // Charging runs from the job's real start, or from the grant while that is unknown.
  int64_t charge_start() const { return start_ms > 0 ? start_ms : granted_ms; }
  double rate() const { return gpus * weight; }  // GPU units while running
};

struct TenantUsage {
  double decayed = 0;     // decayed usage as of as_of_ms (GPU-unit-seconds)
  int64_t as_of_ms = 0;
  double total_units = 0;  // everything ever charged, undecayed
};

struct BudgetPart {
  int64_t period_start_ms = 0;
  double units = 0;
};

// One charge against a lease; (lease_id, seq) is unique, so a charge is recorded once.
struct Charge {
  int64_t lease_id = 0;
  int seq = 0;
  std::string tenant;
  int64_t start_ms = 0;
  int64_t end_ms = 0;
  double units = 0;
  std::string kind;  // release, expiry, preempt, reconcile
  TenantUsage usage_after;         // the tenant's aggregate including this charge
  std::vector<BudgetPart> budget;  // the charge split over budget periods
};

namespace ledger_op {
struct OpenLease {
  LeaseRecord lease;
};
// Closes an open lease and records its charge, atomically.
struct CloseLease {
  int64_t lease_id = 0;
  int64_t closed_ms = 0;
  std::string reason;
  bool needs_reconcile = false;
  Charge charge;
};
// A later charge for a closed lease whose end was not known (expired, or its job ended while
// the daemon was down): moves closed_ms to the real end and clears the flag.
struct Reconcile {
  int64_t lease_id = 0;
  int64_t closed_ms = 0;
  Charge charge;  // units may be 0
};
// Heartbeat and/or the job's real start; cheap, and never charges anything.
struct Touch {
  int64_t lease_id = 0;
  int64_t heartbeat_ms = 0;
  int64_t start_ms = 0;
};
}  // namespace ledger_op

using LedgerOp = std::variant<ledger_op::OpenLease, ledger_op::CloseLease, ledger_op::Reconcile,
                              ledger_op::Touch>;

}  // namespace egret::quotad
