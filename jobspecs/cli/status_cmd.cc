#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>

#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>

#include "jobspecs/cli/commands.h"
#include "jobspecs/slurm/jobs.h"
#include "jobspecs/status/status.h"

namespace po = boost::program_options;

namespace egret::jobspec::cli {
namespace {

constexpr const char* kDefaultSocket = "/run/egret/quotad.sock";

// "123" or "123_4" -> (123, 4 or -1).
bool ParseJobArg(const std::string& s, uint32_t* id, int64_t* task) {
  auto us = s.find('_');
  std::string a = s.substr(0, us), b = us == std::string::npos ? "" : s.substr(us + 1);
  auto digits = [](const std::string& x) {
    return !x.empty() && x.size() <= 10 && x.find_first_not_of("0123456789") == std::string::npos;
  };
  if (!digits(a) || (us != std::string::npos && !digits(b))) return false;
  unsigned long long v = std::stoull(a);
  if (v == 0 || v > UINT32_MAX) return false;
  *id = static_cast<uint32_t>(v);
  *task = b.empty() ? -1 : std::stoll(b);
  return true;
}

}  // namespace

int RunStatus(const std::vector<std::string>& args) {
  po::options_description desc(
      "usage: egret status [JOBID] [options]\n\n"
      "A job's state, why egret-quotad holds it, its progress (step/total, loss, tokens/s) and\n"
      "its eval results; without JOBID, a table of your jobs. JOBID may be 123 or 123_4.\n\n"
      "options");
  std::string job_arg, socket;
  desc.add_options()
      ("help,h", "this help")
      ("json", "JSON instead of text")
      ("all", "every user's jobs, not only yours")
      ("socket", po::value(&socket), "egret-quotad's socket (default $EGRET_QUOTAD_SOCKET, else /run/egret/quotad.sock)");
  po::options_description hidden;
  hidden.add_options()("job", po::value(&job_arg));
  po::options_description all;
  all.add(desc).add(hidden);
  po::positional_options_description pos;
  pos.add("job", 1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(all).positional(pos).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "egret status: " << e.what() << "\n\n" << desc << "\n";
    return 2;
  }
  if (vm.count("help")) {
    std::cout << desc << "\n";
    return 0;
  }
  if (socket.empty()) {
    const char* e = std::getenv("EGRET_QUOTAD_SOCKET");
    socket = e && *e ? e : kDefaultSocket;
  }
  const bool json = vm.count("json") > 0;
  status::QuotaReasons reasons(socket);

  std::vector<slurm::Job> jobs;
  if (!job_arg.empty()) {
    uint32_t id;
    int64_t task;
    if (!ParseJobArg(job_arg, &id, &task)) {
      std::cerr << "egret status: \"" << job_arg << "\" is not a job id (e.g. 123 or 123_4)\n";
      return 2;
    }
    auto all_jobs = slurm::LoadJobs();
    if (!all_jobs.ok()) {
      std::cerr << "egret status: " << all_jobs.error().message() << "\n";
      return 1;
    }
    for (const auto& j : *all_jobs) {
      bool match = task < 0 ? (j.id == id || j.array_job_id == id) : j.IsArrayTask(id, task);
      if (match) jobs.push_back(j);
    }
    if (jobs.empty()) {
      std::cerr << "egret status: slurmctld does not know job " << job_arg
                << " (a finished job is forgotten MinJobAge seconds after it ends)\n";
      return 1;
    }
  } else {
    auto all_jobs = slurm::LoadJobs();
    if (!all_jobs.ok()) {
      std::cerr << "egret status: " << all_jobs.error().message() << "\n";
      return 1;
    }
    uid_t me = ::getuid();
    for (const auto& j : *all_jobs)
      if (vm.count("all") || j.uid == me) jobs.push_back(j);
  }
  std::sort(jobs.begin(), jobs.end(), [](const slurm::Job& a, const slurm::Job& b) {
    uint32_t ka = a.array_job_id ? a.array_job_id : a.id, kb = b.array_job_id ? b.array_job_id : b.id;
    return ka != kb ? ka < kb : a.array_task_id < b.array_task_id;
  });

  std::vector<status::JobStatus> statuses;
  for (const auto& j : jobs) statuses.push_back(status::Collect(j, &reasons));
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& s : statuses) out.push_back(status::ToJson(s));
    std::cout << (job_arg.empty() || out.size() != 1 ? out : out[0]).dump(2) << "\n";
  } else if (!job_arg.empty()) {
    for (const auto& s : statuses) std::cout << status::RenderDetail(s);
  } else if (statuses.empty()) {
    std::cout << "no jobs\n";
  } else {
    std::cout << status::RenderTable(statuses);
  }
  if (!json && !reasons.unreachable().empty() && !statuses.empty())
    std::cerr << "(quota reasons from job comments: egret-quotad not reached: " << reasons.unreachable() << ")\n";
  return 0;
}

}  // namespace egret::jobspec::cli
