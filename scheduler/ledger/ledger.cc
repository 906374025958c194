#include "scheduler/ledger/ledger.h"

#include <sqlite3.h>

#include <cstdlib>
#include <type_traits>

namespace egret::quotad {

namespace {

constexpr int kSchemaVersion = 1;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS leases(
  lease_id INTEGER PRIMARY KEY,
  job_id INTEGER NOT NULL,
  tenant TEXT NOT NULL,
  partition TEXT NOT NULL,
  gpus INTEGER NOT NULL,
  weight REAL NOT NULL,
  time_limit_s REAL NOT NULL DEFAULT 0,
  borrowed INTEGER NOT NULL,
  granted_ms INTEGER NOT NULL,
  start_ms INTEGER NOT NULL,
  heartbeat_ms INTEGER NOT NULL,
  closed_ms INTEGER NOT NULL DEFAULT 0,
  close_reason TEXT NOT NULL DEFAULT '',
  needs_reconcile INTEGER NOT NULL DEFAULT 0,
  charged_units REAL NOT NULL DEFAULT 0,
  charges INTEGER NOT NULL DEFAULT 0);
-- At most one open lease per job: the database itself refuses a double grant.
CREATE UNIQUE INDEX IF NOT EXISTS leases_open_job ON leases(job_id) WHERE closed_ms = 0;
CREATE INDEX IF NOT EXISTS leases_flagged ON leases(needs_reconcile) WHERE needs_reconcile = 1;
CREATE TABLE IF NOT EXISTS charges(
  lease_id INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  tenant TEXT NOT NULL,
  start_ms INTEGER NOT NULL,
  end_ms INTEGER NOT NULL,
  units REAL NOT NULL,
  kind TEXT NOT NULL,
  PRIMARY KEY(lease_id, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tenant_usage(
  tenant TEXT PRIMARY KEY,
  decayed REAL NOT NULL,
  as_of_ms INTEGER NOT NULL,
  total_units REAL NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS budget_usage(
  tenant TEXT NOT NULL,
  period_start_ms INTEGER NOT NULL,
  units REAL NOT NULL,
  PRIMARY KEY(tenant, period_start_ms)) WITHOUT ROWID;
)sql";

constexpr const char* kLeaseColumns =
    "lease_id, job_id, tenant, partition, gpus, weight, borrowed, granted_ms, start_ms, "
    "heartbeat_ms, closed_ms, close_reason, needs_reconcile, charged_units, charges, time_limit_s";

std::string Text(sqlite3_stmt* s, int i) {
  const unsigned char* t = sqlite3_column_text(s, i);
  return t ? reinterpret_cast<const char*>(t) : "";
}

LeaseRecord ReadLease(sqlite3_stmt* s) {
  LeaseRecord l;
  l.lease_id = sqlite3_column_int64(s, 0);
  l.job_id = static_cast<uint32_t>(sqlite3_column_int64(s, 1));
  l.tenant = Text(s, 2);
  l.partition = Text(s, 3);
  l.gpus = sqlite3_column_int(s, 4);
  l.weight = sqlite3_column_double(s, 5);
  l.borrowed = sqlite3_column_int(s, 6) != 0;
  l.granted_ms = sqlite3_column_int64(s, 7);
  l.start_ms = sqlite3_column_int64(s, 8);
  l.heartbeat_ms = sqlite3_column_int64(s, 9);
  l.closed_ms = sqlite3_column_int64(s, 10);
  l.close_reason = Text(s, 11);
  l.needs_reconcile = sqlite3_column_int(s, 12) != 0;
  l.charged_units = sqlite3_column_double(s, 13);
  l.charges = sqlite3_column_int(s, 14);
  l.time_limit_s = sqlite3_column_double(s, 15);
  l.hb_persisted_ms = l.heartbeat_ms;
  return l;
}

// Runs a prepared statement to completion and resets it, whatever happens.
int StepDone(sqlite3_stmt* s) {
  int rc = sqlite3_step(s);
  sqlite3_reset(s);
  sqlite3_clear_bindings(s);
  return rc;
}

void BindText(sqlite3_stmt* s, int i, const std::string& v) {
  sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
}

}  // namespace

Error Ledger::Fail(const std::string& what) const {
  return Error("ledger " + path_ + ": " + what + ": " + sqlite3_errmsg(db_));
}

Result<std::unique_ptr<Ledger>> Ledger::Open(const std::string& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string why = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return Error("cannot open ledger " + path + ": " + why);
  }
  std::unique_ptr<Ledger> l(new Ledger(db, path));
  sqlite3_busy_timeout(db, 5000);
  // WAL + FULL: a commit returns only after the WAL is fsynced. Checkpoints run elsewhere
  // (GroupCommitter), never inside a commit.
  EGRET_TRY(l->Exec("PRAGMA journal_mode=WAL"));
  EGRET_TRY(l->Exec("PRAGMA synchronous=FULL"));
  EGRET_TRY(l->Exec("PRAGMA wal_autocheckpoint=0"));
  EGRET_TRY(l->Exec("PRAGMA foreign_keys=OFF"));
  EGRET_TRY(l->Exec(kSchema));
  {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key='schema_version'", -1, &s,
                           nullptr) != SQLITE_OK)
      return l->Fail("reading the schema version");
    int version = 0;
    if (sqlite3_step(s) == SQLITE_ROW) version = std::atoi(Text(s, 0).c_str());
    sqlite3_finalize(s);
    if (version == 0) {
      EGRET_TRY(l->Exec(("INSERT OR REPLACE INTO meta VALUES('schema_version','" +
                         std::to_string(kSchemaVersion) + "')").c_str()));
    } else if (version != kSchemaVersion) {
      return Error("ledger " + path + " has schema version " + std::to_string(version) +
                   ", this egret-quotad reads version " + std::to_string(kSchemaVersion) +
                   " (use the egret-quotad that wrote it)");
    }
  }
  EGRET_TRY(l->Prepare());
  // Also turns off SQLite's own auto-checkpoint: checkpoints are ours (group_commit.cc).
  sqlite3_wal_hook(
      db,
      [](void* self, sqlite3*, const char*, int frames) {
        static_cast<Ledger*>(self)->wal_frames_ = frames;
        return SQLITE_OK;
      },
      l.get());
  return l;
}

