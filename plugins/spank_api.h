// The one include of Slurm's SPANK header, with C linkage for its callback declarations,
// and the logging the plugin uses. Slurm's log functions write to the user's terminal in
// sbatch/srun, to the job's output in a task child, and to slurmd's log elsewhere in slurmstepd.
#pragma once

#include <string>

extern "C" {
#include <slurm/spank.h>
}

// Symbols Slurm looks up; everything else is hidden (-fvisibility=hidden + egret.lds).
#define EGRET_SPANK_EXPORT __attribute__((visibility("default")))

namespace egret::plugin {

inline void LogError(const std::string& m) { slurm_error("%s", m.c_str()); }
inline void LogInfo(const std::string& m) { slurm_info("%s", m.c_str()); }
inline void LogVerbose(const std::string& m) { slurm_verbose("%s", m.c_str()); }
inline void LogDebug(const std::string& m) { slurm_debug("%s", m.c_str()); }

}  // namespace egret::plugin
