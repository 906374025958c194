#include "plugins/submit.h"

#include <cstdlib>
#include <vector>

#include "common/strings.h"
#include "plugins/state.h"
#include "plugins/submit_options.h"
#include "scheduler/client/quotad_client.h"

namespace egret::plugin {
namespace {

// srun inside an existing allocation creates a step, not a job: nothing to admit here (the
// account cannot change), and the step is checked on the node.
bool StepOfExistingJob() {
  if (spank_context() != S_CTX_LOCAL) return false;
  const char* id = std::getenv("SLURM_JOB_ID");
  if (!id) id = std::getenv("SLURM_JOBID");
  return id && *id;
}

int Refuse(const std::string& message) {
  LogError(message);
  return -1;
}

}  // namespace

int SubmitInitPostOpt(spank_t /*sp*/) {
  PluginState& s = State();
  if (!s.config_error.empty()) return Refuse(s.config_error);
  if (StepOfExistingJob()) return 0;

  auto request = ReadSubmitOptions();
  if (!request.ok()) {
    // Without the option table the account is unknown here; the node still decides.
    LogVerbose("egret: cannot check the submission early: " + request.error().message());
    return 0;
  }
  SubmitRequest& r = *request;
  if (spank_context() == S_CTX_LOCAL && !r.jobid.empty()) return 0;  // srun --jobid=N
  auto choice = ChooseTenant(s.tenant_option, r.account);
  if (!choice.ok()) return Refuse(choice.error().message());
  if (choice->set_account) {
    Status set = SetSubmitAccount(choice->account);
    if (!set.ok())
      return Refuse("egret: " + set.error().message() + "; give -A " + choice->account +
                    " as well as --tenant=" + choice->account);
  }
  const std::string& account = choice->account;

  std::string partition = r.partition;
  if (partition.empty()) {
    auto def = DefaultPartition();
    if (def.ok()) partition = *def;
  }
  if (account.empty()) {
    if (!IsManaged(s.config, partition)) return 0;  // no tenant: sees no tenant's data
    return Refuse("egret: partition " + (partition.empty() ? std::string("(default)") : partition) +
                  " is shared through egret-quotad and needs a tenant: add --tenant=NAME "
                  "(or -A NAME)");
  }

  int64_t gpus = RequestedGpus(r);
  auto client = quotad::Client::Connect(s.config.socket, s.config.timeout_s);
  if (!client.ok()) {
    if (s.config.failure == FailurePolicy::kOpen) {
      LogInfo("egret: warning: " + client.error().message() +
              "; submitting unchecked (failure=open)");
      return 0;
    }
    return Refuse(WithPrefix(client.error().message()) + "; job not submitted");
  }
  std::vector<std::string> partitions = Split(partition, ',', /*skip_empty=*/true);
  if (partitions.empty()) partitions.push_back("");  // quotad knows the default
  for (const std::string& p : partitions) {
    auto verdict = (*client)->CheckSubmit(account, std::string(Trim(p)), static_cast<int>(gpus));
    if (!verdict.ok()) {
      if (s.config.failure == FailurePolicy::kOpen) {
        LogInfo("egret: warning: " + verdict.error().message() + "; submitting unchecked");
        return 0;
      }
      return Refuse(WithPrefix(verdict.error().message()) + "; job not submitted");
    }
    if (!verdict->allowed)
      return Refuse(WithPrefix(verdict->reason.empty() ? "egret-quotad refused the job"
                                                       : verdict->reason));
  }
  return 0;
}

}  // namespace egret::plugin