Ledger::~Ledger() {
  for (sqlite3_stmt* s : {insert_lease_, close_lease_, reconcile_lease_, touch_lease_,
                          insert_charge_, upsert_usage_, add_budget_})
    sqlite3_finalize(s);
  sqlite3_close(db_);
}

Status Ledger::Exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string why = err ? err : "unknown error";
    sqlite3_free(err);
    return Error("ledger " + path_ + ": " + why);
  }
  return Ok();
}

Status Ledger::Prepare() {
  struct {
    sqlite3_stmt** stmt;
    const char* sql;
  } stmts[] = {
      {&insert_lease_,
       "INSERT INTO leases(lease_id, job_id, tenant, partition, gpus, weight, borrowed, "
       "granted_ms, start_ms, heartbeat_ms, time_limit_s) VALUES(?,?,?,?,?,?,?,?,?,?,?)"},
      {&close_lease_,
       "UPDATE leases SET closed_ms=?2, close_reason=?3, needs_reconcile=?4, "
       "charged_units=charged_units+?5, charges=charges+1 WHERE lease_id=?1 AND closed_ms=0"},
      {&reconcile_lease_,
       "UPDATE leases SET closed_ms=?2, needs_reconcile=0, charged_units=charged_units+?3, "
       "charges=charges+1 WHERE lease_id=?1 AND needs_reconcile=1"},
      {&touch_lease_,
       "UPDATE leases SET heartbeat_ms=max(heartbeat_ms, ?2), "
       "start_ms=CASE WHEN ?3 > 0 THEN ?3 ELSE start_ms END WHERE lease_id=?1 AND closed_ms=0"},
      {&insert_charge_,
       "INSERT INTO charges(lease_id, seq, tenant, start_ms, end_ms, units, kind) "
       "VALUES(?,?,?,?,?,?,?)"},
      {&upsert_usage_,
       "INSERT INTO tenant_usage(tenant, decayed, as_of_ms, total_units) VALUES(?1,?2,?3,?4) "
       "ON CONFLICT(tenant) DO UPDATE SET decayed=?2, as_of_ms=?3, total_units=?4"},
      {&add_budget_,
       "INSERT INTO budget_usage(tenant, period_start_ms, units) VALUES(?1,?2,?3) "
       "ON CONFLICT(tenant, period_start_ms) DO UPDATE SET units=units+?3"},
  };
  for (auto& s : stmts)
    if (sqlite3_prepare_v3(db_, s.sql, -1, SQLITE_PREPARE_PERSISTENT, s.stmt, nullptr) != SQLITE_OK)
      return Fail("preparing statements");
  return Ok();
}

Status Ledger::Begin() { return Exec("BEGIN IMMEDIATE"); }
Status Ledger::Commit() { return Exec("COMMIT"); }
void Ledger::Rollback() { (void)Exec("ROLLBACK"); }

