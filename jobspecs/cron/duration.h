// Durations as people write them in jobspecs: "30s", "1h30m", and Slurm's time limits.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace egret::cron {

// "90s", "5m", "1h30m", "2d12h": units d, h, m, s, each at most once, in that order.
Result<int64_t> ParseDuration(std::string_view text);

// A time limit: a duration as above, or one of Slurm's forms "M", "M:S", "H:M:S", "D-H",
// "D-H:M", "D-H:M:S" (a bare number is minutes, as in sbatch --time).
Result<int64_t> ParseTimeLimit(std::string_view text);

// D-HH:MM:SS, the form sbatch --time always accepts.
std::string FormatSlurmTime(int64_t seconds);

}  // namespace egret::cron
