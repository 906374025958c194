#include "jobspecs/submit/submit.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "jobspecs/bench/chain.h"
#include "jobspecs/bench/layout.h"
#include "jobspecs/bench/link_script.h"
#include "jobspecs/render/sbatch.h"
#include "jobspecs/slurm/cluster.h"
#include "jobspecs/slurm/commands.h"

namespace egret::jobspec::submit {

std::string ResolvePrefix(const std::string& flag) {
  if (!flag.empty()) return std::filesystem::absolute(flag).lexically_normal().string();
  if (const char* e = std::getenv("EGRET_PREFIX"); e && *e)
    return std::filesystem::absolute(e).lexically_normal().string();
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "/usr/local";
  return exe.parent_path().parent_path().string();
}

std::string RunsDir(const Jobspec& spec, const std::string& cwd) {
  std::filesystem::path out(spec.output_dir);
  if (out.is_relative()) out = std::filesystem::path(cwd) / out;
  return (out / spec.name).lexically_normal().string();
}

Result<Outcome> Submit(const Jobspec& spec, const Options& o, int64_t now) {
  Outcome out;
  out.runs_dir = RunsDir(spec, o.cwd);
  render::RenderOptions ro;
  ro.prefix = o.prefix;
  ro.runs_dir = out.runs_dir;
  ro.tenant_option = o.tenant_option ? *o.tenant_option : slurm::SbatchHasTenantOption();
  const bool scheduled = spec.kind == Kind::kBenchmark;
  out.script = scheduled ? bench::RenderLinkScript(spec, ro) : render::RenderJobScript(spec, ro);
  if (o.dry_run) {
    if (scheduled && spec.benchmark->schedule) {
      auto first = cron::NextFire(*spec.benchmark->schedule, now);
      if (first) {
        out.first_fire = *first;
        out.script += "# egret submit would start the chain with:\n#   sbatch --begin=" +
                      bench::BeginTime(*first) + " " + bench::LinkScriptPath(out.runs_dir) + " " +
                      std::to_string(*first) + "\n";
      }
    }
    return out;
  }

  // The cluster's own answer to "does this fit", with the choices, before sbatch's.
  EGRET_ASSIGN_OR_RETURN(auto cluster, slurm::LoadClusterInfo());
  EGRET_TRY(slurm::CheckResources(spec, cluster));

  if (scheduled) {
    EGRET_ASSIGN_OR_RETURN(auto s, bench::SubmitSchedule(spec, ro, now));
    out.job_id = s.job_id;
    out.first_fire = s.first_fire;
    return out;
  }
  std::error_code ec;
  std::filesystem::create_directories(out.runs_dir, ec);
  if (ec) return Error("cannot create the job's output directory " + out.runs_dir + ": " + ec.message());
  slurm::SbatchRequest req;
  req.script_text = out.script;
  EGRET_ASSIGN_OR_RETURN(out.job_id, slurm::Sbatch(req));
  return out;
}

}  // namespace egret::jobspec::submit
