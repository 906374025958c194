#include "plugins/stepd.h"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "plugins/env_scrub.h"
#include "plugins/isolation.h"
#include "plugins/job_identity.h"
#include "plugins/paths.h"
#include "plugins/state.h"
#include "scheduler/client/quotad_client.h"

namespace egret::plugin {
namespace {

using Kind = StepDecision::Kind;

void Decide(Kind kind, std::string message = "") {
  StepDecision& d = State().decision;
  d.kind = kind;
  d.message = std::move(message);
  // In the stepd parent these go to slurmd's log, where an admin looks first.
  if (kind == Kind::kDenied) LogError(d.message);
}

std::string UserName(uid_t uid) {
  std::vector<char> buf(16384);
  passwd pw;
  passwd* out = nullptr;
  if (::getpwuid_r(uid, &pw, buf.data(), buf.size(), &out) == 0 && out) return out->pw_name;
  return "uid " + std::to_string(uid);
}

std::string HostName() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "";
  std::string h(buf);
  return h.substr(0, h.find('.'));
}

// Lease check for a managed partition, as root.
void CheckLease(const JobFacts& job) {
  const Config& c = State().config;
  auto client = quotad::Client::Connect(c.socket, c.timeout_s);
  if (!client.ok()) {
    if (c.failure == FailurePolicy::kOpen) {
      LogError("egret: warning: " + client.error().message() +
               "; job " + std::to_string(job.job_id) + " starts without a lease check (failure=open)");
      Decide(Kind::kAllowed);
      return;
    }
    Decide(Kind::kDenied, NotStarted(job.job_id, client.error().message()));
    return;
  }
  auto lease = (*client)->GetLease(job.job_id);
  if (!lease.ok()) {
    Decide(Kind::kDenied, NotStarted(job.job_id, lease.error().message()));
    return;
  }
  if (auto why = LeaseMismatch(*lease, job)) {
    Decide(Kind::kDenied, NotStarted(job.job_id, *why));
    return;
  }
  LogVerbose("egret: job " + std::to_string(job.job_id) + " holds its lease (tenant " +
             lease->tenant + ", partition " + lease->partition + ", " +
             std::to_string(lease->gpus) + " GPUs)");
  Decide(Kind::kAllowed);
}

}  // namespace

void StepInitPostOpt(spank_t sp) {
  PluginState& s = State();
  uint32_t job_id = 0;
  if (spank_get_item(sp, S_JOB_ID, &job_id) != ESPANK_SUCCESS)
    return Decide(Kind::kDenied, "egret: slurmstepd did not give the job id; step not started");
  if (!s.config_error.empty()) return Decide(Kind::kDenied, NotStarted(job_id, s.config_error));
  uid_t uid = 0;
  if (spank_get_item(sp, S_JOB_UID, &uid) != ESPANK_SUCCESS)
    return Decide(Kind::kDenied, NotStarted(job_id, "slurmstepd did not give the job's user"));
  s.host = HostName();
  if (!ValidHostName(s.host))
    return Decide(Kind::kDenied, NotStarted(job_id, "this node's name '" + s.host +
                                                        "' cannot name a directory"));

  auto facts = LoadJobFacts(job_id);
  if (!facts.ok()) return Decide(Kind::kDenied, NotStarted(job_id, facts.error().message()));
  s.job = *facts;
  const JobFacts& job = s.job;
  if (job.user_id != uid)
    return Decide(Kind::kDenied,
                  NotStarted(job_id, "slurmctld says job " + std::to_string(job_id) +
                                         " belongs to uid " + std::to_string(job.user_id) +
                                         ", but this step runs as uid " + std::to_string(uid)));
  bool managed = IsManaged(s.config, job.partition);
  if (job.account.empty()) {
    if (managed)
      return Decide(Kind::kDenied,
                    NotStarted(job_id, "job " + std::to_string(job_id) + " has no tenant " +
                                           "(account), but partition " + job.partition +
                                           " is shared through egret-quotad"));
    s.tenant.clear();
    return Decide(Kind::kAllowed);
  }
  if (!ValidTenantName(job.account))
    return Decide(Kind::kDenied,
                  NotStarted(job_id, "account '" + job.account + "' cannot be a tenant name"));
  s.tenant = job.account;
  s.managed = managed;
  if (managed) {
    CheckLease(job);
    if (s.decision.kind != Kind::kAllowed) return;
  }
  // The tenant's data is about to be mounted: the job's user must belong to the tenant,
  // whatever admitted the job. egret-quotad answers for the caller it sees (SO_PEERCRED), so
  // user_init, which runs as the job's user, asks.
  Decide(Kind::kCheckMembership);
}

