// Jobspec paths: in the tenant's view (data/..., models/..., checkpoints/...) or absolute.
#pragma once

#include <string>

#include "common/result.h"
#include "jobspecs/spec/jobspec.h"

namespace egret::jobspec {

// CHECKPOINTS_ONLY: only checkpoints/... (or absolute) is allowed (run and results paths).
// Errors say what is wrong with S and what the valid forms are.
Result<ViewPath> ParseViewPath(const std::string& s, bool checkpoints_only);

}  // namespace egret::jobspec
