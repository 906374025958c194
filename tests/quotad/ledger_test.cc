// The ledger on real SQLite files: what is committed comes back after reopening; a lease is
// closed and charged at most once (the database refuses a second charge); group commit
// acknowledges every op only after its commit and shares syncs between concurrent callers.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <filesystem>
#include <future>
#include <thread>

#include "scheduler/ledger/group_commit.h"
#include "scheduler/ledger/ledger.h"

namespace egret::quotad {
namespace {

std::string TempDb(const std::string& name) {
  std::string dir = ::testing::TempDir() + "/ledger-" + name + "-" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir + "/ledger.sqlite";
}

LeaseRecord Lease(int64_t id, uint32_t job, int gpus = 2) {
  LeaseRecord l;
  l.lease_id = id;
  l.job_id = job;
  l.tenant = "acme";
  l.partition = "gpu";
  l.gpus = gpus;
  l.weight = 0.5;
  l.granted_ms = 1000;
  l.heartbeat_ms = 1000;
  return l;
}

ledger_op::CloseLease Close(int64_t id, int64_t end_ms, double units) {
  ledger_op::CloseLease c;
  c.lease_id = id;
  c.closed_ms = end_ms;
  c.reason = "released";
  c.charge.lease_id = id;
  c.charge.seq = 0;
  c.charge.tenant = "acme";
  c.charge.start_ms = 1000;
  c.charge.end_ms = end_ms;
  c.charge.units = units;
  c.charge.kind = "release";
  c.charge.usage_after = TenantUsage{units, end_ms, units};
  c.charge.budget = {BudgetPart{0, units}};
  return c;
}

TEST(Ledger, CommittedLeasesAndChargesSurviveReopening) {
  std::string path = TempDb("reopen");
  {
    auto l = Ledger::Open(path);
    ASSERT_TRUE(l.ok()) << l.error().message();
    ASSERT_TRUE((*l)->Begin().ok());
    ASSERT_TRUE((*l)->Apply(ledger_op::OpenLease{Lease(1, 42)}).ok());
    ASSERT_TRUE((*l)->Apply(ledger_op::OpenLease{Lease(2, 43)}).ok());
    ASSERT_TRUE((*l)->Apply(Close(1, 4000, 3.0)).ok());
    ASSERT_TRUE((*l)->Commit().ok());
  }
  auto l = Ledger::Open(path);
  ASSERT_TRUE(l.ok());
  auto snap = (*l)->Load();
  ASSERT_TRUE(snap.ok()) << snap.error().message();
  ASSERT_EQ(snap->open.size(), 1u);
  EXPECT_EQ(snap->open[0].job_id, 43u);
  EXPECT_EQ(snap->open[0].gpus, 2);
  EXPECT_DOUBLE_EQ(snap->open[0].weight, 0.5);
  ASSERT_EQ(snap->recent_closed.size(), 1u);
  EXPECT_EQ(snap->recent_closed[0].closed_ms, 4000);
  EXPECT_DOUBLE_EQ(snap->recent_closed[0].charged_units, 3.0);
  EXPECT_DOUBLE_EQ(snap->usage["acme"].total_units, 3.0);
  EXPECT_DOUBLE_EQ((snap->budget[{"acme", 0}]), 3.0);
  EXPECT_EQ(snap->max_lease_id, 2);
}

TEST(Ledger, RefusesToChargeALeaseTwice) {
  auto l = Ledger::Open(TempDb("twice"));
  ASSERT_TRUE(l.ok());
  ASSERT_TRUE((*l)->Begin().ok());
  ASSERT_TRUE((*l)->Apply(ledger_op::OpenLease{Lease(1, 42)}).ok());
  ASSERT_TRUE((*l)->Apply(Close(1, 4000, 3.0)).ok());
  Status again = (*l)->Apply(Close(1, 5000, 4.0));
  EXPECT_FALSE(again.ok());
  EXPECT_NE(again.error().message().find("refusing to charge it again"), std::string::npos)
      << again.error().message();
  (*l)->Rollback();
}

TEST(Ledger, RefusesTwoOpenLeasesForOneJob) {
  auto l = Ledger::Open(TempDb("double-open"));
  ASSERT_TRUE(l.ok());
  ASSERT_TRUE((*l)->Begin().ok());
  ASSERT_TRUE((*l)->Apply(ledger_op::OpenLease{Lease(1, 42)}).ok());
  EXPECT_FALSE((*l)->Apply(ledger_op::OpenLease{Lease(2, 42)}).ok());
  (*l)->Rollback();
  // After the first is closed, the job may hold a new one (a requeued job runs again).
  ASSERT_TRUE((*l)->Begin().ok());
  ASSERT_TRUE((*l)->Apply(ledger_op::OpenLease{Lease(1, 42)}).ok());
  ASSERT_TRUE((*l)->Apply(Close(1, 2000, 1.0)).ok());
  EXPECT_TRUE((*l)->Apply(ledger_op::OpenLease{Lease(2, 42)}).ok());
  ASSERT_TRUE((*l)->Commit().ok());
}

TEST(Ledger, ReconcileChargesOnlyFlaggedLeasesOnce) {
  auto l = Ledger::Open(TempDb("reconcile"));
  ASSERT_TRUE(l.ok());
  ASSERT_TRUE((*l)->Begin().ok());
  ASSERT_TRUE((*l)->Apply(ledger_op::OpenLease{Lease(1, 42)}).ok());
  auto c = Close(1, 4000, 3.0);
  c.needs_reconcile = true;
  c.reason = "expired";
  ASSERT_TRUE((*l)->Apply(c).ok());
  ledger_op::Reconcile r;
  r.lease_id = 1;
  r.closed_ms = 6000;
  r.charge = c.charge;
  r.charge.seq = 1;
  r.charge.units = 2.0;
  r.charge.kind = "reconcile";
  ASSERT_TRUE((*l)->Apply(r).ok());
  r.charge.seq = 2;
  EXPECT_FALSE((*l)->Apply(r).ok()) << "a second reconciliation must be refused";
  ASSERT_TRUE((*l)->Commit().ok());
  auto leases = (*l)->AllLeases();
  ASSERT_TRUE(leases.ok());
  ASSERT_EQ(leases->size(), 1u);
  EXPECT_EQ((*leases)[0].closed_ms, 6000);
  EXPECT_FALSE((*leases)[0].needs_reconcile);
  EXPECT_DOUBLE_EQ((*leases)[0].charged_units, 5.0);
  EXPECT_EQ((*leases)[0].charges, 2);
}

TEST(Ledger, RejectsALedgerOfAnotherSchemaVersion) {
  std::string path = TempDb("schema");
  { ASSERT_TRUE(Ledger::Open(path).ok()); }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "UPDATE meta SET value='99' WHERE key='schema_version'", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  auto l = Ledger::Open(path);
  ASSERT_FALSE(l.ok());
  EXPECT_NE(l.error().message().find("schema version 99"), std::string::npos) << l.error().message();
}

TEST(Ledger, UsesWalWithFullSync) {
  std::string path = TempDb("pragmas");
  auto l = Ledger::Open(path);
  ASSERT_TRUE(l.ok());
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(s, 0)), "wal");
  sqlite3_finalize(s);
  sqlite3_close(db);
}

