#include <algorithm>

#include "scheduler/config/config.h"

namespace egret::config {

std::string_view BudgetPeriodName(BudgetPeriod p) {
  switch (p) {
    case BudgetPeriod::kDaily: return "daily";
    case BudgetPeriod::kWeekly: return "weekly";
    case BudgetPeriod::kMonthly: return "monthly";
  }
  return "monthly";
}

const Quota* Tenant::FindQuota(std::string_view partition) const {
  for (const Quota& q : quotas)
    if (q.partition == partition) return &q;
  return nullptr;
}

bool Tenant::Allows(std::string_view partition) const {
  return std::find(allowed_partitions.begin(), allowed_partitions.end(), partition) !=
         allowed_partitions.end();
}

bool Tenant::HasUser(std::string_view user) const {
  for (const Member& m : members)
    if (m.kind == Member::Kind::kUser && m.name == user) return true;
  return false;
}

bool Tenant::HasGroup(std::string_view group) const {
  for (const Member& m : members)
    if (m.kind == Member::Kind::kGroup && m.name == group) return true;
  return false;
}

const Tenant* Config::FindTenant(std::string_view name) const {
  for (const Tenant& t : tenants)
    if (t.name == name) return &t;
  return nullptr;
}

const Partition* Config::FindPartition(std::string_view name) const {
  for (const Partition& p : partitions)
    if (p.name == name) return &p;
  return nullptr;
}

const GpuType* Config::FindGpuType(std::string_view name) const {
  for (const GpuType& g : gpu_types)
    if (g.name == name) return &g;
  return nullptr;
}

std::vector<const Tenant*> Config::TenantsOf(std::string_view user,
                                             const std::vector<std::string>& groups) const {
  std::vector<const Tenant*> out;
  for (const Tenant& t : tenants) {
    bool member = t.HasUser(user);
    for (size_t i = 0; !member && i < groups.size(); ++i) member = t.HasGroup(groups[i]);
    if (member) out.push_back(&t);
  }
  return out;
}

bool Config::IsAdmin(std::string_view user, const std::vector<std::string>& groups) const {
  for (const std::string& a : admins) {
    if (a == user) return true;
    if (!a.empty() && a[0] == '@' &&
        std::find(groups.begin(), groups.end(), std::string_view(a).substr(1)) != groups.end())
      return true;
  }
  return false;
}

}  // namespace egret::config
