#include "jobspecs/slurm/jobs.h"

#include <pwd.h>

#include <cstdio>
#include <mutex>

#include <slurm/slurm.h>
#include <slurm/slurm_errno.h>

// Exported by libslurm but absent from its public header.
extern "C" {
const char* slurm_job_state_string(uint32_t inx);
const char* slurm_job_reason_string(int inx);
}

namespace egret::jobspec::slurm {
namespace {

void InitOnce() {
  static std::once_flag once;
  std::call_once(once, [] { slurm_init(nullptr); });
}

std::string Str(const char* s) { return s ? s : ""; }

Job FromInfo(slurm_job_info_t& j) {
  Job job;
  job.id = j.job_id;
  job.array_job_id = j.array_job_id;
  if (j.array_task_id != NO_VAL && j.array_job_id != 0) job.array_task_id = j.array_task_id;
  job.array_tasks = Str(j.array_task_str);
  job.name = Str(j.name);
  job.uid = j.user_id;
  job.user = Str(j.user_name);
  if (job.user.empty()) {
    // slurmctld sends no user name without accounting: look the uid up here.
    struct passwd pw, *found = nullptr;
    char buf[4096];
    if (getpwuid_r(j.user_id, &pw, buf, sizeof buf, &found) == 0 && found) job.user = found->pw_name;
    else job.user = std::to_string(j.user_id);
  }
  job.account = Str(j.account);
  job.partition = Str(j.partition);
  job.nodes = Str(j.nodes);
  job.state = Str(slurm_job_state_string(j.job_state & JOB_STATE_BASE));
  if (j.job_state & JOB_REQUEUE) job.state = "REQUEUED";
  job.reason = Str(slurm_job_reason_string(j.state_reason));
  job.comment = Str(j.comment);
  char buf[4096];
  buf[0] = 0;
  slurm_get_job_stdout(buf, sizeof buf, &j);
  job.std_out = buf;
  job.work_dir = Str(j.work_dir);
  job.submit_time = j.submit_time;
  job.eligible_time = j.eligible_time;
  job.start_time = j.start_time;
  job.end_time = j.end_time;
  if (j.exit_code != NO_VAL) job.exit_code = static_cast<int>((j.exit_code >> 8) & 0xff);
  job.restarts = j.restart_cnt;
  return job;
}

}  // namespace

std::string Job::DisplayId() const {
  if (array_job_id == 0) return std::to_string(id);
  if (!array_tasks.empty()) return std::to_string(array_job_id) + "_[" + array_tasks + "]";
  return std::to_string(array_job_id) + "_" + std::to_string(array_task_id);
}

bool Job::IsArrayTask(uint32_t array_id, int64_t task) const {
  if (array_job_id != array_id) return false;
  if (array_tasks.empty()) return array_task_id == task;
  std::string expr = array_tasks.substr(0, array_tasks.find('%'));
  size_t start = 0;
  while (start <= expr.size()) {
    size_t comma = expr.find(',', start);
    std::string part = expr.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    int64_t lo = -1, hi = -1, step = 1;
    if (std::sscanf(part.c_str(), "%ld-%ld:%ld", &lo, &hi, &step) < 2) hi = lo;
    if (lo >= 0 && step > 0 && task >= lo && task <= hi && (task - lo) % step == 0) return true;
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return false;
}

bool Job::IsActive() const {
  return state == "PENDING" || state == "RUNNING" || state == "CONFIGURING" ||
         state == "REQUEUED" || state == "SUSPENDED" || state == "RESIZING" ||
         state == "COMPLETING" || state == "SIGNALING" || state == "STAGE_OUT";
}

Result<std::vector<Job>> LoadJobs() {
  InitOnce();
  job_info_msg_t* msg = nullptr;
  if (slurm_load_jobs(0, &msg, SHOW_ALL) != SLURM_SUCCESS)
    return Error(std::string("cannot list jobs from slurmctld: ") + slurm_strerror(slurm_get_errno()));
  std::vector<Job> out;
  for (uint32_t i = 0; i < msg->record_count; ++i) out.push_back(FromInfo(msg->job_array[i]));
  slurm_free_job_info_msg(msg);
  return out;
}

Result<std::optional<Job>> LoadJob(uint32_t id) {
  InitOnce();
  job_info_msg_t* msg = nullptr;
  if (slurm_load_job(&msg, id, SHOW_ALL) != SLURM_SUCCESS) {
    int err = slurm_get_errno();
    if (err == ESLURM_INVALID_JOB_ID) return std::optional<Job>();
    return Error("cannot read job " + std::to_string(id) + " from slurmctld: " + slurm_strerror(err));
  }
  std::optional<Job> out;
  for (uint32_t i = 0; i < msg->record_count; ++i)
    if (msg->job_array[i].job_id == id || !out) out = FromInfo(msg->job_array[i]);
  slurm_free_job_info_msg(msg);
  return out;
}

}  // namespace egret::jobspec::slurm
