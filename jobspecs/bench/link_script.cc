#include "jobspecs/bench/link_script.h"

#include "jobspecs/bench/layout.h"
#include "jobspecs/render/shell.h"
#include "jobspecs/trainer/trainer_config.h"

namespace egret::jobspec::bench {

using render::ShellWord;

std::string RenderLinkScript(const Jobspec& spec, const render::RenderOptions& o) {
  const Benchmark& b = *spec.benchmark;
  const std::string job_name = ScheduleJobName(spec.tenant, spec.name);
  std::string s = "#!/bin/bash\n";
  s += "# benchmark \"" + spec.name + "\" of tenant " + spec.tenant + ", rendered by egret submit from " +
       spec.source + ".\n";
  if (b.schedule) {
    s += "# Schedule: " + b.schedule->text +
         ". A chain of jobs named " + job_name + ": each run first\n"
         "# submits the next one (sbatch --begin=<next fire time>), then benchmarks. The pending\n"
         "# link is the schedule (squeue shows it); `egret bench cancel " + spec.name + "` ends it.\n";
  }
  s += render::RenderHeader(spec, o, job_name, "%j.out");
  s += "set -uo pipefail\n";
  s += "EGRET_PREFIX=" + ShellWord(o.prefix) + "\n";
  s += "EGRET=\"$EGRET_PREFIX/bin/egret\"\n";
  s += "BENCH_DIR=" + ShellWord(o.runs_dir) + "\n";
  s += "FIRED_AT=${1:-0}  # this run's scheduled time (Unix seconds), from the previous link\n\n";
  if (b.schedule) {
    s += "# The chain first, so a failing benchmark cannot end the schedule.\n";
    s += "\"$EGRET\" bench link --dir \"$BENCH_DIR\" --job \"$SLURM_JOB_ID\" --fired-at \"$FIRED_AT\"\n";
    s += "case $? in\n";
    s += "  0) ;;\n";
    s += "  " + std::to_string(kCancelledExit) + ") exit 0 ;;  # cancelled: no next link and no run\n";
    s += "  *) echo \"egret: the next run could not be submitted; the schedule ends with this run\" >&2 ;;\n";
    s += "esac\n\n";
  }
  s += "set -e\n";
  s += render::RenderViewChecks(spec);
  s += "JOB=$SLURM_JOB_ID\nTASK=0\n";
  s += "STATUS_DIR=\"$BENCH_DIR/$SLURM_JOB_ID\"\n";
  s += "RESULTS=" + render::TemplatePath(b.results, spec) + "\n";
  s += "mkdir -p \"$STATUS_DIR\" \"$(dirname \"$RESULTS\")\"\n";
  s += "started=$(date +%s)\nrc=0\n";
  if (b.workload == "gemm") {
    s += "srun \"$EGRET\" bench gemm --size " + std::to_string(b.gemm_size) + " --repeats " +
         std::to_string(b.repeats) + " >\"$STATUS_DIR/raw.jsonl\" || rc=$?\n";
    s += "INPUT=\"$STATUS_DIR/raw.jsonl\"\n";
  } else {
    // A few real fine-tuning steps. The run directory must be one every node sees (a job's
    // /tmp is per node), and is removed afterwards: only the throughput is kept.
    s += "EGRET_TRAIN=\"$EGRET_PREFIX/bin/egret-train\"\n";
    s += "RUN_DIR=\"$(dirname \"$RESULTS\")/run-$SLURM_JOB_ID\"\n";
    s += "mkdir -p \"$RUN_DIR\"\n";
    s += "cat >\"$RUN_DIR/job.toml\" <<EOF\n" + trainer::JobConfig(spec) + "EOF\n";
    s += "srun --mpi=pmix --kill-on-bad-exit=1 \"$EGRET_TRAIN\" finetune --config \"$RUN_DIR/job.toml\" || rc=$?\n";
    s += "rm -rf \"$RUN_DIR\"\n";
    s += "INPUT=\"$STATUS_DIR/" + std::string(trainer::kMetricsFile) + "\"\n";
  }
  s += "\"$EGRET\" bench record --schedule " + ShellWord(job_name) + " --workload " + b.workload +
       " --job \"$SLURM_JOB_ID\" --fired-at \"$FIRED_AT\" --started-at \"$started\" --exit-code \"$rc\" \\\n"
       "  --input \"$INPUT\" --append \"$RESULTS\" --append \"$BENCH_DIR/results.jsonl\"\n";
  s += "exit \"$rc\"\n";
  return s;
}

}  // namespace egret::jobspec::bench
