#include "jobspecs/bench/chain.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "common/fs.h"
#include "common/strings.h"
#include "jobspecs/bench/layout.h"
#include "jobspecs/bench/link_script.h"
#include "jobspecs/slurm/commands.h"

namespace egret::jobspec::bench {
namespace {

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

void Sleep(double s) {
  if (s > 0) std::this_thread::sleep_for(std::chrono::duration<double>(s));
}

// "nightly", "acme:nightly" or "egret-bench:acme:nightly" against a job name.
bool Matches(const std::string& query, const std::string& job_name) {
  std::string tenant, name;
  if (!ParseScheduleJobName(job_name, &tenant, &name)) return false;
  return query == name || query == tenant + ":" + name || query == job_name;
}

std::string LastLine(const std::string& path) {
  std::ifstream in(path);
  std::string line, last;
  while (std::getline(in, line))
    if (!Trim(line).empty()) last = line;
  return last;
}

}  // namespace

std::vector<slurm::Job> LinksOf(const std::vector<slurm::Job>& jobs, const std::string& name, uint32_t uid) {
  std::vector<slurm::Job> out;
  for (const auto& j : jobs)
    if (j.uid == uid && j.IsActive() && Matches(name, j.name)) out.push_back(j);
  return out;
}

Result<Submitted> SubmitSchedule(const Jobspec& spec, const render::RenderOptions& o, int64_t now) {
  const std::string job_name = ScheduleJobName(spec.tenant, spec.name);
  EGRET_ASSIGN_OR_RETURN(auto jobs, slurm::LoadJobs());
  for (const auto& j : LinksOf(jobs, job_name, ::getuid()))
    return Error("schedule " + spec.tenant + ":" + spec.name + " already runs (job " + j.DisplayId() +
                 " is " + j.state + "); stop it first with: egret bench cancel " + spec.tenant + ":" +
                 spec.name);
  std::error_code ec;
  std::filesystem::create_directories(o.runs_dir, ec);
  if (ec) return Error("cannot create " + o.runs_dir + ": " + ec.message());
  ScheduleFile f;
  f.tenant = spec.tenant;
  f.name = spec.name;
  f.workload = spec.benchmark->workload;
  f.source = spec.source;
  if (spec.benchmark->schedule) {
    f.interval = spec.benchmark->schedule->is_interval();
    f.schedule = f.interval ? spec.benchmark->schedule->text.substr(6)  // drop "every "
                            : spec.benchmark->schedule->text;
  }
  EGRET_TRY(WriteScheduleFile(o.runs_dir, f));
  EGRET_TRY(WriteFileAtomic(LinkScriptPath(o.runs_dir), RenderLinkScript(spec, o), 0755));
  // A new chain under an old name starts uncancelled (no link of the old one is active).
  if (::unlink(CancelMarkerPath(o.runs_dir).c_str()) != 0 && errno != ENOENT)
    return Error("cannot remove " + CancelMarkerPath(o.runs_dir) + ": " + std::strerror(errno));

  Submitted s;
  s.dir = o.runs_dir;
  slurm::SbatchRequest req;
  req.script_path = LinkScriptPath(o.runs_dir);
  if (spec.benchmark->schedule) {
    auto first = cron::NextFire(*spec.benchmark->schedule, now);
    if (!first) return Error("schedule \"" + spec.benchmark->schedule->text + "\" never fires");
    s.first_fire = *first;
    req.options.push_back("--begin=" + BeginTime(*first));
    req.script_args.push_back(std::to_string(*first));
  } else {
    req.script_args.push_back(std::to_string(now));
  }
  EGRET_ASSIGN_OR_RETURN(s.job_id, slurm::Sbatch(req));
  // Not fatal: the chain runs without it; only finding it after it stops needs it.
  if (Status st = RecordScheduleDir(spec.tenant, spec.name, o.runs_dir); !st.ok())
    std::fprintf(stderr, "egret: warning: %s\n", st.error().message().c_str());
  return s;
}

Result<LinkResult> RunLink(const std::string& dir, uint32_t self, int64_t fired_at, int64_t now,
                           double pause_before_submit_s, double pause_after_submit_s) {
  LinkResult r;
  if (Exists(CancelMarkerPath(dir))) {
    r.cancelled = true;
    r.message = "schedule cancelled (" + CancelMarkerPath(dir) + "): this run stops here";
    return r;
  }
  EGRET_ASSIGN_OR_RETURN(auto file, ReadScheduleFile(dir));
  EGRET_ASSIGN_OR_RETURN(auto schedule, file.Parsed());
  const std::string job_name = ScheduleJobName(file.tenant, file.name);

  // A run that starts late skips the fire times it missed instead of piling them up.
  auto next = cron::NextFire(schedule, std::max(now, fired_at));
  if (!next) return Error("schedule \"" + schedule.text + "\" fires no more");
  r.next_fire = *next;

  // Another pending link already carries the schedule (this link was requeued, or ran
  // twice): submitting a second one would fork the chain.
  EGRET_ASSIGN_OR_RETURN(auto jobs, slurm::LoadJobs());
  for (const auto& j : LinksOf(jobs, job_name, ::getuid())) {
    if (j.id != self && j.IsPending()) {
      r.next_job = j.id;
      r.message = "next run already queued as job " + j.DisplayId() + "; not submitting another";
      return r;
    }
  }

  Sleep(pause_before_submit_s);
  slurm::SbatchRequest req;
  req.options = {"--begin=" + BeginTime(*next)};
  req.script_path = LinkScriptPath(dir);
  req.script_args = {std::to_string(*next)};
  req.clean_environment = true;
  EGRET_ASSIGN_OR_RETURN(r.next_job, slurm::Sbatch(req));
  Sleep(pause_after_submit_s);

  // The second half of the cancel handshake (chain.h): the marker may have appeared while
  // we submitted; then the successor is ours to remove.
  if (Exists(CancelMarkerPath(dir))) {
    r.cancelled = true;
    Status st = slurm::Scancel({r.next_job});
    if (!st.ok()) {
      // `egret bench cancel` may have removed it first; only a successor still alive is a problem.
      auto j = slurm::LoadJob(r.next_job);
      if (!j.ok() || (*j && (*j)->IsActive()))
        return Error("schedule cancelled, but its next run (job " + std::to_string(r.next_job) +
                     ") could not be removed: " + st.error().message() + "; scancel it by hand");
    }
    r.message = "schedule cancelled while submitting the next run; removed job " + std::to_string(r.next_job);
    return r;
  }
  r.message = "next run: job " + std::to_string(r.next_job) + " at " + BeginTime(*next);
  return r;
}

Result<Cancelled> CancelSchedule(const std::string& name, uint32_t uid, bool kill_running) {
  EGRET_ASSIGN_OR_RETURN(auto jobs, slurm::LoadJobs());
  auto links = LinksOf(jobs, name, uid);
  std::set<std::string> keys;
  for (const auto& j : links) keys.insert(j.name);
  if (links.empty())
    return Error("no active schedule \"" + name + "\" of yours (egret bench list shows them)");
  if (keys.size() > 1) {
    std::vector<std::string> ks;
    for (const auto& k : keys) ks.push_back(k.substr(std::string("egret-bench:").size()));
    return Error("\"" + name + "\" names several schedules (" + Join(ks, ", ") +
                 "); give tenant:name");
  }
  Cancelled c;
  const std::string job_name = *keys.begin();
  c.key = job_name.substr(std::string("egret-bench:").size());
  c.dir = links[0].work_dir;
  // 1. The marker first (durably): links check it after they submit.
  EGRET_TRY(WriteFileAtomic(CancelMarkerPath(c.dir), "cancelled by uid " + std::to_string(uid) + "\n"));
  // 2. Then every pending link that exists now, including any successor a running link
  //    submitted before the marker was there. Repeat while a running link could still be
  //    between its submit and its check, so the command returns with nothing pending.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  std::set<uint32_t> done;
  while (true) {
    EGRET_ASSIGN_OR_RETURN(jobs, slurm::LoadJobs());
    std::vector<uint32_t> kill;
    std::vector<uint32_t> running;
    for (const auto& j : LinksOf(jobs, job_name, uid)) {
      if (done.count(j.id)) continue;
      if (j.IsPending() || kill_running) kill.push_back(j.id);
      else running.push_back(j.id);
    }
    if (!kill.empty()) {
      EGRET_TRY(slurm::Scancel(kill));
      for (uint32_t id : kill) {
        done.insert(id);
        c.scancelled.push_back(id);
      }
    }
    c.running = running;
    if (running.empty() || std::chrono::steady_clock::now() > deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  return c;
}

Result<std::vector<Listed>> ListSchedules(uint32_t uid) {
  EGRET_ASSIGN_OR_RETURN(auto jobs, slurm::LoadJobs());
  std::vector<Listed> out;
  auto find = [&](const std::string& tenant, const std::string& name) -> Listed& {
    for (auto& l : out)
      if (l.tenant == tenant && l.name == name) return l;
    out.push_back({});
    out.back().tenant = tenant;
    out.back().name = name;
    return out.back();
  };
  for (const auto& j : jobs) {
    std::string tenant, name;
    if (j.uid != uid || !j.IsActive() || !ParseScheduleJobName(j.name, &tenant, &name)) continue;
    Listed& l = find(tenant, name);
    l.dir = j.work_dir;
    if (j.IsPending()) {
      if (!l.pending || j.eligible_time < l.pending->eligible_time) l.pending = j;
    } else {
      l.running = j;
    }
  }
  for (const auto& ix : IndexedSchedules()) {
    bool active = false;
    for (const auto& l : out) active |= l.tenant == ix.tenant && l.name == ix.name;
    if (!active && Exists(ScheduleFilePath(ix.dir))) {
      Listed l;
      l.tenant = ix.tenant;
      l.name = ix.name;
      l.dir = ix.dir;
      out.push_back(l);
    }
  }
  for (auto& l : out) {
    if (Exists(CancelMarkerPath(l.dir))) l.schedule = "(cancelled)";
    else if (!l.pending && !l.running) l.schedule = "(stopped)";
    else if (auto f = ReadScheduleFile(l.dir); f.ok()) l.schedule = f->interval ? "every " + f->schedule : f->schedule;
    l.last_result = LastLine(ResultsCopyPath(l.dir));
  }
  return out;
}

}  // namespace egret::jobspec::bench
