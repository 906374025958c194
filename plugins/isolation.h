// The job's private view of the node, entered in each task child as root just before the
// task becomes the user (slurm_spank_task_init_privileged):
//   <tenants_root>        a read-only tmpfs holding only <tenant>/ (nothing for no tenant)
//   <tenants_root>/<t>    the tenant's real directory; data and models read-only unless the
//                         admin lists them in writable=, checkpoints read-write
//   /tmp, /dev/shm        the job's private per-node directories (0700, the job's user),
//                         shared by the job's tasks on this node, removed by the epilog;
//                         /var/tmp is the same directory as /tmp
//   /proc                 a fresh procfs with hidepid=2: other users' processes are invisible
// The host's view is untouched; the namespace dies with the task.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "plugins/config.h"
#include "plugins/job_dirs.h"

namespace egret::plugin {

// Everything the namespace needs, opened on the host before it is entered.
struct IsolationPlan {
  std::string tenants_root;
  std::string tenant;  // empty: no tenant is visible
  Fd tenant_dir;       // the real <tenants_root>/<tenant>
  std::vector<std::string> read_only;  // tenant subdirectories mounted read-only
  Fd job_tmp;          // becomes /tmp
  Fd job_shm;          // becomes /dev/shm
  // Directories Slurm's PMIx plugin creates in the host /tmp for this step's clients; they
  // are bound into the private /tmp under the same names so `srun --mpi=pmix` still works.
  std::vector<std::pair<std::string, Fd>> tmp_passthrough;
  bool hidepid = true;
};

// Creates the tenant's directories if missing (see README: root:<group_prefix><tenant> 0750
// with a group, else root 0755; checkpoints 2770/1777) and opens them. The store root must
// be root's alone.
Result<Fd> PrepareTenantDir(const Config& config, const std::string& tenant);

// Opens this job's private /tmp and /dev/shm directories on this node (creating them,
// 0700 UID:GID).
Status PrepareJobDirs(const Config& config, const std::string& dir_name, uid_t uid, gid_t gid,
                      IsolationPlan* plan);

// Finds the host /tmp directories of this step that must stay reachable (PMIx).
void FindPassthrough(uint32_t job_id, uint32_t step_id, uid_t uid, IsolationPlan* plan);

// unshare(CLONE_NEWNS), with nothing propagating to or from the host. Call before anything
// of the plan is opened: bind mounts take their source from the caller's namespace only.
Status UnshareMounts();

// Builds the view above from PLAN (opened after UnshareMounts). Errors name the failed mount.
Status BuildJobView(IsolationPlan& plan);

}  // namespace egret::plugin
