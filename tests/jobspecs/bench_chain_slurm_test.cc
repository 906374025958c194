// Scheduled benchmarks on the real local cluster, as alice: a chain of `sbatch --begin`
// jobs fires on an interval (every 5 s here) and records each run; `egret bench list` shows
// the pending link, `egret bench cancel` stops the chain with nothing left pending and no
// further runs, and `egret bench report` prints the history and draws the trend plot.
// Two tests open the cancel race windows on purpose (a pause the link takes before or after
// submitting its successor) and check that the chain stops in both orders.
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/fs.h"
#include "common/strings.h"
#include "tests/finetune/support.h"
#include "tests/jobspecs/tenant_view.h"
#include "tests/support/slurm.h"

namespace egret::testing {
namespace {

namespace fs = std::filesystem;

struct Bench {
  std::string dir, name, sched_dir;
  int interval_s = 5;
  TenantView view;
};

Bench MakeBench(const std::string& test, const std::string& name, int interval_s,
                const std::string& resources = "partition = \"cpu\"\n") {
  Bench b;
  b.interval_s = interval_s;
  b.dir = MakeJobDir(test);
  b.name = name;
  b.sched_dir = b.dir + "/runs/" + name;
  b.view = ViewFor("acme", b.dir + "/view");
  fs::remove(b.view.root + "/checkpoints/bench/" + name + ".jsonl");
  std::string spec = "kind = \"benchmark\"\nname = \"" + name + "\"\ntenant = \"acme\"\n"
                     "[resources]\n" + resources + "time_limit = \"2m\"\n"
                     "[benchmark]\nevery = \"" + std::to_string(interval_s) + "s\"\nworkload = \"gemm\"\ngemm_size = 64\nrepeats = 2\n"
                     "[output]\ndir = \"runs\"\n";
  EXPECT_TRUE(WriteFileAtomic(b.dir + "/" + name + ".toml", spec).ok());
  return b;
}

ProcessResult Egret(const Bench& b, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {BuildDir() + "/bin/egret"};
  argv.insert(argv.end(), args.begin(), args.end());
  ProcessOptions o;
  o.cwd = b.dir;
  o.env = b.view.Env();
  o.env.push_back("EGRET_PREFIX=" + BuildDir());
  return RunAs("alice", argv, o);
}

// Alice's active links of the schedule: "ID STATE" lines from squeue.
std::vector<std::pair<long, std::string>> Links(const Bench& b) {
  auto r = RunProcess({"squeue", "-h", "-u", "alice", "-n", "egret-bench:acme:" + b.name, "-o", "%i %T"});
  std::vector<std::pair<long, std::string>> out;
  if (!r.ok()) return out;
  for (const auto& line : Split(r->out, '\n', true)) {
    auto parts = Split(std::string(Trim(line)), ' ', true);
    if (parts.size() == 2) out.emplace_back(std::stol(parts[0]), parts[1]);
  }
  return out;
}

int Count(const std::vector<std::pair<long, std::string>>& links, const std::string& state) {
  int n = 0;
  for (const auto& l : links) n += l.second == state;
  return n;
}

std::vector<nlohmann::json> Results(const Bench& b) {
  std::vector<nlohmann::json> out;
  for (const auto& line : Split(ReadText(b.sched_dir + "/results.jsonl"), '\n', true))
    out.push_back(nlohmann::json::parse(line));
  return out;
}

// After a cancel: nothing pending or running now, and nothing new for more than an interval.
void ExpectStopped(const Bench& b) {
  ASSERT_TRUE(Eventually([&] { return Links(b).empty(); }, 30)) << "links left after cancel";
  size_t runs = Results(b).size();
  std::this_thread::sleep_for(std::chrono::seconds(b.interval_s + 6));
  EXPECT_TRUE(Links(b).empty());
  EXPECT_EQ(Results(b).size(), runs) << "a run after the cancel";
}

TEST(EgretBench, FiresOnItsIntervalAndCancelStopsIt) {
  Bench b = MakeBench("jobspec-bench", "tick", 5);
  auto sub = Egret(b, {"submit", b.dir + "/tick.toml"});
  ASSERT_EQ(sub.exit_code, 0) << sub.out << sub.err;
  // The schedule is a pending job with a begin time, visible in squeue.
  auto first = Links(b);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].second, "PENDING");
  // A second chain under the same name is refused.
  auto again = Egret(b, {"submit", b.dir + "/tick.toml"});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("schedule acme:tick already runs"), std::string::npos) << again.err;

  ASSERT_TRUE(Eventually([&] { return Results(b).size() >= 2; }, 60))
      << ReadText(b.sched_dir + "/" + std::to_string(first[0].first) + ".out");
  auto runs = Results(b);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(runs[i]["ok"], true) << runs[i].dump();
    EXPECT_GT(runs[i]["value"].get<double>(), 0.0);
    EXPECT_EQ(runs[i]["fired_at"].get<int64_t>() % 5, 0) << "fire times are multiples of the interval";
  }
  EXPECT_GT(runs[1]["fired_at"].get<int64_t>(), runs[0]["fired_at"].get<int64_t>());
  EXPECT_NE(runs[1]["job"], runs[0]["job"]);
  // The tenant's own results file holds the same lines.
  EXPECT_GE(Split(ReadText(b.view.root + "/checkpoints/bench/tick.jsonl"), '\n', true).size(), 2u);

  auto list = Egret(b, {"bench", "list"});
  EXPECT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find("tick"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("every 5s"), std::string::npos) << list.out;

  auto cancel = Egret(b, {"bench", "cancel", "tick"});
  ASSERT_EQ(cancel.exit_code, 0) << cancel.out << cancel.err;
  EXPECT_NE(cancel.out.find("cancelled schedule acme:tick"), std::string::npos) << cancel.out;
  EXPECT_EQ(Count(Links(b), "PENDING"), 0);
  ExpectStopped(b);

  auto report = Egret(b, {"bench", "report", "tick"});
  EXPECT_EQ(report.exit_code, 0) << report.err;
  EXPECT_NE(report.out.find("GFLOP/s"), std::string::npos) << report.out;
  EXPECT_NE(report.out.find("trend plot: " + b.sched_dir + "/trend.png"), std::string::npos) << report.out << report.err;
  EXPECT_GT(fs::file_size(b.sched_dir + "/trend.png"), 1000u);
}

