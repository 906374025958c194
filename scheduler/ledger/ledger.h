// The durable ledger: SQLite in WAL mode with synchronous=FULL, so a committed transaction
// is on disk (the WAL is fsynced at commit). SQLite rather than a journal of our own: it is
// crash-safe by construction, transactional across the lease, its charge and the tenant's
// aggregates, and an admin can read it with the sqlite3 shell. Its per-commit cost is the
// fsync, which GroupCommitter (group_commit.h) shares among concurrent requests.
//
// Single-threaded: one Ledger is used by one thread (the committer); Load runs before.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "scheduler/ledger/records.h"

struct sqlite3;
struct sqlite3_stmt;

namespace egret::quotad {

struct LedgerSnapshot {
  std::vector<LeaseRecord> open;          // open leases
  std::vector<LeaseRecord> flagged;       // closed, still awaiting reconciliation
  std::vector<LeaseRecord> recent_closed;  // newest first, up to the limit asked
  std::map<std::string, TenantUsage> usage;
  std::map<std::pair<std::string, int64_t>, double> budget;  // (tenant, period start) -> units
  int64_t max_lease_id = 0;
};

class Ledger {
 public:
  // Opens (creating if needed) the ledger at PATH; the error names the path and the cause.
  static Result<std::unique_ptr<Ledger>> Open(const std::string& path);
  ~Ledger();

  Result<LedgerSnapshot> Load(size_t recent_closed_limit = 10000);

  Status Begin();
  Status Apply(const LedgerOp& op);
  Status Commit();
  void Rollback();

  // Frames in the WAL after the last commit (SQLite's wal hook).
  int wal_frames() const { return wal_frames_; }
  // Copies the whole WAL into the database and restarts it from its beginning, so later commits
  // overwrite the same file blocks instead of growing the file. Called between commits.
  Status RestartWal();

  // Every lease and every charge: for verification (tests, `egretctl` audits), not the hot path.
  Result<std::vector<LeaseRecord>> AllLeases();
  Result<std::vector<Charge>> AllCharges();

  const std::string& path() const { return path_; }

 private:
  Ledger(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  Status Exec(const char* sql);
  Status Prepare();
  Status RecordCharge(const Charge& c);
  Error Fail(const std::string& what) const;

  sqlite3* db_;
  std::string path_;
  int wal_frames_ = 0;
  sqlite3_stmt* insert_lease_ = nullptr;
  sqlite3_stmt* close_lease_ = nullptr;
  sqlite3_stmt* reconcile_lease_ = nullptr;
  sqlite3_stmt* touch_lease_ = nullptr;
  sqlite3_stmt* insert_charge_ = nullptr;
  sqlite3_stmt* upsert_usage_ = nullptr;
  sqlite3_stmt* add_budget_ = nullptr;
};

// Copies committed WAL frames into the database file from a connection of its own, while the
// committer keeps committing (SQLite's PASSIVE checkpoint), so a restart of the WAL
// (Ledger::RestartWal) has little left to copy.
class Checkpointer {
 public:
  static Result<std::unique_ptr<Checkpointer>> Open(const std::string& path);
  ~Checkpointer();
  Status Run();

 private:
  explicit Checkpointer(sqlite3* db) : db_(db) {}
  sqlite3* db_;
};

}  // namespace egret::quotad
