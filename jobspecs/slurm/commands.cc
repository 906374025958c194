#include "jobspecs/slurm/commands.h"

#include <cctype>

extern char** environ;

#include "common/process.h"
#include "common/strings.h"

namespace egret::jobspec::slurm {

namespace {

std::vector<std::string> KeptEnvironment() {
  std::vector<std::string> out;
  for (char** e = environ; *e; ++e) {
    std::string_view kv(*e);
    std::string_view key = kv.substr(0, kv.find('='));
    if (key == "PATH" || key == "HOME" || key == "USER" || key == "LOGNAME" || key == "LANG" ||
        key == "TZ" || key == "SLURM_CONF" || key.rfind("LC_", 0) == 0 || key.rfind("EGRET_", 0) == 0)
      out.emplace_back(kv);
  }
  return out;
}

}  // namespace

Result<uint32_t> Sbatch(const SbatchRequest& req) {
  std::vector<std::string> argv;
  if (req.clean_environment) {
    argv = {"env", "-i"};
    for (auto& kv : KeptEnvironment()) argv.push_back(kv);
  }
  argv.push_back("sbatch");
  argv.push_back("--parsable");
  argv.insert(argv.end(), req.options.begin(), req.options.end());
  ProcessOptions po;
  po.timeout_s = 60;
  if (!req.script_path.empty()) {
    argv.push_back(req.script_path);
    argv.insert(argv.end(), req.script_args.begin(), req.script_args.end());
  } else {
    po.stdin_data = req.script_text;
  }
  auto r = RunProcess(argv, po);
  if (!r.ok()) return r.error().context("sbatch");
  std::string err(Trim(r->err));
  if (r->exit_code != 0)
    return Error("sbatch failed (exit " + std::to_string(r->exit_code) + "): " +
                 (err.empty() ? std::string(Trim(r->out)) : err));
  // --parsable prints "JOBID" or "JOBID;CLUSTER".
  std::string out(Trim(r->out));
  size_t i = 0;
  uint64_t id = 0;
  while (i < out.size() && std::isdigit(static_cast<unsigned char>(out[i]))) id = id * 10 + (out[i++] - '0');
  if (i == 0 || id == 0 || id > UINT32_MAX)
    return Error("sbatch printed no job id (stdout \"" + out + "\", stderr \"" + err + "\")");
  return static_cast<uint32_t>(id);
}

Status Scancel(const std::vector<uint32_t>& ids) {
  if (ids.empty()) return Ok();
  std::vector<std::string> argv = {"scancel"};
  for (uint32_t id : ids) argv.push_back(std::to_string(id));
  ProcessOptions po;
  po.timeout_s = 60;
  auto r = RunProcess(argv, po);
  if (!r.ok()) return r.error().context("scancel");
  if (r->exit_code != 0)
    return Error("scancel " + Join(std::vector<std::string>(argv.begin() + 1, argv.end()), " ") +
                 " failed: " + std::string(Trim(r->err)));
  return Ok();
}

bool SbatchHasTenantOption() {
  ProcessOptions po;
  po.timeout_s = 30;
  auto r = RunProcess({"sbatch", "--help"}, po);
  return r.ok() && r->out.find("--tenant") != std::string::npos;
}

}  // namespace egret::jobspec::slurm
