#include "plugins/options.h"

#include "plugins/paths.h"
#include "plugins/state.h"

namespace egret::plugin {
namespace {

// Slurm rejects the submission ("Invalid --tenant argument") when this returns -1.
int OnTenant(int /*val*/, const char* optarg, int remote) {
  // On the node the value arrives through the job's environment, which the job controls:
  // the tenant there is the account slurmctld reports, never this.
  if (remote) return 0;
  std::string value = optarg ? optarg : "";
  if (!ValidTenantName(value)) {
    LogError("egret: --tenant=" + value +
             " is not a tenant name (1-64 letters, digits, '_', '-', '.')");
    return -1;
  }
  State().tenant_option = value;
  return 0;
}

struct spank_option kTenantOption = {
    const_cast<char*>("tenant"), const_cast<char*>("NAME"),
    const_cast<char*>("Run as tenant NAME (egret): must equal the job's account (-A), "
                      "which it sets when none is given. The job sees only this tenant's "
                      "data, models and checkpoints."),
    1, 0, OnTenant};

}  // namespace

int RegisterOptions(spank_t sp) {
  return spank_option_register(sp, &kTenantOption) == ESPANK_SUCCESS ? 0 : -1;
}

}  // namespace egret::plugin
