// Checks that span sections: quotas against partitions and allowed_partitions, limits against
// cohorts, cohorts against their members' lending.
#pragma once

#include "scheduler/config/config.h"
#include "scheduler/config/diagnostics.h"

namespace egret::config::internal {

void CrossCheck(const Config& cfg, Diagnostics* diag);

}  // namespace egret::config::internal
