// A benchmark schedule's identity and its directory on the submitting host (next to the
// logs, so both `egret bench` on the login node and each link inside its job reach it):
//   <runs_dir>/link.sbatch     the script every link of the chain runs
//   <runs_dir>/schedule.json   name, tenant, schedule, workload (for listings)
//   <runs_dir>/cancelled       written by `egret bench cancel`: the chain stops
//   <runs_dir>/results.jsonl   every run's result line (also appended in the tenant's view)
//   <runs_dir>/<jobid>.out     each link's log; <runs_dir>/<jobid>/ its raw output
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "jobspecs/cron/schedule.h"

namespace egret::jobspec::bench {

// The Slurm job name every link of a chain carries: "egret-bench:<tenant>:<name>".
std::string ScheduleJobName(const std::string& tenant, const std::string& name);
// The inverse; false for names that are not a schedule's.
bool ParseScheduleJobName(const std::string& job_name, std::string* tenant, std::string* name);

std::string LinkScriptPath(const std::string& dir);
std::string CancelMarkerPath(const std::string& dir);
std::string ResultsCopyPath(const std::string& dir);
std::string ScheduleFilePath(const std::string& dir);

struct ScheduleFile {
  std::string tenant, name;
  std::string schedule;  // cron text, or "" for a one-off run
  bool interval = false; // schedule is an interval ("30s")
  std::string workload;
  std::string source;    // the jobspec it came from

  Result<cron::Schedule> Parsed() const;
};

Status WriteScheduleFile(const std::string& dir, const ScheduleFile& f);
Result<ScheduleFile> ReadScheduleFile(const std::string& dir);

// The submitting user's index of schedule directories, so `egret bench report` and
// `egret bench list` find a schedule after its chain has stopped:
// ${XDG_STATE_HOME:-$HOME/.local/state}/egret/schedules/<tenant>:<name> -> its directory.
std::string ScheduleIndexDir();
Status RecordScheduleDir(const std::string& tenant, const std::string& name, const std::string& dir);
struct IndexedSchedule {
  std::string tenant, name, dir;
};
std::vector<IndexedSchedule> IndexedSchedules();
// QUERY is "name" or "tenant:name"; an error when none or several match.
Result<IndexedSchedule> FindIndexedSchedule(const std::string& query);

// Local time as sbatch --begin takes it: 2026-11-25T20:30:00.
std::string BeginTime(int64_t unix_seconds);

}  // namespace egret::jobspec::bench