// The link submits its successor, then pauses before checking for the marker; the cancel
// lands in that window, so cancel itself must find and remove the successor. (A 15 s
// interval keeps the successor pending through the window.)
TEST(EgretBench, CancelBetweenSubmitAndCheckRemovesTheSuccessor) {
  Bench b = MakeBench("jobspec-bench-race1", "race1", 15);
  fs::create_directories(b.sched_dir);
  ::chmod(b.sched_dir.c_str(), 01777);
  ASSERT_TRUE(WriteFileAtomic(b.sched_dir + "/test-pause-after-submit", "6").ok());
  ::chmod((b.sched_dir + "/test-pause-after-submit").c_str(), 0644);
  auto sub = Egret(b, {"submit", b.dir + "/race1.toml"});
  ASSERT_EQ(sub.exit_code, 0) << sub.out << sub.err;
  // Wait for: one link running, its successor pending.
  ASSERT_TRUE(Eventually([&] { auto l = Links(b); return Count(l, "RUNNING") == 1 && Count(l, "PENDING") == 1; }, 60));
  long successor = 0;
  for (const auto& l : Links(b))
    if (l.second == "PENDING") successor = l.first;
  auto cancel = Egret(b, {"bench", "cancel", "acme:race1"});
  ASSERT_EQ(cancel.exit_code, 0) << cancel.out << cancel.err;
  EXPECT_NE(cancel.out.find("removed job(s) " + std::to_string(successor)), std::string::npos) << cancel.out;
  ExpectStopped(b);
}

// The link checks the marker, then pauses before submitting; the cancel lands in that
// window (nothing pending yet), so the link must remove its own successor and not run.
TEST(EgretBench, CancelBeforeTheSubmitMakesTheLinkRemoveItsSuccessor) {
  Bench b = MakeBench("jobspec-bench-race2", "race2", 15);
  fs::create_directories(b.sched_dir);
  ::chmod(b.sched_dir.c_str(), 01777);
  ASSERT_TRUE(WriteFileAtomic(b.sched_dir + "/test-pause-before-submit", "4").ok());
  ::chmod((b.sched_dir + "/test-pause-before-submit").c_str(), 0644);
  auto sub = Egret(b, {"submit", b.dir + "/race2.toml"});
  ASSERT_EQ(sub.exit_code, 0) << sub.out << sub.err;
  long link = 0;
  ASSERT_TRUE(Eventually([&] {
    for (const auto& l : Links(b))
      if (l.second == "RUNNING") link = l.first;
    return link != 0;
  }, 60));
  // Let it get past its first marker check into the pause.
  std::this_thread::sleep_for(std::chrono::seconds(1));
  EXPECT_EQ(Count(Links(b), "PENDING"), 0);
  auto cancel = Egret(b, {"bench", "cancel", "race2"});
  ASSERT_EQ(cancel.exit_code, 0) << cancel.out << cancel.err;
  ExpectStopped(b);
  std::string log = ReadText(b.sched_dir + "/" + std::to_string(link) + ".out");
  EXPECT_NE(log.find("schedule cancelled while submitting the next run; removed job"), std::string::npos) << log;
  EXPECT_TRUE(Results(b).empty()) << "the cancelled link must not run the benchmark";
}

