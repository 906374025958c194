// The only file that knows SPANK's entry points. Each one switches on the context and hands
// off to the file for that side:
//   local (srun), allocator (sbatch, salloc)   submit.cc      as the submitting user
//   remote (slurmstepd)                        stepd.cc       root, and the user in user_init
//   job script (slurmd's epilog)               epilog.cc      root
//   slurmd                                     nothing        (a failure here stops slurmd)
// C++ stays inside: every entry point catches everything, and fails closed only where a
// failure costs the job, never where it would drain the node.
#include "plugins/epilog.h"
#include "plugins/options.h"
#include "plugins/spank_api.h"
#include "plugins/state.h"
#include "plugins/stepd.h"
#include "plugins/submit.h"

namespace egret::plugin {
namespace {

bool SubmitSide(spank_context_t c) { return c == S_CTX_LOCAL || c == S_CTX_ALLOCATOR; }

// Runs F, turning an escaping exception into ON_THROW (after saying why).
template <typename F>
int Guarded(const char* where, int on_throw, F&& f) {
  try {
    return f();
  } catch (const std::exception& e) {
    LogError(std::string("egret: internal error in ") + where + ": " + e.what());
  } catch (...) {
    LogError(std::string("egret: internal error in ") + where);
  }
  return on_throw;
}

}  // namespace
}  // namespace egret::plugin

using namespace egret::plugin;

extern "C" {

EGRET_SPANK_EXPORT extern const char plugin_name[] = "egret";
EGRET_SPANK_EXPORT extern const char plugin_type[] = "spank";
EGRET_SPANK_EXPORT extern const unsigned int plugin_version = SLURM_VERSION_NUMBER;
EGRET_SPANK_EXPORT extern const unsigned int spank_plugin_version = 1;

EGRET_SPANK_EXPORT int slurm_spank_init(spank_t sp, int ac, char** av) {
  spank_context_t ctx = spank_context();
  // Remote and slurmd failures here would drain the node or stop slurmd: the remote side
  // records a bad configuration and refuses each step in its task instead.
  return Guarded("slurm_spank_init", SubmitSide(ctx) ? -1 : 0, [&] {
    bool ok = LoadConfig(ac, av);
    switch (ctx) {
      case S_CTX_LOCAL:
      case S_CTX_ALLOCATOR:
        if (!ok) {
          LogError(State().config_error);
          return -1;
        }
        return RegisterOptions(sp);
      case S_CTX_REMOTE:
        // Registered so the forwarded option is recognized; its value is ignored here.
        RegisterOptions(sp);
        return 0;
      default:
        return 0;
    }
  });
}

EGRET_SPANK_EXPORT int slurm_spank_init_post_opt(spank_t sp, int ac, char** av) {
  spank_context_t ctx = spank_context();
  if (SubmitSide(ctx))
    return Guarded("slurm_spank_init_post_opt", -1, [&] {
      LoadConfig(ac, av);
      return SubmitInitPostOpt(sp);
    });
  if (ctx == S_CTX_REMOTE)
    Guarded("slurm_spank_init_post_opt", 0, [&] {
      LoadConfig(ac, av);
      StepInitPostOpt(sp);
      return 0;
    });
  return 0;
}

EGRET_SPANK_EXPORT int slurm_spank_user_init(spank_t sp, int ac, char** av) {
  if (spank_context() != S_CTX_REMOTE) return 0;
  Guarded("slurm_spank_user_init", 0, [&] {
    LoadConfig(ac, av);
    StepUserInit(sp);
    return 0;
  });
  return 0;
}

EGRET_SPANK_EXPORT int slurm_spank_task_init_privileged(spank_t sp, int ac, char** av) {
  if (spank_context() != S_CTX_REMOTE) return 0;
  return Guarded("slurm_spank_task_init_privileged", -1, [&] {
    LoadConfig(ac, av);
    return StepTaskInitPrivileged(sp);
  });
}

EGRET_SPANK_EXPORT int slurm_spank_job_epilog(spank_t sp, int ac, char** av) {
  if (spank_context() != S_CTX_JOB_SCRIPT) return 0;
  Guarded("slurm_spank_job_epilog", 0, [&] {
    LoadConfig(ac, av);
    return JobEpilog(sp);
  });
  return 0;
}

}  // extern "C"
