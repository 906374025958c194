#include "plugins/job_identity.h"

#include "plugins/gpus.h"

extern "C" {
#include <slurm/slurm.h>
}

namespace egret::plugin {

Result<JobFacts> LoadJobFacts(uint32_t job_id) {
  job_info_msg_t* msg = nullptr;
  if (slurm_load_job(&msg, job_id, SHOW_ALL) != 0 || !msg) {
    int e = slurm_get_errno();
    return Error("cannot ask slurmctld about job " + std::to_string(job_id) + ": " +
                 slurm_strerror(e));
  }
  if (msg->record_count < 1) {
    slurm_free_job_info_msg(msg);
    return Error("slurmctld does not know job " + std::to_string(job_id));
  }
  const slurm_job_info_t& j = msg->job_array[0];
  JobFacts f;
  f.job_id = j.job_id;
  f.user_id = j.user_id;
  f.account = j.account ? j.account : "";
  f.partition = j.partition ? j.partition : "";
  f.gpus = JobGpus(j.tres_per_job ? j.tres_per_job : "", j.tres_per_node ? j.tres_per_node : "",
                   j.tres_per_task ? j.tres_per_task : "",
                   j.tres_per_socket ? j.tres_per_socket : "", j.num_nodes, j.num_tasks);
  f.start_time = static_cast<int64_t>(j.start_time);
  f.end_time = static_cast<int64_t>(j.end_time);
  bool finished = (j.job_state & JOB_STATE_BASE) >= JOB_COMPLETE ||
                  (j.job_state & JOB_COMPLETING) != 0;
  if (!finished) f.end_time = 0;  // a running job's end_time is its time limit
  std::string tres = std::string(j.tres_per_job ? j.tres_per_job : "") + " " +
                     (j.tres_per_node ? j.tres_per_node : "") + " " +
                     (j.tres_per_task ? j.tres_per_task : "");
  slurm_free_job_info_msg(msg);
  if (f.job_id != job_id)
    return Error("slurmctld answered about job " + std::to_string(f.job_id) + " when asked for " +
                 std::to_string(job_id));
  if (f.gpus < 0) return Error("cannot read the GPU count of job " + std::to_string(job_id) +
                               " from its TRES (" + tres + ")");
  return f;
}

}  // namespace egret::plugin
