// Rendered batch scripts against golden files, each reviewed line by line by hand against
// sbatch(1), srun(1) and bash(1). What was checked in each:
//  - #SBATCH lines: --account and egret.so's --tenant are the tenant; --gres=gpu:N is per
//    node; --ntasks-per-node is ranks_per_node and --nodes the node count, so srun starts
//    nodes x ranks ranks; --time is D-HH:MM:SS; --signal has no "B:" so Slurm signals every
//    step's tasks (each egret-train rank) and not the batch shell; --requeue/--no-requeue
//    as configured (benchmark links never requeue: a rerun would fork the chain);
//    --open-mode=append keeps a requeued run's log; --output uses %j, or %A_%a for arrays,
//    so the status directory (<runs_dir>/<id>) matches the log's name; --array=0-(N-1).
//  - The body: set -euo pipefail; JOB/TASK from SLURM_ARRAY_JOB_ID/SLURM_ARRAY_TASK_ID
//    falling back to SLURM_JOB_ID/0; the tenant-view variables are checked before use;
//    RUN_DIR is keyed by the job id, which a requeued job keeps, so `--resume auto` finds
//    its checkpoints; job.toml is written through an unquoted heredoc so ${EGRET_*},
//    ${RUN_DIR}, ${STATUS_DIR} and ${SWEEP_*} expand and nothing else does (paths are TOML
//    literal strings, which cannot hold the quote the view check rejects); every array task
//    of the sweep gets the combination listed in the header comment; the job.toml keys and
//    sections are egret-train's schema v1 (mpi_trainer/train/README.md: version = 1,
//    data.train a list, optimizer.betas a pair, checkpoint.dir left to its default under
//    output.dir); srun --mpi=pmix (the launch that works here, also across nodes); exit
//    status 75 (egret-train's "checkpointed on the signal") requeues the job; eval jobs call
//    `egret-train eval` with its own flags (--model, --adapter, --dataset, --exact-match,
//    --max-new-tokens, --output); benchmark links run `egret bench link` before anything
//    else and stop on its "cancelled" status 3.
// EGRET_UPDATE_GOLDEN=1 rewrites the files (then review the diff by hand again).
#include <cstdlib>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "common/fs.h"
#include "common/process.h"
#include "jobspecs/bench/link_script.h"
#include "jobspecs/render/sbatch.h"
#include "jobspecs/spec/parse.h"

namespace egret::jobspec {
namespace {

const std::string kSource = EGRET_SOURCE_DIR;

std::string Render(const std::string& example) {
  auto text = ReadFile(kSource + "/jobspecs/examples/" + example + ".toml");
  EXPECT_TRUE(text.ok());
  auto spec = ParseJobspecText(*text, "examples/" + example + ".toml");
  EXPECT_TRUE(spec.ok()) << spec.error().message();
  render::RenderOptions o;
  o.prefix = "/opt/egret";
  o.runs_dir = "/home/alice/egret-runs/" + spec->name;
  o.tenant_option = true;
  return spec->kind == Kind::kBenchmark ? bench::RenderLinkScript(*spec, o) : render::RenderJobScript(*spec, o);
}

void CheckGolden(const std::string& example) {
  std::string got = Render(example);
  std::string path = kSource + "/tests/jobspecs/golden/" + example + ".sbatch";
  if (const char* u = std::getenv("EGRET_UPDATE_GOLDEN"); u && std::string(u) == "1") {
    ASSERT_TRUE(WriteFileAtomic(path, got).ok());
    return;
  }
  auto want = ReadFile(path);
  ASSERT_TRUE(want.ok()) << path << " is missing; run with EGRET_UPDATE_GOLDEN=1 and review it";
  EXPECT_EQ(got, *want) << "the rendering of " << example << " changed; if intended, regenerate with "
                        << "EGRET_UPDATE_GOLDEN=1 and review " << path;
  // bash itself must accept the script.
  auto r = RunProcess({"bash", "-n", path});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 0) << r->err;
}

TEST(RenderGolden, FinetuneLora) { CheckGolden("finetune-lora"); }
TEST(RenderGolden, FinetuneSweep) { CheckGolden("finetune-sweep"); }
TEST(RenderGolden, FinetuneFullTwoNodes) { CheckGolden("finetune-full-2node"); }
TEST(RenderGolden, Eval) { CheckGolden("eval"); }
TEST(RenderGolden, BenchmarkNightly) { CheckGolden("benchmark-nightly"); }
TEST(RenderGolden, BenchmarkFinetuneSteps) { CheckGolden("benchmark-finetune-steps"); }

TEST(Render, WithoutThePluginNoTenantOption) {
  auto spec = ParseJobspecFile(kSource + "/jobspecs/examples/finetune-lora.toml");
  ASSERT_TRUE(spec.ok());
  render::RenderOptions o{"/p", "/r/acme-lora", false};
  std::string s = render::RenderJobScript(*spec, o);
  EXPECT_EQ(s.find("--tenant"), std::string::npos);
  EXPECT_NE(s.find("#SBATCH --account=acme\n"), std::string::npos);
}

}  // namespace
}  // namespace egret::jobspec
