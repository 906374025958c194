// Builds the policy's Spec from a validated tenants.toml.
#pragma once

#include "scheduler/config/config.h"
#include "scheduler/policy/types.h"

namespace egret::policy {

Spec SpecFromConfig(const config::Config& config);

}  // namespace egret::policy
