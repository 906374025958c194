#include "plugins/admission.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "common/strings.h"
#include "plugins/paths.h"

namespace egret::plugin {

bool IsManaged(const Config& config, std::string_view partition) {
  auto parts = Split(partition, ',', /*skip_empty=*/true);
  if (parts.empty()) return true;  // unknown partition: assume the strict case
  for (const auto& p : parts) {
    std::string name(Trim(p));
    if (std::find(config.unmanaged.begin(), config.unmanaged.end(), name) == config.unmanaged.end())
      return true;
  }
  return false;
}

std::optional<std::string> LeaseMismatch(const quotad::Lease& lease, const JobFacts& job) {
  if (lease.job_id == job.job_id && lease.tenant == job.account &&
      lease.partition == job.partition && lease.gpus == job.gpus)
    return std::nullopt;
  auto describe = [](std::string_view tenant, std::string_view partition, int64_t gpus) {
    return "tenant " + std::string(tenant.empty() ? "(none)" : tenant) + ", partition " +
           std::string(partition) + ", " + std::to_string(gpus) + " GPU" + (gpus == 1 ? "" : "s");
  };
  std::string why = "the admission lease from egret-quotad is for " +
                    describe(lease.tenant, lease.partition, lease.gpus) + " but job " +
                    std::to_string(job.job_id) + " is " +
                    describe(job.account, job.partition, job.gpus);
  if (lease.job_id != job.job_id) why += " (lease of job " + std::to_string(lease.job_id) + ")";
  return why;
}

Result<bool> TenantListed(std::string_view tenants_view, std::string_view tenant) {
  auto v = nlohmann::json::parse(tenants_view, nullptr, /*allow_exceptions=*/false);
  if (v.is_discarded() || !v.is_array())
    return Error("egret-quotad's tenants view is not a list of tenants");
  for (const auto& t : v) {
    if (!t.is_object()) return Error("egret-quotad's tenants view holds a non-object");
    auto it = t.find("tenant");
    if (it == t.end() || !it->is_string())
      return Error("egret-quotad's tenants view holds an entry without a tenant name");
    if (it->get_ref<const std::string&>() == tenant) return true;
  }
  return false;
}

std::string WithPrefix(std::string_view message) {
  if (message.rfind("egret: ", 0) == 0) return std::string(message);
  return "egret: " + std::string(message);
}

std::string NotStarted(uint32_t job_id, std::string_view why) {
  return WithPrefix(why) + "; job " + std::to_string(job_id) + " not started";
}

Result<TenantChoice> ChooseTenant(std::string_view tenant_option, std::string_view account) {
  if (!tenant_option.empty() && !ValidTenantName(tenant_option))
    return Error("egret: --tenant=" + std::string(tenant_option) +
                 " is not a tenant name (letters, digits, '_', '-', '.')");
  if (!account.empty() && !ValidTenantName(account))
    return Error("egret: account '" + std::string(account) +
                 "' cannot be a tenant name (letters, digits, '_', '-', '.')");
  if (tenant_option.empty()) return TenantChoice{std::string(account), false};
  if (account.empty()) return TenantChoice{std::string(tenant_option), true};
  if (tenant_option != account)
    return Error("egret: --tenant=" + std::string(tenant_option) +
                 " does not match the job's account " + std::string(account) +
                 " (-A/--account/SBATCH_ACCOUNT); the tenant is the account: give the same "
                 "name or only one of them");
  return TenantChoice{std::string(account), false};
}

}  // namespace egret::plugin
