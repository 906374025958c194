// Crash safety: several client threads make thousands of concurrent acquire/release calls while
// the daemon is killed with SIGKILL at a random moment; after each kill the ledger on disk must
// hold exactly the acknowledged operations: every acknowledged lease present with the times
// acknowledged, every acknowledged release closed and charged exactly once, nothing that no
// client asked for, and the tenant aggregates equal to the sum of the charges. Operations in
// flight at the kill may or may not have happened; they are retried after the restart (acquire
// and release are idempotent) and must then be charged once. Several rounds.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "scheduler/core/charging.h"
#include "scheduler/ledger/ledger.h"
#include "tests/quotad/daemon_harness.h"

namespace egret::quotad {
namespace {

using nlohmann::json;
using testing::Daemon;

const char* kCrashConfig = R"toml(
[global]
decay_half_life = "1h"
admins = ["root"]
[gpu_types]
h100 = 1.0
a100 = 0.6
[[partition]]
name = "gpu"
gpu_type = "h100"
gpus = 100000
[[partition]]
name = "old"
gpu_type = "a100"
gpus = 100000
[[tenant]]
name = "acme"
members = ["alice"]
cohort = "c"
allowed_partitions = ["gpu", "old"]
gpu_quota.gpu = { nominal = 3000 }
gpu_quota.old = { nominal = 3000 }
[[tenant]]
name = "globex"
members = ["bob"]
cohort = "c"
allowed_partitions = ["gpu", "old"]
gpu_quota.gpu = { nominal = 3000 }
gpu_quota.old = { nominal = 3000 }
[[tenant]]
name = "tiny"
members = ["carol"]
allowed_partitions = ["gpu"]
gpu_quota = { gpu = 6 }
)toml";

enum class Acq { kNone, kUncertain, kGranted, kDenied };
enum class Rel { kNone, kUncertain, kAcked };

struct Job {
  uint32_t id = 0;
  std::string tenant, partition;
  int gpus = 0;
  Acq acq = Acq::kNone;
  int64_t granted_ms = 0;
  Rel rel = Rel::kNone;
  double end_s = 0;     // the end time sent with the release
  bool rel_closed = false;  // the acknowledged release said it closed the lease
  double rel_charged = 0;
};

double Weight(const std::string& partition) { return partition == "old" ? 0.6 : 1.0; }

// What the daemon must have charged: GPUs x weight x (end - grant), as the daemon computes it.
double Expected(const Job& j) {
  return ChargeUnits(j.gpus * Weight(j.partition), j.granted_ms, Millis(j.end_s));
}

class Client {
 public:
  Client(const Daemon* d, int index, std::map<uint32_t, Job>* jobs, uint32_t* next_id)
      : d_(d), rng_(1234u + static_cast<unsigned>(index)), jobs_(jobs), next_id_(next_id) {}

  // Settles what the last round left uncertain. Returns false on a transport error.
  bool Retry(Connection* c) {
    for (auto& [id, j] : *jobs_) {
      if (j.acq == Acq::kUncertain && !SendAcquire(c, j)) return false;
      if (j.rel == Rel::kUncertain && !SendRelease(c, j)) return false;
    }
    return true;
  }

  // Random acquires and releases until the daemon goes away.
  int Run() {
    auto conn = d_->Connect(2);
    if (!conn.ok()) return 0;
    if (!Retry(conn->get())) return 0;
    int ops = 0;
    for (;;) {
      std::vector<Job*> held;
      for (auto& [id, j] : *jobs_)
        if (j.acq == Acq::kGranted && j.rel == Rel::kNone) held.push_back(&j);
      bool release = !held.empty() && std::uniform_real_distribution<>(0, 1)(rng_) < 0.45;
      bool ok;
      if (release) {
        Job* j = held[std::uniform_int_distribution<size_t>(0, held.size() - 1)(rng_)];
        j->end_s = static_cast<double>(j->granted_ms) / 1000.0 + std::uniform_int_distribution<>(1, 20)(rng_);
        ok = SendRelease(conn->get(), *j);
      } else {
        Job j;
        j.id = (*next_id_)++;
        const char* tenants[] = {"acme", "globex", "tiny"};
        j.tenant = tenants[std::uniform_int_distribution<>(0, 2)(rng_)];
        j.partition = j.tenant != "tiny" && std::uniform_int_distribution<>(0, 1)(rng_) ? "old" : "gpu";
        j.gpus = std::uniform_int_distribution<>(1, 4)(rng_);
        Job& stored = (*jobs_)[j.id] = j;
        ok = SendAcquire(conn->get(), stored);
      }
      if (!ok) return ops;
      ++ops;
    }
  }