void StepUserInit(spank_t /*sp*/) {
  PluginState& s = State();
  if (s.decision.kind != Kind::kCheckMembership) return;
  const Config& c = s.config;
  const JobFacts& job = s.job;
  auto unreachable = [&](const std::string& why) {
    if (c.failure == FailurePolicy::kOpen) {
      LogError("egret: warning: " + why + "; job " + std::to_string(job.job_id) +
               " starts without the membership check (failure=open)");
      return Decide(Kind::kAllowed);
    }
    Decide(Kind::kDenied, NotStarted(job.job_id, why));
  };
  auto client = quotad::Client::Connect(c.socket, c.timeout_s);
  if (!client.ok()) return unreachable(client.error().message());
  if (s.managed) {
    // Admitted with a lease: only membership is left to check (a budget spent since then
    // must not stop the job's later steps).
    auto view = (*client)->Query("tenants");
    if (!view.ok()) return unreachable(view.error().message());
    auto listed = TenantListed(*view, job.account);
    if (!listed.ok()) return unreachable(listed.error().message());
    if (!*listed)
      return Decide(Kind::kDenied, NotStarted(job.job_id, "user " + UserName(job.user_id) +
                                                              " is not a member of tenant " +
                                                              job.account));
    return Decide(Kind::kAllowed);
  }
  // No lease on this partition: the same check as at submission (member, partition allowed).
  auto verdict = (*client)->CheckSubmit(job.account, job.partition, static_cast<int>(job.gpus));
  if (!verdict.ok()) return unreachable(verdict.error().message());
  if (!verdict->allowed)
    return Decide(Kind::kDenied, NotStarted(job.job_id, verdict->reason.empty()
                                                            ? "egret-quotad refused the job"
                                                            : verdict->reason));
  Decide(Kind::kAllowed);
}

int StepTaskInitPrivileged(spank_t sp) {
  PluginState& s = State();
  const JobFacts& job = s.job;
  switch (s.decision.kind) {
    case Kind::kAllowed:
      break;
    case Kind::kDenied:
      LogError(s.decision.message);
      return -1;
    default:
      LogError(NotStarted(job.job_id, "the admission check did not run (slurmstepd skipped it)"));
      return -1;
  }
  auto fail = [&](const std::string& why) {
    std::string m = NotStarted(job.job_id, why);
    LogError(m);
    return -1;
  };

  uint32_t step_id = 0;
  spank_get_item(sp, S_JOB_STEPID, &step_id);
  gid_t gid = 0;
  if (spank_get_item(sp, S_JOB_GID, &gid) != ESPANK_SUCCESS) return fail("no group id for the job");

  // Everything below is opened inside the new namespace: a bind mount's source must be there.
  Status unshared = UnshareMounts();
  if (!unshared.ok()) return fail(unshared.error().message());
  IsolationPlan plan;
  plan.tenants_root = s.config.tenants_root;
  plan.tenant = s.tenant;
  plan.hidepid = s.config.hidepid;
  if (!s.tenant.empty()) {
    auto dir = PrepareTenantDir(s.config, s.tenant);
    if (!dir.ok()) return fail(dir.error().message());
    plan.tenant_dir = std::move(dir).value();
    for (const auto& sub : TenantSubdirs())
      if (std::find(s.config.writable.begin(), s.config.writable.end(), sub) ==
          s.config.writable.end())
        plan.read_only.push_back(sub);
  } else {
    // Even with no tenant the store is covered; it must exist to be covered.
    auto root = OpenPrivateRoot(s.config.tenants_root);
    if (!root.ok()) return fail(root.error().message());
  }
  Status dirs = PrepareJobDirs(s.config, JobDirName(job.job_id, job.start_time, s.host),
                               job.user_id, gid, &plan);
  if (!dirs.ok()) return fail(dirs.error().message());
  FindPassthrough(job.job_id, step_id, job.user_id, &plan);
  Status ns = BuildJobView(plan);
  if (!ns.ok()) return fail(ns.error().message());

  char** env = nullptr;
  if (spank_get_item(sp, S_JOB_ENV, &env) != ESPANK_SUCCESS || !env)
    return fail("cannot read the job's environment");
  std::vector<std::string> entries;
  for (char** e = env; *e; ++e) entries.emplace_back(*e);
  EnvRules rules{s.config.tenants_root, s.tenant, {s.config.job_root, s.config.shm_root},
                 s.config.keep_env};
  EnvPlan ep = PlanEnvironment(entries, rules);
  for (size_t i = 0; i < ep.unset.size(); ++i) {
    if (spank_unsetenv(sp, ep.unset[i].c_str()) != ESPANK_SUCCESS)
      return fail("cannot remove " + ep.unset[i] + " from the job's environment");
    LogDebug("egret: removed " + ep.unset[i] + " from the environment: " + ep.reasons[i]);
  }
  for (const auto& [name, value] : ep.set)
    if (spank_setenv(sp, name.c_str(), value.c_str(), 1) != ESPANK_SUCCESS)
      return fail("cannot set " + name + " in the job's environment");
  return 0;
}

}  // namespace egret::plugin
