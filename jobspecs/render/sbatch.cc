#include "jobspecs/render/sbatch.h"

#include <set>

#include "common/strings.h"
#include "jobspecs/cron/duration.h"
#include "jobspecs/render/shell.h"
#include "jobspecs/spec/sweep.h"
#include "jobspecs/spec/value_text.h"
#include "jobspecs/trainer/trainer_config.h"

namespace egret::jobspec::render {

std::string ShellWord(const std::string& s) {
  if (s.empty()) return "''";
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && std::string_view("/._-+,=@:%").find(c) == std::string_view::npos)
      return ShellQuote(s);
  return s;
}

std::string RenderHeader(const Jobspec& spec, const RenderOptions& o, const std::string& job_name,
                         const std::string& output_pattern) {
  const Resources& r = spec.resources;
  std::string h;
  auto opt = [&](const std::string& line) { h += "#SBATCH " + line + "\n"; };
  opt("--job-name=" + job_name);
  // The tenant is the Slurm account: quotad admits and charges by it.
  opt("--account=" + spec.tenant);
  if (o.tenant_option) opt("--tenant=" + spec.tenant);
  opt("--partition=" + r.partition);
  opt("--nodes=" + std::to_string(r.nodes));
  opt("--ntasks-per-node=" + std::to_string(r.ranks_per_node));
  opt("--cpus-per-task=" + std::to_string(r.cpus_per_rank));
  if (r.gpus_per_node > 0) opt("--gres=gpu:" + std::to_string(r.gpus_per_node));
  if (!r.mem_per_cpu.empty()) opt("--mem-per-cpu=" + r.mem_per_cpu);
  opt("--time=" + cron::FormatSlurmTime(r.time_limit_s));
  // Without "B:" Slurm signals every step's tasks, i.e. each egret-train rank directly.
  if (spec.preemption.enabled)
    opt("--signal=" + spec.preemption.signal + "@" + std::to_string(spec.preemption.seconds_before));
  opt(spec.preemption.requeue ? "--requeue" : "--no-requeue");
  // A requeued run appends to the same log instead of truncating it.
  opt("--open-mode=append");
  opt("--chdir=" + o.runs_dir);
  opt("--output=" + o.runs_dir + "/" + output_pattern);
  if (spec.IsSweep()) opt("--array=0-" + std::to_string(spec.TaskCount() - 1));
  return h + "\n";
}

std::string RenderViewChecks(const Jobspec& spec) {
  std::set<std::string> vars;
  auto use = [&](const std::optional<ViewPath>& p) {
    if (p && p->root != ViewPath::Root::kAbsolute) vars.insert(RootVariable(p->root));
  };
  use(spec.model);
  use(spec.adapter);
  for (const auto& p : spec.train_data) use(p);
  use(spec.eval.dataset);
  use(spec.eval.exact_match);
  if (spec.checkpoint.dir.rfind("checkpoints/", 0) == 0) vars.insert("EGRET_CKPT_DIR");
  if (spec.benchmark && spec.benchmark->results.rfind("checkpoints/", 0) == 0) vars.insert("EGRET_CKPT_DIR");
  if (vars.empty()) return "";
  return "# Relative jobspec paths are in the tenant's isolated view, set up by egret.so.\n"
         "for var in " + Join({vars.begin(), vars.end()}, " ") + "; do\n"
         "  case ${!var:-} in\n"
         "    \"\") echo \"egret: $var is not set: this job needs the tenant's view that the egret "
         "SPANK plugin sets up\" >&2; exit 1 ;;\n"
         "    *\\'*) echo \"egret: $var holds a quote: ${!var}\" >&2; exit 1 ;;\n"
         "  esac\n"
         "done\n";
}