Status Ledger::RecordCharge(const Charge& c) {
  sqlite3_bind_int64(insert_charge_, 1, c.lease_id);
  sqlite3_bind_int(insert_charge_, 2, c.seq);
  BindText(insert_charge_, 3, c.tenant);
  sqlite3_bind_int64(insert_charge_, 4, c.start_ms);
  sqlite3_bind_int64(insert_charge_, 5, c.end_ms);
  sqlite3_bind_double(insert_charge_, 6, c.units);
  BindText(insert_charge_, 7, c.kind);
  if (StepDone(insert_charge_) != SQLITE_DONE)
    return Fail("recording the charge for lease " + std::to_string(c.lease_id));
  BindText(upsert_usage_, 1, c.tenant);
  sqlite3_bind_double(upsert_usage_, 2, c.usage_after.decayed);
  sqlite3_bind_int64(upsert_usage_, 3, c.usage_after.as_of_ms);
  sqlite3_bind_double(upsert_usage_, 4, c.usage_after.total_units);
  if (StepDone(upsert_usage_) != SQLITE_DONE) return Fail("updating usage of " + c.tenant);
  for (const BudgetPart& b : c.budget) {
    BindText(add_budget_, 1, c.tenant);
    sqlite3_bind_int64(add_budget_, 2, b.period_start_ms);
    sqlite3_bind_double(add_budget_, 3, b.units);
    if (StepDone(add_budget_) != SQLITE_DONE) return Fail("updating the budget of " + c.tenant);
  }
  return Ok();
}

Status Ledger::Apply(const LedgerOp& any) {
  return std::visit(
      [this](const auto& op) -> Status {
        using T = std::decay_t<decltype(op)>;
        if constexpr (std::is_same_v<T, ledger_op::OpenLease>) {
          const LeaseRecord& l = op.lease;
          sqlite3_bind_int64(insert_lease_, 1, l.lease_id);
          sqlite3_bind_int64(insert_lease_, 2, l.job_id);
          BindText(insert_lease_, 3, l.tenant);
          BindText(insert_lease_, 4, l.partition);
          sqlite3_bind_int(insert_lease_, 5, l.gpus);
          sqlite3_bind_double(insert_lease_, 6, l.weight);
          sqlite3_bind_int(insert_lease_, 7, l.borrowed ? 1 : 0);
          sqlite3_bind_int64(insert_lease_, 8, l.granted_ms);
          sqlite3_bind_int64(insert_lease_, 9, l.start_ms);
          sqlite3_bind_int64(insert_lease_, 10, l.heartbeat_ms);
          sqlite3_bind_double(insert_lease_, 11, l.time_limit_s);
          if (StepDone(insert_lease_) != SQLITE_DONE)
            return Fail("recording the lease of job " + std::to_string(l.job_id));
          return Ok();
        } else if constexpr (std::is_same_v<T, ledger_op::CloseLease>) {
          sqlite3_bind_int64(close_lease_, 1, op.lease_id);
          sqlite3_bind_int64(close_lease_, 2, op.closed_ms);
          BindText(close_lease_, 3, op.reason);
          sqlite3_bind_int(close_lease_, 4, op.needs_reconcile ? 1 : 0);
          sqlite3_bind_double(close_lease_, 5, op.charge.units);
          if (StepDone(close_lease_) != SQLITE_DONE)
            return Fail("closing lease " + std::to_string(op.lease_id));
          // Closing a lease that is not open would charge twice: refuse it here too, not
          // only in the daemon's memory.
          if (sqlite3_changes(db_) != 1)
            return Error("ledger " + path_ + ": lease " + std::to_string(op.lease_id) +
                         " is not open; refusing to charge it again");
          return RecordCharge(op.charge);
        } else if constexpr (std::is_same_v<T, ledger_op::Reconcile>) {
          sqlite3_bind_int64(reconcile_lease_, 1, op.lease_id);
          sqlite3_bind_int64(reconcile_lease_, 2, op.closed_ms);
          sqlite3_bind_double(reconcile_lease_, 3, op.charge.units);
          if (StepDone(reconcile_lease_) != SQLITE_DONE)
            return Fail("reconciling lease " + std::to_string(op.lease_id));
          if (sqlite3_changes(db_) != 1)
            return Error("ledger " + path_ + ": lease " + std::to_string(op.lease_id) +
                         " is not awaiting reconciliation; refusing to charge it again");
          return RecordCharge(op.charge);
        } else {
          sqlite3_bind_int64(touch_lease_, 1, op.lease_id);
          sqlite3_bind_int64(touch_lease_, 2, op.heartbeat_ms);
          sqlite3_bind_int64(touch_lease_, 3, op.start_ms);
          if (StepDone(touch_lease_) != SQLITE_DONE)
            return Fail("touching lease " + std::to_string(op.lease_id));
          return Ok();
        }
      },
      any);
}

