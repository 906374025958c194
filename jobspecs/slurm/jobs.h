// Jobs as slurmctld knows them (libslurm), in the few fields `egret status` and the
// benchmark chains use. Jobs that ended more than MinJobAge ago are gone from slurmctld.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace egret::jobspec::slurm {

struct Job {
  uint32_t id = 0;
  uint32_t array_job_id = 0;    // 0 unless part of an array
  int64_t array_task_id = -1;   // -1 unless one task of an array
  std::string array_tasks;      // a pending array's not-yet-split tasks ("0-3"), else ""
  std::string name, user, account, partition, nodes;
  uint32_t uid = 0;
  std::string state;   // PENDING, RUNNING, COMPLETED, ... (Slurm's names)
  std::string reason;  // Slurm's reason while pending ("BeginTime", "JobHeldAdmin", ...)
  std::string comment;
  std::string std_out;   // with %j, %A, %a ... already expanded
  std::string work_dir;
  int64_t submit_time = 0, eligible_time = 0, start_time = 0, end_time = 0;
  int exit_code = 0;      // the batch script's exit status
  int restarts = 0;       // times requeued

  // "123", "120_3" for an array task, "120_[0-3]" for pending tasks not yet split.
  std::string DisplayId() const;
  bool IsPending() const { return state == "PENDING"; }
  bool IsActive() const;  // pending, running, or on its way there (configuring, requeued, ...)
  // Whether this record is array task TASK of array ARRAY_ID: the task itself, or a pending
  // record of not-yet-split tasks ("0-3,7", "0-15:4%2") that includes it.
  bool IsArrayTask(uint32_t array_id, int64_t task) const;
};

Result<std::vector<Job>> LoadJobs();
// The job or array task with this id (an array's own id gives its first record).
Result<std::optional<Job>> LoadJob(uint32_t id);

}  // namespace egret::jobspec::slurm