std::string RenderJobScript(const Jobspec& spec, const RenderOptions& o) {
  const bool array = spec.IsSweep();
  std::string s = "#!/bin/bash\n";
  s += "# " + std::string(KindName(spec.kind)) + " \"" + spec.name + "\" of tenant " + spec.tenant +
       ", rendered by egret submit from " + spec.source + ".\n";
  if (array) {
    s += "# Sweep: " + std::to_string(spec.TaskCount()) +
         " array tasks, one per combination (the first swept setting varies slowest):\n";
    for (int64_t t = 0; t < spec.TaskCount(); ++t)
      s += "#   task " + std::to_string(t) + ": " + DescribeTask(spec, t) + "\n";
  }
  s += RenderHeader(spec, o, spec.name, array ? "%A_%a.out" : "%j.out");
  s += "set -euo pipefail\n";
  s += "EGRET_PREFIX=" + ShellWord(o.prefix) + "\n";
  s += "EGRET_TRAIN=\"$EGRET_PREFIX/bin/egret-train\"\n";
  s += "JOB=${SLURM_ARRAY_JOB_ID:-$SLURM_JOB_ID}\n";
  s += "TASK=${SLURM_ARRAY_TASK_ID:-0}\n\n";
  s += RenderViewChecks(spec);
  // The run directory (checkpoints, adapter, results) is in the tenant's view and keyed by
  // the job id, which a requeued job keeps: the rerun finds its checkpoints there.
  s += "RUN_DIR=" + TemplatePath(spec.checkpoint.dir, spec) + "\n";
  s += "STATUS_DIR=" + ShellWord(o.runs_dir) + (array ? "/\"${JOB}_${TASK}\"" : "/\"$JOB\"") + "\n";
  s += "mkdir -p \"$RUN_DIR\" \"$STATUS_DIR\"\n";
  if (array) {
    s += "\n# This array task's values.\ncase $TASK in\n";
    for (int64_t t = 0; t < spec.TaskCount(); ++t) {
      s += "  " + std::to_string(t) + ")";
      for (const auto& [key, value] : SweepValues(spec, t))
        s += " " + SweepVariable(key) + "=" + ShellWord(TomlValue(value));
      s += " ;;\n";
    }
    s += "  *) echo \"egret: array task $TASK is not part of this sweep\" >&2; exit 1 ;;\nesac\n";
  }
  if (spec.kind == Kind::kFinetune) {
    s += "\ncat >\"$RUN_DIR/job.toml\" <<EOF\n" + trainer::JobConfig(spec) + "EOF\n";
    s += "cp \"$RUN_DIR/job.toml\" \"$STATUS_DIR/job.toml\"\n\n";
    s += "# One MPI rank per Slurm task, wired up by Slurm's PMIx plugin (also across nodes).\n";
    s += "rc=0\nsrun --mpi=pmix --kill-on-bad-exit=1 " + trainer::FinetuneCommand() + " || rc=$?\n";
    if (spec.preemption.enabled && spec.preemption.requeue) {
      s += "if [ \"$rc\" -eq " + std::to_string(trainer::kPreemptedExitCode) + " ]; then\n";
      s += "  # The trainer checkpointed on SIG" + spec.preemption.signal +
           " (preemption or the time limit): requeue, and the rerun resumes from it.\n";
      s += "  echo \"egret: checkpointed on SIG" + spec.preemption.signal +
           "; requeueing job $SLURM_JOB_ID to resume\"\n";
      s += "  scontrol requeue \"$SLURM_JOB_ID\"\n";
      s += "fi\n";
    }
    s += "exit \"$rc\"\n";
  } else {
    s += "\n# One MPI rank per Slurm task (the eval sets are sharded over them), via Slurm's PMIx.\n";
    s += "srun --mpi=pmix --kill-on-bad-exit=1 " + trainer::EvalCommand(spec) + "\n";
    s += "# A copy in the tenant's view, next to the runs it evaluates.\n";
    s += "cp \"$STATUS_DIR/" + std::string(trainer::kEvalFile) + "\" \"$RUN_DIR/\"\n";
  }
  return s;
}

}  // namespace egret::jobspec::render
