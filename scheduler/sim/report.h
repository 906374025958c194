// egret-sim's output: a table per run, and the same figures as JSON.
#pragma once

#include <string>
#include <vector>

#include "scheduler/sim/compare.h"

namespace egret::sim {

std::string SummaryTable(const std::vector<PolicyRun>& runs);
std::string TenantTable(const PolicyRun& run);
std::string ToJson(const std::vector<PolicyRun>& runs, const std::string& trace_name);

}  // namespace egret::sim
