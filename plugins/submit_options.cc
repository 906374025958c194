#include "plugins/submit_options.h"

#include <dlfcn.h>


#include "plugins/gpus.h"

extern "C" {
#include <slurm/slurm.h>
}

namespace egret::plugin {
namespace {

// From Slurm's src/common/slurm_opt.h (exported by libslurmfull, which sbatch, srun and
// salloc link); the option table is each command's global `opt`.
using OptionGetFn = char* (*)(void* opt, const char* name);
using OptionSetFn = int (*)(void* opt, const char* name, const char* value, bool early);
using XfreeFn = void (*)(void* ptr);

struct OptionTable {
  void* opt = nullptr;
  OptionGetFn get = nullptr;
  OptionSetFn set = nullptr;
  XfreeFn xfree = nullptr;
};

Result<OptionTable> FindOptionTable() {
  OptionTable t;
  t.opt = ::dlsym(RTLD_DEFAULT, "opt");
  t.get = reinterpret_cast<OptionGetFn>(::dlsym(RTLD_DEFAULT, "slurm_option_get"));
  t.set = reinterpret_cast<OptionSetFn>(::dlsym(RTLD_DEFAULT, "slurm_option_set"));
  t.xfree = reinterpret_cast<XfreeFn>(::dlsym(RTLD_DEFAULT, "xfree_ptr"));
  if (!t.opt || !t.get || !t.set)
    return Error("this Slurm does not export its option table (opt, slurm_option_get)");
  return t;
}

std::string Get(const OptionTable& t, const char* name) {
  char* v = t.get(t.opt, name);
  if (!v) return "";
  std::string out(v);
  if (t.xfree) t.xfree(v);  // xmalloc'ed; without xfree_ptr a few bytes leak in a short-lived command
  return out;
}

}  // namespace

Result<SubmitRequest> ReadSubmitOptions() {
  EGRET_ASSIGN_OR_RETURN(OptionTable t, FindOptionTable());
  SubmitRequest r;
  r.account = Get(t, "account");
  r.partition = Get(t, "partition");
  r.gres = Get(t, "gres");
  r.gpus = Get(t, "gpus");
  r.gpus_per_node = Get(t, "gpus-per-node");
  r.gpus_per_task = Get(t, "gpus-per-task");
  r.nodes = Get(t, "nodes");
  r.ntasks = Get(t, "ntasks");
  r.jobid = Get(t, "jobid");
  return r;
}

Status SetSubmitAccount(const std::string& account) {
  EGRET_ASSIGN_OR_RETURN(OptionTable t, FindOptionTable());
  if (t.set(t.opt, "account", account.c_str(), false) != 0)
    return Error("cannot set the job's account to " + account);
  if (Get(t, "account") != account) return Error("the job's account did not change to " + account);
  return Ok();
}

Result<std::string> DefaultPartition() {
  partition_info_msg_t* msg = nullptr;
  if (slurm_load_partitions(0, &msg, SHOW_ALL) != 0 || !msg)
    return Error(std::string("cannot list partitions: ") + slurm_strerror(slurm_get_errno()));
  std::string name;
  for (uint32_t i = 0; i < msg->record_count; ++i) {
    const partition_info_t& p = msg->partition_array[i];
    if ((p.flags & PART_FLAG_DEFAULT) && p.name) {
      name = p.name;
      break;
    }
  }
  slurm_free_partition_info_msg(msg);
  return name;
}

int64_t RequestedGpus(const SubmitRequest& r) {
  return SubmitGpus(r.gres, r.gpus, r.gpus_per_node, r.gpus_per_task, r.nodes, r.ntasks);
}

}  // namespace egret::plugin