// In the managed gpu partition: a link waiting for its begin time holds no lease (no quota)
// and says so in squeue; egret-quotad admits it once it is due, and the schedule fires.
TEST(EgretBench, FiresInAManagedPartitionWithoutHoldingQuotaBeforeItsTime) {
  Bench b = MakeBench("jobspec-bench-gpu", "gputick", 15, "partition = \"gpu\"\ngpus_per_node = 1\n");
  // Fire times are multiples of the interval: submit just after one, so the first link is
  // due 12 s or more later.
  while (::time(nullptr) % 15 < 1 || ::time(nullptr) % 15 > 3)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto sub = Egret(b, {"submit", b.dir + "/gputick.toml"});
  ASSERT_EQ(sub.exit_code, 0) << sub.out << sub.err;
  auto first = Links(b);
  ASSERT_EQ(first.size(), 1u);
  std::string id = std::to_string(first[0].first);
  std::string comment;
  EXPECT_TRUE(Eventually([&] {
    auto r = RunProcess({"squeue", "-h", "-j", id, "-o", "%k"});
    comment = r.ok() ? std::string(Trim(r->out)) : "";
    return comment.find("waits for its begin time") != std::string::npos;
  }, 6)) << comment;
  auto why = RunProcess({BuildDir() + "/bin/egretctl", "why", id, "--json"});
  ASSERT_TRUE(why.ok());
  auto j = nlohmann::json::parse(why->out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << why->out << why->err;
  EXPECT_EQ(j.value("state", ""), "queued") << "a link holds no lease before it is due: " << j.dump();
  ASSERT_TRUE(Eventually([&] { return Results(b).size() >= 2; }, 90))
      << ReadText(b.sched_dir + "/" + id + ".out");
  for (const auto& r : Results(b)) EXPECT_EQ(r["ok"], true) << r.dump();
  auto cancel = Egret(b, {"bench", "cancel", "gputick"});
  ASSERT_EQ(cancel.exit_code, 0) << cancel.out << cancel.err;
  ExpectStopped(b);
}

// A one-off benchmark of the finetune workload: a few real egret-train steps on a tiny model,
// recorded as the median tokens/s.
TEST(EgretBench, FinetuneWorkloadRecordsTokensPerSecond) {
  Bench b = MakeBench("jobspec-bench-ft", "ftsteps", 5);
  TinyJob t = MakeTinyJob("jobspec-bench-ft", 120, 48);
  fs::remove_all(b.view.root + "/models/jobspec-bench-ft");
  fs::remove_all(b.view.root + "/data/jobspec-bench-ft");
  fs::create_directories(b.view.root + "/data/jobspec-bench-ft");
  fs::create_directories(b.view.root + "/models/jobspec-bench-ft");
  fs::copy(t.model, b.view.root + "/models/jobspec-bench-ft/tiny", fs::copy_options::recursive);
  fs::copy_file(t.train, b.view.root + "/data/jobspec-bench-ft/train.h5");
  OpenUp(b.view.root + "/models/jobspec-bench-ft");
  OpenUp(b.view.root + "/data/jobspec-bench-ft");
  fs::remove_all(t.dir);
  std::string spec = "kind = \"benchmark\"\nname = \"ftsteps\"\ntenant = \"acme\"\n"
                     "[resources]\npartition = \"cpu\"\nranks_per_node = 2\ntime_limit = \"5m\"\n"
                     "[model]\nbase = \"models/jobspec-bench-ft/tiny\"\n[data]\ntrain = \"data/jobspec-bench-ft/train.h5\"\n"
                     "[training]\nsteps = 6\nmicro_batch_size = 2\nglobal_batch_size = 8\n"
                     "[benchmark]\nworkload = \"finetune\"\n[output]\ndir = \"runs\"\n";
  ASSERT_TRUE(WriteFileAtomic(b.dir + "/ftsteps.toml", spec).ok());
  auto sub = Egret(b, {"submit", b.dir + "/ftsteps.toml"});
  ASSERT_EQ(sub.exit_code, 0) << sub.out << sub.err;
  long id = std::stol(std::string(Trim(sub.out)));
  ASSERT_TRUE(Eventually([&] { return !Results(b).empty(); }, 120))
      << ReadText(b.sched_dir + "/" + std::to_string(id) + ".out");
  auto r = Results(b)[0];
  EXPECT_EQ(r["ok"], true) << r.dump();
  EXPECT_EQ(r["metric"], "tokens_per_s");
  EXPECT_GT(r["value"].get<double>(), 0.0);
  EXPECT_EQ(r["steps"], 5);  // 6 steps, the first left out
  EXPECT_FALSE(fs::exists(b.view.root + "/checkpoints/bench/run-" + std::to_string(id)));
  // A one-off run submits no successor (the run itself may still be completing: results are
  // appended before its job ends).
  EXPECT_TRUE(Eventually([&] { return Links(b).empty(); }, 30)) << "a one-off benchmark left a link";
}

}  // namespace
}  // namespace egret::testing
