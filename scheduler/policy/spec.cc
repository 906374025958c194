#include "scheduler/policy/types.h"

namespace egret::policy {

int Spec::TenantIndex(const std::string& name) const {
  for (size_t i = 0; i < tenants.size(); ++i)
    if (tenants[i].name == name) return static_cast<int>(i);
  return -1;
}

int Spec::PartitionIndex(const std::string& name) const {
  for (size_t i = 0; i < partitions.size(); ++i)
    if (partitions[i].name == name) return static_cast<int>(i);
  return -1;
}

const char* OutcomeName(Outcome o) {
  switch (o) {
    case Outcome::kGranted: return "granted";
    case Outcome::kBorrowed: return "borrowed";
    case Outcome::kQueued: return "queued";
    case Outcome::kDenied: return "denied";
  }
  return "queued";
}

}  // namespace egret::policy
