#include "scheduler/slurm/libslurm_api.h"

#include <slurm/slurm.h>
#include <slurm/slurm_errno.h>

#include <pwd.h>
#include <sys/wait.h>

#include <csignal>
#include <cstring>
#include <mutex>
#include <unordered_map>

namespace egret::quotad {

namespace {

std::string Str(const char* s) { return s ? s : ""; }

// slurm_job_state_string is not in the public header: Slurm's own names for base states.
const char* StateName(uint32_t base) {
  static const char* kNames[] = {"PENDING", "RUNNING",   "SUSPENDED", "COMPLETED",
                                 "CANCELLED", "FAILED",  "TIMEOUT",   "NODE_FAIL",
                                 "PREEMPTED", "BOOT_FAIL", "DEADLINE", "OUT_OF_MEMORY"};
  return base < sizeof(kNames) / sizeof(kNames[0]) ? kNames[base] : "UNKNOWN";
}

Error SlurmError(const std::string& what) {
  return Error(what + ": " + slurm_strerror(slurm_get_errno()));
}

// slurmctld leaves job_info's user_name unset unless it has resolved the name itself (22.05
// fills it only for some RPCs): look the uid up here, so queues and reasons name the user.
std::string UserName(uint32_t uid) {
  struct passwd pw;
  struct passwd* found = nullptr;
  char buf[1024];
  if (getpwuid_r(uid, &pw, buf, sizeof buf, &found) == 0 && found) return found->pw_name;
  return std::to_string(uid);
}

// slurmctld annotates each dependency "(unfulfilled)", "(failed)" or, for a met one it still
// lists, "(fulfilled)"; the job may start only when none is left unmet.
std::string UnmetDependency(const std::string& dep) {
  if (dep.empty() || dep == "(null)") return "";
  if (dep.find("(unfulfilled)") != std::string::npos || dep.find("(failed)") != std::string::npos) return dep;
  return dep.find('(') == std::string::npos ? dep : "";
}

std::once_flag g_init;

class LibSlurmApi final : public SlurmApi {
 public:
  LibSlurmApi() {
    // libslurm keeps its configuration in process-wide state; initialise it once.
    std::call_once(g_init, [] { slurm_init(nullptr); });
  }

  Result<std::vector<SlurmJob>> LoadJobs() override {
    job_info_msg_t* msg = nullptr;
    if (slurm_load_jobs(0, &msg, SHOW_ALL) != SLURM_SUCCESS)
      return SlurmError("slurm_load_jobs (is slurmctld up?)");
    std::vector<SlurmJob> jobs;
    jobs.reserve(msg->record_count);
    for (uint32_t i = 0; i < msg->record_count; ++i) {
      const slurm_job_info_t& j = msg->job_array[i];
      SlurmJob s;
      s.job_id = j.job_id;
      s.user_id = j.user_id;
      s.user = Str(j.user_name);
      if (s.user.empty()) {
        // Looked up once per uid (this runs for every job on every pass); a uid without a
        // name yet is asked again next time.
        auto it = user_names_.find(j.user_id);
        if (it != user_names_.end()) {
          s.user = it->second;
        } else {
          s.user = UserName(j.user_id);
          if (s.user != std::to_string(j.user_id)) user_names_.emplace(j.user_id, s.user);
        }
      }
      s.account = Str(j.account);
      s.partition = Str(j.partition);
      uint32_t base = j.job_state & JOB_STATE_BASE;
      s.state_name = StateName(base);
      s.state = base == JOB_PENDING     ? JobState::kPending
                : base == JOB_RUNNING   ? JobState::kRunning
                : base == JOB_SUSPENDED ? JobState::kSuspended
                                        : JobState::kFinished;
      s.completing = (j.job_state & JOB_COMPLETING) != 0;
      s.priority = j.priority;
      s.user_hold = j.priority == 0 && j.state_reason == WAIT_HELD_USER;
      s.comment = Str(j.comment);
      s.admin_comment = Str(j.admin_comment);
      s.gpus = GpusRequested(Str(j.tres_per_job), Str(j.tres_per_node), Str(j.tres_per_task),
                             Str(j.tres_per_socket), j.num_nodes, j.num_tasks);
      s.submit_time = j.submit_time;
      s.start_time = j.start_time;
      s.end_time = j.end_time;
      s.time_limit_s = (j.time_limit == INFINITE || j.time_limit == NO_VAL) ? 0 : j.time_limit * 60.0;
      s.restart_cnt = j.restart_cnt;
      s.array_job_id = j.array_job_id;
      if (j.array_job_id != 0 && j.array_task_id == NO_VAL) s.array_tasks = Str(j.array_task_str);
      // While a job waits for its --begin time (or a requeued job for its restart delay),
      // slurmctld reports that time as its eligible time.
      if (base == JOB_PENDING && j.eligible_time > 0) s.begin_time = j.eligible_time;
      s.dependency = UnmetDependency(Str(j.dependency));
      if (WIFSIGNALED(j.exit_code)) s.exit_signal = WTERMSIG(j.exit_code);
      else if (WIFEXITED(j.exit_code)) s.exit_code = WEXITSTATUS(j.exit_code);
      jobs.push_back(std::move(s));
    }
    slurm_free_job_info_msg(msg);
    return jobs;
  }

