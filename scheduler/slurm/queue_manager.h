// The queue manager: Kueue's "suspended until admitted", done with Slurm's own tools.
// job_submit.lua holds every new job of a managed partition (priority 0). Each pass:
//
//  1. reads all jobs from slurmctld (one slurm_load_jobs),
//  2. reconciles leases with them: heartbeats leases whose jobs live, closes leases whose jobs
//     ended (charged to the end time slurmctld reports), settles leases that expired, and
//     reports jobs running in managed partitions without a lease,
//  3. runs the policy over the held jobs (policy::Schedule: fairshare order, quotas,
//     borrowing, reservations, budgets),
//  4. admits: grants the leases durably first (one commit for the pass), then releases each
//     job with the priority from its fairshare factor,
//  5. writes every waiting job's reason into its comment (squeue -o %k, scontrol show job)
//     and keeps it for `egretctl why`,
//  6. preempts for reclaim: sends the job's signal (its --signal, else SIGUSR1) so it can
//     checkpoint, waits the grace period, requeues it (held: it re-enters the queue), and
//     closes its lease charged up to then.
//
// Only pending jobs whose AdminComment is the marker job_submit.lua sets are considered; to keep
// a managed job back by hand, hold it and change its AdminComment. A failed slurmctld call
// leaves everything as it was; the next pass retries.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "scheduler/daemon/engine.h"
#include "scheduler/slurm/slurm_api.h"

namespace egret::quotad {

// The marker job_submit.lua puts in admin_comment (which users cannot change).
inline constexpr const char* kHeldMarker = "egret:held";
inline constexpr const char* kCommentPrefix = "egret: ";

struct QueueManagerOptions {
  double poll_interval_s = 1;
  double preempt_grace_s = 120;
  int default_signal = 10;  // SIGUSR1
};

struct PassReport {
  bool slurm_ok = false;
  int admitted = 0;
  int waiting = 0;
  int preempt_signalled = 0;
  int requeued = 0;
  int reconciled = 0;
  int unleased = 0;
};

class QueueManager {
 public:
  QueueManager(Engine* engine, SlurmApi* slurm, QueueManagerOptions options);
  ~QueueManager();

  // One pass (tests call it directly; the thread calls it every poll interval).
  PassReport RunPass();

  void Start();
  void Stop();

 private:
  struct Preempting {
    int64_t signalled_ms = 0;
    int signal = 0;
    std::string reason;
  };
  int Reconcile(const std::map<uint32_t, const SlurmJob*>& jobs, int64_t now_ms);
  // Jobs it requeued or saw end go into SETTLED: this pass's snapshot of them is stale.
  int PreemptionStep(const std::map<uint32_t, const SlurmJob*>& jobs, int64_t now_ms, std::set<uint32_t>& settled);
  void Log(const std::string& line);

  Engine* engine_;
  SlurmApi* slurm_;
  QueueManagerOptions options_;
  std::map<uint32_t, Preempting> preempting_;
  std::set<uint32_t> reported_unleased_;
  bool slurm_was_ok_ = true;

  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
};

// The first partition of a pending job's partition list ("gpu,cpu" -> "gpu").
std::string FirstPartition(const std::string& list);

}  // namespace egret::quotad