TEST(GroupCommit, AcknowledgesEveryOpAfterItsCommitAndSharesSyncs) {
  std::string path = TempDb("group");
  auto l = Ledger::Open(path);
  ASSERT_TRUE(l.ok());
  GroupCommitter gc(std::move(*l), [](const Error& e) { ADD_FAILURE() << e.message(); });
  constexpr int kThreads = 8, kPerThread = 200;
  std::atomic<int> acked{0};
  std::atomic<int64_t> next_id{1};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::promise<Status> p;
        auto f = p.get_future();
        int64_t id = next_id++;
        gc.Submit({ledger_op::OpenLease{Lease(id, static_cast<uint32_t>(t * 100000 + i + 1))}},
                  [&p](const Status& s) { p.set_value(s); });
        ASSERT_TRUE(f.get().ok());
        acked++;
      }
    });
  for (auto& th : threads) th.join();
  ASSERT_TRUE(gc.Flush().ok());
  GroupCommitStats st = gc.stats();
  EXPECT_EQ(acked.load(), kThreads * kPerThread);
  EXPECT_EQ(st.ops, static_cast<uint64_t>(kThreads * kPerThread));
  // Eight callers waiting at once: commits must be shared, far fewer than ops.
  EXPECT_LT(st.commits, st.ops * 3 / 4) << "commits " << st.commits << " for " << st.ops << " ops";
  // Everything acknowledged is in the file, read through another connection.
  auto other = Ledger::Open(path);
  ASSERT_TRUE(other.ok());
  auto leases = (*other)->AllLeases();
  ASSERT_TRUE(leases.ok());
  EXPECT_EQ(leases->size(), static_cast<size_t>(kThreads * kPerThread));
}

TEST(GroupCommit, AFailedTransactionFailsItsOpsAndStopsTheCommitter) {
  auto l = Ledger::Open(TempDb("fail"));
  ASSERT_TRUE(l.ok());
  std::atomic<bool> fatal{false};
  GroupCommitter gc(std::move(*l), [&](const Error&) { fatal = true; });
  std::promise<Status> p1;
  gc.Submit({ledger_op::OpenLease{Lease(1, 42)}, ledger_op::OpenLease{Lease(2, 42)}},
            [&](const Status& s) { p1.set_value(s); });
  EXPECT_FALSE(p1.get_future().get().ok());
  std::promise<Status> p2;
  gc.Submit({ledger_op::OpenLease{Lease(3, 43)}}, [&](const Status& s) { p2.set_value(s); });
  EXPECT_FALSE(p2.get_future().get().ok()) << "after a failure nothing more may be acknowledged";
  EXPECT_TRUE(fatal.load());
}

}  // namespace
}  // namespace egret::quotad
