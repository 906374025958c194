// Reads and validates a jobspec. Every problem is reported at once, one per line, as
// "FILE:LINE:COLUMN: what is wrong and what would be right".
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "jobspecs/spec/jobspec.h"

namespace egret::jobspec {

// OVERRIDES are "dotted.key=value" (egret submit --set): the value is read as TOML when it
// is a number, boolean, quoted string or list, and as a plain string otherwise, and replaces
// (or adds) the key before validation, so it is checked like the file's own values.
Result<Jobspec> ParseJobspecFile(const std::string& path,
                                 const std::vector<std::string>& overrides = {});
Result<Jobspec> ParseJobspecText(std::string_view text, const std::string& source_name,
                                 const std::vector<std::string>& overrides = {});

}  // namespace egret::jobspec