 private:
  bool SendAcquire(Connection* c, Job& j) {
    j.acq = Acq::kUncertain;
    auto r = c->Call({{"op", "acquire"}, {"job_id", j.id}, {"tenant", j.tenant}, {"partition", j.partition},
                      {"gpus", j.gpus}});
    if (!r.ok()) return false;
    EXPECT_TRUE((*r)["ok"].get<bool>()) << r->dump();
    std::string d = (*r)["decision"];
    if (d == "denied") {
      j.acq = Acq::kDenied;
    } else {
      j.acq = Acq::kGranted;
      j.granted_ms = (*r)["lease"]["granted_at_ms"].get<int64_t>();
    }
    return true;
  }
  bool SendRelease(Connection* c, Job& j) {
    j.rel = Rel::kUncertain;
    auto r = c->Call({{"op", "release"}, {"job_id", j.id}, {"end_time", j.end_s}});
    if (!r.ok()) return false;
    EXPECT_TRUE((*r)["ok"].get<bool>()) << r->dump();
    j.rel = Rel::kAcked;
    if ((*r)["closed"].get<bool>()) {
      EXPECT_FALSE(j.rel_closed) << "job " << j.id << " closed twice";
      j.rel_closed = true;
      j.rel_charged = (*r)["charged"].get<double>();
    }
    return true;
  }

