// `--egret KEY=VALUE`: sets one field of the Egret policy's Options from the command line, so
// egret-sim can explore the policy's settings without rebuilding.
#pragma once

#include <string_view>

#include "common/result.h"
#include "scheduler/policy/types.h"

namespace egret::sim {

// KEY is the Options field's name (e.g. running_weight, reservation, fair_preemption); booleans
// take true/false, numbers a decimal. Unknown keys and bad values are errors that list the keys.
Status SetPolicyOption(policy::Options* options, std::string_view assignment);

}  // namespace egret::sim
