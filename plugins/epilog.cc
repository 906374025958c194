#include "plugins/epilog.h"

#include <unistd.h>

#include <ctime>

#include "plugins/job_dirs.h"
#include "plugins/job_identity.h"
#include "plugins/state.h"
#include "scheduler/client/quotad_client.h"

namespace egret::plugin {

int JobEpilog(spank_t sp) {
  PluginState& s = State();
  uint32_t job_id = 0;
  if (spank_get_item(sp, S_JOB_ID, &job_id) != ESPANK_SUCCESS) {
    LogError("egret: epilog without a job id");
    return 0;
  }
  if (!s.config_error.empty()) {
    LogError(s.config_error + " (epilog of job " + std::to_string(job_id) + ")");
    return 0;
  }
  char buf[256] = {};
  ::gethostname(buf, sizeof buf - 1);
  std::string host(buf);
  host = host.substr(0, host.find('.'));
  for (const std::string& root : {s.config.job_root, s.config.shm_root}) {
    auto removed = RemoveJobDirs(root, job_id, host);
    if (!removed.ok())
      LogError("egret: job " + std::to_string(job_id) + ": cannot remove its private directory: " +
               removed.error().message());
  }

  auto job = LoadJobFacts(job_id);
  if (job.ok() && !IsManaged(s.config, job->partition)) return 0;
  // The job's own end time when slurmctld has it (it ended before its epilog), so usage is
  // charged for exactly the time the job ran, not the epilog's delay.
  int64_t end = job.ok() && job->end_time > 0 ? job->end_time : static_cast<int64_t>(std::time(nullptr));
  auto client = quotad::Client::Connect(s.config.socket, s.config.timeout_s);
  if (!client.ok()) {
    LogError("egret: job " + std::to_string(job_id) + ": cannot release its lease now (" +
             client.error().message() + "); egret-quotad reconciles it with slurmctld");
    return 0;
  }
  Status released = (*client)->ReleaseLease(job_id, end);
  if (!released.ok())
    LogVerbose("egret: job " + std::to_string(job_id) + ": lease release: " +
               released.error().message());
  else
    LogVerbose("egret: job " + std::to_string(job_id) + ": lease released at " + std::to_string(end));
  return 0;
}

}  // namespace egret::plugin
