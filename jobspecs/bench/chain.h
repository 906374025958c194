// Scheduled benchmarks as chains of Slurm jobs (Debian's Slurm has no scrontab): the
// pending link, with its --begin time, *is* the schedule; it survives daemon restarts in
// slurmctld's state and shows in squeue.
//
// Cancellation. `egret bench cancel` writes <dir>/cancelled, then scancels the pending
// links it finds. A running link submits its successor and only then checks for the
// marker, scancelling the successor if the marker is there. Both sides write first and
// read second, so one of them always sees the other: a successor submitted before the
// marker was written is found by cancel's query (which runs after the write), and one
// submitted after it is found by the link's check (which runs after its submit). A link
// that starts after the marker exists stops before doing anything. Needs a file system on
// which a file created on one host is visible to the next lookup on another (local
// disks, NFS with close-to-open consistency for the marker's directory).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "jobspecs/render/sbatch.h"
#include "jobspecs/slurm/jobs.h"
#include "jobspecs/spec/jobspec.h"

namespace egret::jobspec::bench {

struct Submitted {
  uint32_t job_id = 0;
  int64_t first_fire = 0;  // 0 for a one-off run
  std::string dir;
};

// Writes the schedule's directory (link.sbatch, schedule.json; removes an old cancel
// marker) and submits the first link to begin at the first fire time after NOW. Refuses
// while a link of a schedule with the same tenant and name is pending or running.
Result<Submitted> SubmitSchedule(const Jobspec& spec, const render::RenderOptions& options,
                                 int64_t now);

struct LinkResult {
  bool cancelled = false;
  uint32_t next_job = 0;  // 0 when none was submitted
  int64_t next_fire = 0;
  std::string message;    // what happened, for the link's log
};

// The chain step a running link takes first (`egret bench link`). SELF is the link's job
// id, FIRED_AT its scheduled time. PAUSE_S (tests only) sleeps between the cancel check and
// the submit and between the submit and the second check, to open the race windows.
Result<LinkResult> RunLink(const std::string& dir, uint32_t self, int64_t fired_at, int64_t now,
                           double pause_before_submit_s = 0, double pause_after_submit_s = 0);

struct Cancelled {
  std::string key;  // tenant:name
  std::string dir;
  std::vector<uint32_t> scancelled;  // pending links removed
  std::vector<uint32_t> running;     // links left to finish (they will not resubmit)
};

// NAME is "name", "tenant:name" or the job name. Only the caller's (UID's) jobs count.
Result<Cancelled> CancelSchedule(const std::string& name, uint32_t uid, bool kill_running);

struct Listed {
  std::string tenant, name, schedule, dir;
  std::optional<slurm::Job> pending;  // the next run
  std::optional<slurm::Job> running;
  std::string last_result;  // the last line of results.jsonl, or ""
};

Result<std::vector<Listed>> ListSchedules(uint32_t uid);

// The UID's active links of schedule NAME (as in CancelSchedule), from JOBS.
std::vector<slurm::Job> LinksOf(const std::vector<slurm::Job>& jobs, const std::string& name, uint32_t uid);

}  // namespace egret::jobspec::bench
