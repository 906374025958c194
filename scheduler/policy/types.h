// The plain structs the policy works on. Tenants and partitions are referred to by index into
// Spec's vectors so a decision costs no string look-ups; names are kept for the reasons people
// read. Time is seconds on whatever clock the caller uses (unix time in the daemon, simulated
// time in egret-sim); the policy never reads a clock.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace egret::policy {

using Time = double;    // seconds
using JobId = uint64_t;
inline constexpr double kUnlimited = std::numeric_limits<double>::infinity();
inline constexpr int kNoCohort = -1;

enum class Period { kDaily, kWeekly, kMonthly };

struct PartitionSpec {
  std::string name;
  int capacity_gpus = 0;
  double weight = 1.0;   // normalised GPU units per GPU
  bool managed = true;   // unmanaged partitions are admitted without any check but membership
};

struct QuotaSpec {
  double nominal = 0;                   // GPUs guaranteed on this partition
  double borrowing_limit = kUnlimited;  // GPUs beyond nominal it may borrow in its cohort
  double lending_limit = kUnlimited;    // GPUs of its unused nominal the cohort may borrow
};

struct TenantSpec {
  std::string name;
  double shares = 1;
  int cohort = kNoCohort;           // index into Spec::cohorts
  std::vector<QuotaSpec> quota;     // one per partition (nominal 0, limits 0 where none is set)
  std::vector<bool> allowed;        // one per partition
  double budget_gpu_hours = kUnlimited;  // per period, normalised GPU-hours
};

// Everything the policy needs from tenants.toml, read once per (re)load.
struct Spec {
  double half_life_s = 7 * 86400.0;  // 0 = no decay
  Period budget_period = Period::kMonthly;
  Time budget_period_start = 0;      // unix seconds (UTC) of the first period's start
  std::vector<PartitionSpec> partitions;
  std::vector<TenantSpec> tenants;
  std::vector<std::string> cohorts;

  int TenantIndex(const std::string& name) const;     // -1 when unknown
  int PartitionIndex(const std::string& name) const;  // -1 when unknown
};

struct RunningJob {
  JobId id = 0;
  int tenant = 0;
  int partition = 0;
  int gpus = 0;
  bool borrowed = false;    // admitted beyond its tenant's nominal quota
  bool preempting = false;  // signalled to checkpoint and requeue; still holds its GPUs
  Time start = 0;
  double time_limit_s = 0;  // 0 = none given (never expected to end, for reservations)
};

struct PendingJob {
  JobId id = 0;
  int tenant = 0;
  int partition = 0;
  int gpus = 0;
  Time submit = 0;
  double time_limit_s = 0;  // 0 = none given
};

// What the daemon (or the simulator) knows at the moment it asks for decisions.
struct State {
  // Per tenant, decayed usage in normalised GPU-seconds as of `now`, running jobs' usage up to
  // `now` included (see fairshare.h: DecayedUsage).
  std::vector<double> usage;
  // Per tenant, normalised GPU-seconds charged in the current budget period up to `now`,
  // running jobs included.
  std::vector<double> budget_used_gpu_s;
  std::vector<RunningJob> running;
  std::vector<PendingJob> pending;
};

// Which parts of the policy are on. Egret is everything; the simulator's baselines switch
// parts off, so every policy it compares runs this same code.
struct Options {
  enum class Order { kFairshare, kFifo };
  Order order = Order::kFairshare;
  bool quotas = true;        // false: only physical capacity limits admission
  bool borrowing = true;     // admit beyond nominal with idle quota lent inside the cohort
  bool reclaim = true;       // preempt borrowed jobs when a lender needs its nominal back
  // A tenant's next job that needs borrowing may preempt borrowed jobs of tenants holding a
  // larger share than it would (fair_preemption.h).
  bool fair_preemption = true;
  // Also preempt when the preemptor ends below the victim's share before preemption (Kueue's
  // LessThanInitialShare), not only when it ends no higher than the victim's share after.
  bool fair_preemption_initial_share = true;
  // With the initial-share rule, the victim's share must exceed the preemptor's final share by
  // this fraction (hysteresis against chains of preemptions over small differences).
  double fair_preemption_margin = 0.5;
  // Fair preemption spares jobs whose time limit ends within this many seconds.
  double fair_preemption_min_left_s = 1800;
  bool reservation = true;   // backfill: hold GPUs for the highest-priority blocked job
  // A tenant's jobs that fit its unused nominal quota may start ahead of its own earlier job
  // that waits to borrow: the quota is theirs either way.
  bool nominal_backfill = false;
  // A job gets a reservation only after waiting this long (Slurm's bf_min_age_reserve).
  double reservation_min_age_s = 0;
  // A reservation does not count on borrowing the nominal quota of tenants that have jobs
  // waiting (they will claim it themselves, ahead of any reservation): a reservation that
  // could only start by borrowing from busy tenants is not made, so it holds no GPUs idle.
  bool reservation_counts_guarantees = true;
  bool budgets = true;
  // Fairshare order counts each tenant's running GPUs as usage too: held normalised GPUs x
  // running_weight x half_life / ln 2 (what a steady rate amounts to in decayed usage), and a
  // pass re-ranks tenants as it admits their jobs. 0 is Slurm's classic order, from decayed
  // past usage alone, fixed for the pass (the simulator's "fairshare" baseline).
  double running_weight = 1;
  // How long a signalled job is expected to take to checkpoint and exit, for reservations.
  double preempt_grace_s = 120;
  // Write Waiting::reason texts. The simulator turns this off: it needs the decisions only.
  bool explain = true;
};

enum class Outcome { kGranted, kBorrowed, kQueued, kDenied };
const char* OutcomeName(Outcome o);  // "granted", "borrowed", "queued", "denied"

struct Admission {
  JobId job = 0;
  bool borrowed = false;
  uint32_t slurm_priority = 1;  // the priority to release the job with (SlurmPriority)
};

struct Preemption {
  JobId job = 0;       // the borrowed job to signal and requeue
  JobId for_job = 0;   // the pending job whose nominal quota it gives back
  std::string reason;  // "reclaimed by globex (job 17) on gpu: acme borrowed 2 GPUs"
};

struct Waiting {
  JobId job = 0;
  int position = 0;    // 1-based, among pending jobs on its partition in priority order
  bool denied = false; // a refusal (never admissible as asked, or budget spent), not a queue
  std::string reason;  // "acme: 8/8 GPUs in use on gpu, cohort has 0 idle to lend; position 2"
  Time reserved_start = -1;  // when a reservation holds GPUs for it; -1 otherwise
};

struct Decisions {
  std::vector<Admission> admit;      // in the order they were decided
  std::vector<Preemption> preempt;
  std::vector<Waiting> waiting;      // every pending job not admitted, queued or denied
};

}  // namespace egret::policy