  Status SetPriority(uint32_t job_id, uint32_t priority, const std::string& comment) override {
    if (priority > 0) {
      // slurmctld refuses an explicit priority for a held job ("pending scheduler release"):
      // release it first (priority INFINITE, as `scontrol release`), then set ours.
      job_desc_msg_t r;
      slurm_init_job_desc_msg(&r);
      r.job_id = job_id;
      r.priority = INFINITE;
      if (slurm_update_job(&r) != SLURM_SUCCESS)
        return SlurmError("releasing job " + std::to_string(job_id));
    }
    job_desc_msg_t d;
    slurm_init_job_desc_msg(&d);
    d.job_id = job_id;
    d.priority = priority;
    std::string c = comment;
    if (!comment.empty()) d.comment = c.data();
    if (slurm_update_job(&d) != SLURM_SUCCESS)
      return SlurmError("setting the priority of job " + std::to_string(job_id));
    return Ok();
  }

  Status SetComment(uint32_t job_id, const std::string& comment) override {
    job_desc_msg_t d;
    slurm_init_job_desc_msg(&d);
    d.job_id = job_id;
    std::string c = comment;
    d.comment = c.data();
    if (slurm_update_job(&d) != SLURM_SUCCESS)
      return SlurmError("setting the comment of job " + std::to_string(job_id));
    return Ok();
  }

  Status AdminHold(uint32_t job_id, const std::string& comment) override {
    job_desc_msg_t d;
    slurm_init_job_desc_msg(&d);
    d.job_id = job_id;
    d.priority = 0;
    std::string c = comment;
    if (!comment.empty()) d.comment = c.data();
    d.alloc_sid = ALLOC_SID_ADMIN_HOLD;  // as `scontrol hold` by an admin
    if (slurm_update_job(&d) != SLURM_SUCCESS)
      return SlurmError("holding job " + std::to_string(job_id));
    return Ok();
  }

  Status Signal(uint32_t job_id, int signal, bool batch_only) override {
    uint16_t flags = batch_only ? KILL_JOB_BATCH : KILL_FULL_JOB;
    if (slurm_kill_job(job_id, static_cast<uint16_t>(signal), flags) != SLURM_SUCCESS)
      return SlurmError("signalling job " + std::to_string(job_id));
    return Ok();
  }

  Status SplitArrayTask(uint32_t array_job_id, uint32_t task, const std::string& comment) override {
    job_desc_msg_t d;
    slurm_init_job_desc_msg(&d);
    std::string id = std::to_string(array_job_id) + "_" + std::to_string(task);
    d.job_id_str = id.data();
    d.priority = 0;
    d.alloc_sid = ALLOC_SID_ADMIN_HOLD;
    std::string c = comment;
    if (!comment.empty()) d.comment = c.data();
    // update_job2: the per-task answer of an update addressed by "ARRAY_TASK".
    job_array_resp_msg_t* resp = nullptr;
    int rc = slurm_update_job2(&d, &resp);
    int task_rc = SLURM_SUCCESS;
    if (resp)
      for (uint32_t k = 0; k < resp->job_array_count; ++k)
        if (resp->error_code[k] != SLURM_SUCCESS) task_rc = static_cast<int>(resp->error_code[k]);
    if (resp) slurm_free_job_array_resp(resp);
    if (rc != SLURM_SUCCESS) return SlurmError("holding array task " + id);
    if (task_rc != SLURM_SUCCESS) return Error("holding array task " + id + ": " + slurm_strerror(task_rc));
    return Ok();
  }

  Status Requeue(uint32_t job_id) override {
    if (slurm_requeue(job_id, JOB_REQUEUE_HOLD) != SLURM_SUCCESS)
      return SlurmError("requeueing job " + std::to_string(job_id));
    return Ok();
  }
 private:
  std::unordered_map<uint32_t, std::string> user_names_;  // uid -> name, as getpwuid_r gave it
};

}  // namespace

std::unique_ptr<SlurmApi> MakeLibSlurmApi() { return std::make_unique<LibSlurmApi>(); }

}  // namespace egret::quotad
