// What egret-quotad needs from slurmctld, behind a small interface: the real one is libslurm
// (libslurm_api.cc); tests of the queue logic use a fake. Only plain data crosses it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"

namespace egret::quotad {

enum class JobState { kPending, kRunning, kSuspended, kFinished };

struct SlurmJob {
  uint32_t job_id = 0;
  uint32_t user_id = 0;
  std::string user;
  std::string account;
  std::string partition;  // may be a comma-separated list while pending
  JobState state = JobState::kPending;
  std::string state_name;  // COMPLETED, FAILED, ... (Slurm's names)
  bool completing = false;
  uint32_t priority = 0;  // 0 = held
  bool user_hold = false;  // held as the user's own hold (JobHeldUser), which the user may lift
  std::string comment;
  std::string admin_comment;
  int gpus = 0;  // total GPUs the job asks for (or holds)
  int64_t submit_time = 0, start_time = 0, end_time = 0;  // unix seconds
  double time_limit_s = 0;                                 // 0 = none (INFINITE)
  // Slurm 22.05 does not report a job's --signal through libslurm (nor to job_submit.lua),
  // so the preemption signal is the daemon's (--preempt-signal); an adapter for a Slurm that
  // does may fill these.
  int warn_signal = 0;
  bool warn_batch_only = false;
  int restart_cnt = 0;
  // Job arrays: a pending array's tasks share one record (the "meta" record, job_id ==
  // array_job_id) until slurmctld splits them off with ids of their own. ARRAY_TASKS is the
  // meta record's expression of the tasks it still holds ("0-3,7%2"); empty on other records.
  uint32_t array_job_id = 0;
  std::string array_tasks;
  // A dependency not yet satisfied ("afterok:12(unfulfilled)"); empty when none is left.
  std::string dependency;
  // --begin: not to start before this time (unix seconds; 0 when not given).
  int64_t begin_time = 0;
  int exit_signal = 0;  // for finished jobs: the signal that ended it, 0 if none
  int exit_code = 0;
};

class SlurmApi {
 public:
  virtual ~SlurmApi() = default;
  virtual Result<std::vector<SlurmJob>> LoadJobs() = 0;
  // Sets the job's priority (0 holds it; > 0 releases it) and, if not empty, its comment.
  virtual Status SetPriority(uint32_t job_id, uint32_t priority, const std::string& comment) = 0;
  virtual Status SetComment(uint32_t job_id, const std::string& comment) = 0;
  // Holds the job as an admin hold (JobHeldAdmin), which its user cannot release, and sets
  // its comment if COMMENT is not empty.
  virtual Status AdminHold(uint32_t job_id, const std::string& comment) = 0;
  // Sends SIGNAL: to the batch shell only (BATCH_ONLY), else to every step and the batch shell.
  virtual Status Signal(uint32_t job_id, int signal, bool batch_only) = 0;
  // Requeues a running (or finished) batch job; it comes back pending and held.
  virtual Status Requeue(uint32_t job_id) = 0;
  // Holds task TASK of the pending array ARRAY_JOB_ID on its own (admin hold, COMMENT), which
  // makes slurmctld split it off into a record with a job id of its own, so it can be
  // admitted, leased and charged like any job.
  virtual Status SplitArrayTask(uint32_t array_job_id, uint32_t task, const std::string& comment) = 0;
};

// Total GPUs asked for by a job, from Slurm's TRES strings ("gres:gpu:2", "gres/gpu:h100:2",
// "gres:gpu:a100:1;gres:shard:4"): per job, or per node x nodes, or per task x tasks, or per
// socket x nodes (one socket assumed: Slurm does not say how many per node while pending).
int GpusRequested(const std::string& tres_per_job, const std::string& tres_per_node,
                  const std::string& tres_per_task, const std::string& tres_per_socket,
                  uint32_t num_nodes, uint32_t num_tasks);
// The gpu count in one TRES list string, or -1 when it names no gpu.
int GpuCountIn(const std::string& tres);
// The task ids of an array expression ("0-3,8,10-20:5%4": ranges, steps, a throttle), at most
// LIMIT of them; empty when the expression is malformed.
std::vector<uint32_t> ArrayTaskIds(const std::string& expr, size_t limit = 100000);

}  // namespace egret::quotad
