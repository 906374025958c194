// The script every link of a benchmark chain runs. Each link first decides the chain's
// future (`egret bench link`: stop if cancelled, else submit the next link with
// sbatch --begin=<next fire time>), then runs the benchmark and appends its result.
#pragma once

#include <string>

#include "jobspecs/render/sbatch.h"
#include "jobspecs/spec/jobspec.h"

namespace egret::jobspec::bench {

// OPTIONS.runs_dir is the schedule's directory (layout.h).
std::string RenderLinkScript(const Jobspec& spec, const render::RenderOptions& options);

// `egret bench link` exit status when the schedule was cancelled: the link stops at once.
inline constexpr int kCancelledExit = 3;

}  // namespace egret::jobspec::bench