  const Daemon* d_;
  std::mt19937 rng_;
  std::map<uint32_t, Job>* jobs_;
  uint32_t* next_id_;
};

// The ledger on disk against what the clients were told.
void Verify(const std::string& ledger_path, const std::vector<std::map<uint32_t, Job>>& all, bool settled) {
  auto ledger = Ledger::Open(ledger_path);
  ASSERT_TRUE(ledger.ok()) << ledger.error().message();
  auto leases = (*ledger)->AllLeases();
  auto charges = (*ledger)->AllCharges();
  auto snap = (*ledger)->Load();
  ASSERT_TRUE(leases.ok() && charges.ok() && snap.ok());
  std::map<uint32_t, std::vector<LeaseRecord>> by_job;
  for (const LeaseRecord& l : *leases) by_job[l.job_id].push_back(l);
  std::map<int64_t, int> charges_per_lease;
  std::map<std::string, double> charged_per_tenant;
  for (const Charge& c : *charges) {
    charges_per_lease[c.lease_id]++;
    charged_per_tenant[c.tenant] += c.units;
  }
  std::map<uint32_t, const Job*> jobs;
  for (const auto& m : all)
    for (const auto& [id, j] : m) jobs[id] = &j;
  int acked_leases = 0, acked_releases = 0;
  for (const auto& [id, jp] : jobs) {
    const Job& j = *jp;
    auto it = by_job.find(id);
    size_t n = it == by_job.end() ? 0 : it->second.size();
    ASSERT_LE(n, 1u) << "job " << id << " has " << n << " leases";
    if (j.acq == Acq::kGranted) {
      ++acked_leases;
      ASSERT_EQ(n, 1u) << "acknowledged lease of job " << id << " is lost";
      const LeaseRecord& l = it->second[0];
      EXPECT_EQ(l.granted_ms, j.granted_ms) << "job " << id;
      EXPECT_EQ(l.gpus, j.gpus);
      EXPECT_EQ(l.tenant, j.tenant);
      EXPECT_DOUBLE_EQ(l.weight, Weight(j.partition));
    }
    if (j.acq == Acq::kDenied) {
      EXPECT_EQ(n, 0u) << "job " << id << " was denied but holds a lease";
    }
    if (j.acq == Acq::kNone) {
      EXPECT_EQ(n, 0u) << "job " << id << " never asked";
    }
    if (settled) {
      EXPECT_NE(j.acq, Acq::kUncertain);
    }
    if (n == 0) continue;
    const LeaseRecord& l = it->second[0];
    int c = charges_per_lease[l.lease_id];
    EXPECT_LE(c, 1) << "job " << id << " charged " << c << " times";
    if (j.rel == Rel::kAcked) {
      ++acked_releases;
      EXPECT_FALSE(l.open()) << "acknowledged release of job " << id << " is lost";
      EXPECT_EQ(c, 1);
      EXPECT_DOUBLE_EQ(l.charged_units, Expected(j)) << "job " << id;
      if (j.rel_closed) {
        EXPECT_DOUBLE_EQ(j.rel_charged, l.charged_units);
      }
    } else if (j.rel == Rel::kNone) {
      EXPECT_TRUE(l.open()) << "job " << id << " was closed though nobody released it";
      EXPECT_EQ(c, 0);
    } else if (!l.open()) {  // in flight at the kill, and it happened: charged once, correctly
      EXPECT_EQ(c, 1);
      EXPECT_DOUBLE_EQ(l.charged_units, Expected(j));
    }
  }
  for (const auto& [id, ls] : by_job) {
    EXPECT_TRUE(jobs.count(id)) << "lease for job " << id << " nobody asked for";
  }
  for (const auto& [tenant, units] : charged_per_tenant)
    EXPECT_NEAR(snap->usage[tenant].total_units, units, 1e-6 * std::max(1.0, units)) << tenant;
  EXPECT_GT(acked_leases, 0);
  std::printf("ledger: %zu leases, %zu charges, %d acknowledged leases, %d acknowledged releases\n",
              leases->size(), charges->size(), acked_leases, acked_releases);
}

TEST(CrashTest, LedgerEqualsTheAcknowledgedOperationsAfterEverySigkill) {
  Daemon d("crash", kCrashConfig, {"--lease-timeout", "0"});
  constexpr int kThreads = 8, kRounds = 6;
  std::vector<std::map<uint32_t, Job>> jobs(kThreads);
  std::vector<uint32_t> next_id(kThreads);
  for (int t = 0; t < kThreads; ++t) next_id[static_cast<size_t>(t)] = static_cast<uint32_t>(t + 1) * 1'000'000;
  std::mt19937 rng(42);
  int total_ops = 0;
  for (int round = 0; round < kRounds; ++round) {
    Status s = d.Start();
    ASSERT_TRUE(s.ok()) << s.error().message();
    std::vector<std::thread> threads;
    std::atomic<int> ops{0};
    for (int t = 0; t < kThreads; ++t)
      threads.emplace_back([&, t] {
        Client c(&d, t, &jobs[static_cast<size_t>(t)], &next_id[static_cast<size_t>(t)]);
        ops += c.Run();
      });
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<>(200, 700)(rng)));
    d.Kill();
    for (auto& th : threads) th.join();
    total_ops += ops;
    std::printf("round %d: %d acknowledged operations before SIGKILL\n", round, ops.load());
    EXPECT_GT(ops.load(), 100) << "round " << round << " did too little to prove anything";
    Verify(d.state_dir() + "/ledger.sqlite", jobs, false);
    if (::testing::Test::HasFatalFailure()) return;
  }
  // Settle what the last kill left in flight, then check once more, with nothing uncertain.
  ASSERT_TRUE(d.Start().ok());
  for (int t = 0; t < kThreads; ++t) {
    auto c = d.Connect();
    ASSERT_TRUE(c.ok());
    Client cl(&d, t, &jobs[static_cast<size_t>(t)], &next_id[static_cast<size_t>(t)]);
    ASSERT_TRUE(cl.Retry(c->get()));
  }
  // The restarted daemon's own view agrees with the ledger.
  auto view = d.Call({{"op", "query"}, {"view", "leases"}});
  ASSERT_TRUE(view.ok());
  size_t open_expected = 0;
  for (const auto& m : jobs)
    for (const auto& [id, j] : m) open_expected += j.acq == Acq::kGranted && j.rel == Rel::kNone;
  EXPECT_EQ((*view)["result"]["open"].size(), open_expected);
  ASSERT_TRUE(d.Stop().ok());
  Verify(d.state_dir() + "/ledger.sqlite", jobs, true);
  std::printf("%d rounds, %d acknowledged operations in all\n", kRounds, total_ops);
  EXPECT_GT(total_ops, 2000);
}

}  // namespace
}  // namespace egret::quotad
