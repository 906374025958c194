// Renders a jobspec into the batch script `egret submit` hands to sbatch. Pure: the same
// jobspec and options always give the same script (tests compare it with golden files).
#pragma once

#include <string>

#include "jobspecs/spec/jobspec.h"

namespace egret::jobspec::render {

struct RenderOptions {
  // Egret's install prefix as the compute nodes see it: the job runs
  // $EGRET_PREFIX/bin/egret-train (and, for benchmarks, $EGRET_PREFIX/bin/egret).
  std::string prefix;
  // Absolute directory on the submitting host for this jobspec's logs and status files:
  // <output.dir>/<name>. Jobs write <runs_dir>/<jobid>.out and <runs_dir>/<jobid>/.
  std::string runs_dir;
  // Pass egret.so's --tenant option (only when the plugin is loaded: sbatch refuses
  // options it does not know).
  bool tenant_option = true;
};

// The batch script for a finetune or eval jobspec (benchmarks: bench/link_script.h).
std::string RenderJobScript(const Jobspec& spec, const RenderOptions& options);

// The #SBATCH header shared by every kind, ending with a blank line.
std::string RenderHeader(const Jobspec& spec, const RenderOptions& options,
                         const std::string& job_name, const std::string& output_pattern);

// "word" unquoted when it is made of safe characters, else single-quoted.
std::string ShellWord(const std::string& s);

// The checks that the tenant-view variables the spec uses are set (egret.so sets them).
std::string RenderViewChecks(const Jobspec& spec);

}  // namespace egret::jobspec::render
