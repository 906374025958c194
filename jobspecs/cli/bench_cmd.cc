#include <unistd.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>

#include "common/fs.h"
#include "common/strings.h"
#include "jobspecs/bench/chain.h"
#include "jobspecs/bench/gemm.h"
#include "jobspecs/bench/layout.h"
#include "jobspecs/bench/link_script.h"
#include "jobspecs/bench/record.h"
#include "jobspecs/bench/report.h"
#include "jobspecs/cli/commands.h"
#include "jobspecs/format/table.h"

namespace po = boost::program_options;

namespace egret::jobspec::cli {
namespace {

constexpr const char* kUsage =
    "usage: egret bench list [--json]\n"
    "       egret bench cancel NAME [--kill-running]\n"
    "       egret bench report NAME [--dir DIR] [--png FILE] [--json]\n"
    "NAME is the benchmark's name, or TENANT:NAME when several tenants use it.\n";

int64_t Now() { return static_cast<int64_t>(std::time(nullptr)); }

// Parses ARGS with DESC (+ one optional positional NAME); returns 0 to go on, else the
// exit status to return.
int Parse(const std::vector<std::string>& args, po::options_description& desc, po::variables_map& vm,
          std::string* positional, const char* what) {
  po::options_description all;
  all.add(desc);
  po::positional_options_description pos;
  if (positional) {
    all.add_options()("name", po::value(positional));
    pos.add("name", 1);
  }
  try {
    po::store(po::command_line_parser(args).options(all).positional(pos).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "egret bench " << what << ": " << e.what() << "\n\n" << desc << "\n";
    return 2;
  }
  if (vm.count("help")) {
    std::cout << desc << "\n";
    return -1;
  }
  return 0;
}

int List(const std::vector<std::string>& args) {
  po::options_description desc("usage: egret bench list [--json]\n\nYour scheduled benchmarks, from their pending links in squeue.\n\noptions");
  desc.add_options()("help,h", "this help")("json", "JSON instead of a table");
  po::variables_map vm;
  if (int rc = Parse(args, desc, vm, nullptr, "list")) return rc < 0 ? 0 : rc;
  auto l = bench::ListSchedules(::getuid());
  if (!l.ok()) {
    std::cerr << "egret bench list: " << l.error().message() << "\n";
    return 1;
  }
  if (vm.count("json")) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& s : *l) {
      nlohmann::json j = {{"tenant", s.tenant}, {"name", s.name}, {"schedule", s.schedule}, {"dir", s.dir}};
      if (s.pending) j["next_job"] = s.pending->id, j["next_run"] = s.pending->eligible_time;
      if (s.running) j["running_job"] = s.running->id;
      auto last = nlohmann::json::parse(s.last_result, nullptr, false);
      if (!last.is_discarded()) j["last_result"] = last;
      out.push_back(j);
    }
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  if (l->empty()) {
    std::cout << "no scheduled benchmarks\n";
    return 0;
  }
  format::Table t({"NAME", "TENANT", "SCHEDULE", "NEXT RUN", "JOB", "RUNNING", "LAST RESULT"});
  for (const auto& s : *l) {
    std::string last = "-";
    auto j = nlohmann::json::parse(s.last_result, nullptr, false);
    if (!j.is_discarded() && j.is_object()) {
      if (j.contains("value") && j["value"].is_number()) {
        char buf[64];
        snprintf(buf, sizeof buf, "%.2f %s", j["value"].get<double>(), j.value("unit", "").c_str());
        last = buf;
      } else {
        last = "failed";
      }
      last += " (" + format::LocalTime(j.value("fired_at", int64_t{0})) + ")";
    }
    t.Add({s.name, s.tenant, s.schedule, s.pending ? format::LocalTime(s.pending->eligible_time) : "-",
           s.pending ? std::to_string(s.pending->id) : "-", s.running ? std::to_string(s.running->id) : "-", last});
  }
  std::cout << t.Render();
  return 0;
}

int Cancel(const std::vector<std::string>& args) {
  po::options_description desc(
      "usage: egret bench cancel NAME [--kill-running]\n\n"
      "Stops a schedule: marks it cancelled, then removes its pending run. A run in progress\n"
      "finishes (or is killed with --kill-running) and submits no successor.\n\noptions");
  desc.add_options()("help,h", "this help")("kill-running", "also scancel a run in progress");
  po::variables_map vm;
  std::string name;
  if (int rc = Parse(args, desc, vm, &name, "cancel")) return rc < 0 ? 0 : rc;
  if (name.empty()) {
    std::cerr << "egret bench cancel: which schedule? (egret bench list shows them)\n";
    return 2;
  }
  auto c = bench::CancelSchedule(name, ::getuid(), vm.count("kill-running") > 0);
  if (!c.ok()) {
    std::cerr << "egret bench cancel: " << c.error().message() << "\n";
    return 1;
  }
  std::cout << "cancelled schedule " << c->key;
  std::vector<std::string> ids;
  for (uint32_t id : c->scancelled) ids.push_back(std::to_string(id));
  if (!ids.empty()) std::cout << ": removed job(s) " << Join(ids, ", ");
  std::cout << "\n";
  for (uint32_t id : c->running)
    std::cout << "  job " << id << " is still running; it will finish without submitting another run\n";
  return 0;
}

int Report(const std::vector<std::string>& args) {
  po::options_description desc(
      "usage: egret bench report NAME [options]\n\n"
      "A schedule's results as a table, and a trend plot (PNG, gnuplot).\n\noptions");
  std::string dir, png;
  desc.add_options()
      ("help,h", "this help")
      ("dir", po::value(&dir), "the schedule's directory (default: from its active run, else from the record "
                               "egret submit keeps in ~/.local/state/egret/schedules)")
      ("png", po::value(&png), "where to write the plot (default DIR/trend.png)")
      ("json", "the result lines as a JSON array");
  po::variables_map vm;
  std::string name;
  if (int rc = Parse(args, desc, vm, &name, "report")) return rc < 0 ? 0 : rc;
  if (name.empty() && dir.empty()) {
    std::cerr << "egret bench report: which schedule? (egret bench list shows them)\n";
    return 2;
  }
  // Where the schedule lives: --dir, a path, its active links, or the submitter's index.
  if (dir.empty() && name.find('/') != std::string::npos) dir = name;
  if (dir.empty()) {
    if (auto jobs = slurm::LoadJobs(); jobs.ok()) {
      auto links = bench::LinksOf(*jobs, name, ::getuid());
      if (!links.empty()) dir = links[0].work_dir;
    }
  }
  if (dir.empty()) {
    auto ix = bench::FindIndexedSchedule(name);
    if (!ix.ok()) {
      std::cerr << "egret bench report: " << ix.error().message() << "\n";
      return 1;
    }
    dir = ix->dir;
  }
  auto h = bench::ReadHistory(bench::ResultsCopyPath(dir));
  if (!h.ok()) {
    std::cerr << "egret bench report: " << h.error().message()
              << " (no run has finished yet, or give the schedule's directory with --dir)\n";
    return 1;
  }
  if (vm.count("json")) {
    std::cout << nlohmann::json(h->runs).dump(2) << "\n";
    return 0;
  }
  std::cout << bench::HistoryTable(*h);
  if (png.empty()) png = dir + "/trend.png";
  std::string title = name.empty() ? dir : name;
  if (!h->runs.empty()) title = h->runs.back().value("schedule", title) + " (" + h->runs.back().value("workload", "") + ")";
  Status st = bench::PlotTrend(*h, title, png);
  if (st.ok()) std::cout << "trend plot: " << png << "\n";
  else std::cerr << "no plot: " << st.error().message() << "\n";
  return 0;
}

// Hidden: run by each link of a chain (link_script.cc).
int Link(const std::vector<std::string>& args) {
  po::options_description desc("usage: egret bench link --dir DIR --job ID --fired-at T");
  std::string dir;
  uint32_t job = 0;
  int64_t fired_at = 0;
  desc.add_options()("help,h", "")("dir", po::value(&dir)->required(), "")("job", po::value(&job)->required(), "")
      ("fired-at", po::value(&fired_at)->required(), "");
  po::variables_map vm;
  if (int rc = Parse(args, desc, vm, nullptr, "link")) return rc < 0 ? 0 : rc;
  // Fault injection for the cancel-race tests: seconds to wait before / after submitting.
  auto pause = [&](const char* file) {
    auto t = ReadFile(dir + "/" + file);
    return t.ok() ? std::atof(std::string(Trim(*t)).c_str()) : 0.0;
  };
  auto r = bench::RunLink(dir, job, fired_at, Now(), pause("test-pause-before-submit"),
                          pause("test-pause-after-submit"));
  if (!r.ok()) {
    std::cerr << "egret: " << r.error().message() << "\n";
    return 1;
  }
  std::cout << "egret: " << r->message << "\n";
  return r->cancelled ? bench::kCancelledExit : 0;
}

int Gemm(const std::vector<std::string>& args) {
  po::options_description desc("usage: egret bench gemm [--size N] [--repeats R]\n\nsgemm throughput of this node's BLAS, as one JSON line.\n\noptions");
  int size = 1024, repeats = 5;
  desc.add_options()("help,h", "this help")("size", po::value(&size), "matrix size N (N x N x N)")
      ("repeats", po::value(&repeats), "timed runs; the best counts");
  po::variables_map vm;
  if (int rc = Parse(args, desc, vm, nullptr, "gemm")) return rc < 0 ? 0 : rc;
  auto r = bench::RunGemm(size, repeats);
  if (!r.ok()) {
    std::cerr << "egret bench gemm: " << r.error().message() << "\n";
    return 1;
  }
  std::cout << r->dump() << std::endl;
  return 0;
}

// Hidden: run by each link after its workload (link_script.cc).
int Record(const std::vector<std::string>& args) {
  po::options_description desc("usage: egret bench record ...");
  bench::RunFacts f;
  std::string input;
  std::vector<std::string> appends;
  desc.add_options()("help,h", "")("schedule", po::value(&f.schedule_job_name)->required(), "")
      ("workload", po::value(&f.workload)->required(), "")("job", po::value(&f.job), "")
      ("fired-at", po::value(&f.fired_at), "")("started-at", po::value(&f.started_at), "")
      ("exit-code", po::value(&f.exit_code), "")("input", po::value(&input), "")
      ("append", po::value(&appends)->composing(), "");
  po::variables_map vm;
  if (int rc = Parse(args, desc, vm, nullptr, "record")) return rc < 0 ? 0 : rc;
  f.finished_at = Now();
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  f.host = host;
  std::string raw;
  if (auto t = ReadFile(input); t.ok()) raw = *t;
  std::string line = bench::ComposeResult(f, raw).dump();
  std::cout << line << "\n";
  int rc = 0;
  for (const auto& path : appends) {
    Status st = bench::AppendLine(path, line);
    if (!st.ok()) {
      std::cerr << "egret bench record: " << st.error().message() << "\n";
      rc = 1;
    }
  }
  return rc;
}

// Hidden, for checking a schedule by hand: the next fire times after a moment.
int NextFire(const std::vector<std::string>& args) {
  po::options_description desc("usage: egret bench next-fire (--cron EXPR | --every D) [--after T] [--count N]");
  std::string expr, every;
  int64_t after = Now();
  int count = 1;
  desc.add_options()("help,h", "")("cron", po::value(&expr), "")("every", po::value(&every), "")
      ("after", po::value(&after), "")("count", po::value(&count), "");
  po::variables_map vm;
  if (int rc = Parse(args, desc, vm, nullptr, "next-fire")) return rc < 0 ? 0 : rc;
  auto s = every.empty() ? cron::ParseCron(expr) : cron::ParseInterval(every);
  if (!s.ok()) {
    std::cerr << "egret bench next-fire: " << s.error().message() << "\n";
    return 1;
  }
  for (int i = 0; i < count; ++i) {
    auto t = cron::NextFire(*s, after);
    if (!t) return 1;
    std::cout << *t << " " << bench::BeginTime(*t) << "\n";
    after = *t;
  }
  return 0;
}

}  // namespace

int RunBench(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::cout << kUsage;
    return args.empty() ? 2 : 0;
  }
  std::vector<std::string> rest(args.begin() + 1, args.end());
  const std::string& sub = args[0];
  if (sub == "list") return List(rest);
  if (sub == "cancel") return Cancel(rest);
  if (sub == "report") return Report(rest);
  if (sub == "link") return Link(rest);
  if (sub == "gemm") return Gemm(rest);
  if (sub == "record") return Record(rest);
  if (sub == "next-fire") return NextFire(rest);
  std::cerr << "egret bench: unknown command '" << sub << "'\n" << kUsage;
  return 2;
}

}  // namespace egret::jobspec::cli
