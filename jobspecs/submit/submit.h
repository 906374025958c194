// `egret submit`: a parsed jobspec -> checks against the cluster -> the rendered script ->
// sbatch. Benchmarks with a schedule start their chain (bench/chain.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "jobspecs/spec/jobspec.h"

namespace egret::jobspec::submit {

struct Options {
  std::string prefix;  // Egret's install prefix on the nodes (ResolvePrefix)
  std::string cwd;     // the submit directory: output.dir is relative to it
  bool dry_run = false;
  // egret.so's --tenant option: nullopt = pass it when sbatch --help lists it.
  std::optional<bool> tenant_option;
};

struct Outcome {
  std::string script;
  std::string runs_dir;
  uint32_t job_id = 0;     // 0 on a dry run
  int64_t first_fire = 0;  // scheduled benchmarks: when the first run begins
};

Result<Outcome> Submit(const Jobspec& spec, const Options& options, int64_t now);

// --prefix, else $EGRET_PREFIX, else the prefix this egret binary runs from
// (<prefix>/bin/egret; in a build tree, build/<preset>).
std::string ResolvePrefix(const std::string& flag);

// <cwd>/<output.dir>/<name>, normalized.
std::string RunsDir(const Jobspec& spec, const std::string& cwd);

}  // namespace egret::jobspec::submit