Result<LedgerSnapshot> Ledger::Load(size_t recent_closed_limit) {
  LedgerSnapshot snap;
  auto query = [&](const std::string& sql, auto&& row) -> Status {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr) != SQLITE_OK)
      return Fail("loading");
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) row(s);
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) return Fail("loading");
    return Ok();
  };
  std::string cols = kLeaseColumns;
  EGRET_TRY(query("SELECT " + cols + " FROM leases WHERE closed_ms = 0",
                  [&](sqlite3_stmt* s) { snap.open.push_back(ReadLease(s)); }));
  EGRET_TRY(query("SELECT " + cols + " FROM leases WHERE needs_reconcile = 1 AND closed_ms <> 0",
                  [&](sqlite3_stmt* s) { snap.flagged.push_back(ReadLease(s)); }));
  EGRET_TRY(query("SELECT " + cols + " FROM leases WHERE closed_ms <> 0 ORDER BY lease_id DESC LIMIT " +
                      std::to_string(recent_closed_limit),
                  [&](sqlite3_stmt* s) { snap.recent_closed.push_back(ReadLease(s)); }));
  EGRET_TRY(query("SELECT tenant, decayed, as_of_ms, total_units FROM tenant_usage",
                  [&](sqlite3_stmt* s) {
                    snap.usage[Text(s, 0)] = TenantUsage{sqlite3_column_double(s, 1),
                                                         sqlite3_column_int64(s, 2),
                                                         sqlite3_column_double(s, 3)};
                  }));
  EGRET_TRY(query("SELECT tenant, period_start_ms, units FROM budget_usage", [&](sqlite3_stmt* s) {
    snap.budget[{Text(s, 0), sqlite3_column_int64(s, 1)}] = sqlite3_column_double(s, 2);
  }));
  EGRET_TRY(query("SELECT coalesce(max(lease_id), 0) FROM leases",
                  [&](sqlite3_stmt* s) { snap.max_lease_id = sqlite3_column_int64(s, 0); }));
  return snap;
}

Result<std::vector<LeaseRecord>> Ledger::AllLeases() {
  std::vector<LeaseRecord> out;
  sqlite3_stmt* s = nullptr;
  std::string sql = std::string("SELECT ") + kLeaseColumns + " FROM leases ORDER BY lease_id";
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr) != SQLITE_OK) return Fail("reading leases");
  while (sqlite3_step(s) == SQLITE_ROW) out.push_back(ReadLease(s));
  sqlite3_finalize(s);
  return out;
}

Result<std::vector<Charge>> Ledger::AllCharges() {
  std::vector<Charge> out;
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db_,
                         "SELECT lease_id, seq, tenant, start_ms, end_ms, units, kind FROM charges "
                         "ORDER BY lease_id, seq",
                         -1, &s, nullptr) != SQLITE_OK)
    return Fail("reading charges");
  while (sqlite3_step(s) == SQLITE_ROW) {
    Charge c;
    c.lease_id = sqlite3_column_int64(s, 0);
    c.seq = sqlite3_column_int(s, 1);
    c.tenant = Text(s, 2);
    c.start_ms = sqlite3_column_int64(s, 3);
    c.end_ms = sqlite3_column_int64(s, 4);
    c.units = sqlite3_column_double(s, 5);
    c.kind = Text(s, 6);
    out.push_back(std::move(c));
  }
  sqlite3_finalize(s);
  return out;
}

Status Ledger::RestartWal() {
  int rc = sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_RESTART, nullptr, nullptr);
  if (rc != SQLITE_OK && rc != SQLITE_BUSY) return Fail("checkpointing");
  return Ok();
}

Result<std::unique_ptr<Checkpointer>> Checkpointer::Open(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    return Error("cannot open ledger " + path + " to checkpoint it");
  }
  sqlite3_busy_timeout(db, 100);
  // A connection learns that the database is in WAL mode when it first reads it; until then a
  // checkpoint does nothing.
  if (sqlite3_exec(db, "PRAGMA synchronous=FULL; SELECT count(*) FROM meta", nullptr, nullptr, nullptr) != SQLITE_OK) {
    std::string why = sqlite3_errmsg(db);
    sqlite3_close(db);
    return Error("cannot read ledger " + path + " to checkpoint it: " + why);
  }
  return std::unique_ptr<Checkpointer>(new Checkpointer(db));
}

Checkpointer::~Checkpointer() { sqlite3_close(db_); }

Status Checkpointer::Run() {
  int rc = sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  if (rc != SQLITE_OK && rc != SQLITE_BUSY) return Error(std::string("checkpoint: ") + sqlite3_errmsg(db_));
  return Ok();
}

}  // namespace egret::quotad
